// The PostgreSQL adapter of the database seam (libpq): the same repository
// semantics as SqliteDatabase, for deployments where several hosts share one
// database. Versioned migrations (table schema_migrations) run under a
// PostgreSQL advisory lock, so processes that start together apply each one
// exactly once.
//
// Thread-safe: the repositories share a pool of connections (a call borrows
// one for its duration and waits when all are busy). A connection that broke
// (server restarted, network cut) is re-established on a later use, so the
// process recovers by itself; the calls in between fail with "db_error".
// Times are the Clock's epoch milliseconds, as with SQLite, never the
// server's clock.
//
// StartJobListener opens one more connection that LISTENs on the job
// channel; every change that leaves a job queued (ConfirmUpload, a retry,
// Release) notifies it when its transaction commits. on_job is also called
// after each (re)connect of the listener, which retries with backoff (100 ms
// up to 5 s) while the server is away. StopJobListener may wait up to the
// connect timeout for a connection attempt in progress.
#pragma once

#include <memory>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "db/database.h"

namespace vs::db {

struct PostgresOptions {
  // Connections shared by the repositories (clamped to at least 1). The job
  // listener, when started, uses one more of its own.
  int pool_size = 4;
  // Bound on establishing one connection (libpq's connect_timeout, which
  // counts whole seconds: rounded up).
  int connect_timeout_ms = 5000;
  // Server-side bound on one statement (statement_timeout); 0 = none.
  int statement_timeout_ms = 30000;
};

// `url`: a libpq connection URI ("postgresql://user:pass@host:port/db") or
// key=value string. Connects, applies pending migrations and returns the
// database; a "db_error" Error when the server is unreachable, refuses the
// credentials or has a schema newer than this binary. `clock` must outlive
// the database.
Result<std::unique_ptr<Database>> OpenPostgres(const std::string& url, const Clock& clock,
                                               PostgresOptions options = {});

}  // namespace vs::db
