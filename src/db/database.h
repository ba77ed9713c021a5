// The database seam as a whole: the repositories of one database plus what
// the process needs around them (a liveness check, a wake-up when a job
// becomes claimable). Adapters: SqliteDatabase (embedded, the default) and
// the PostgreSQL one (OpenPostgres in postgres_database.h). `app` picks one
// from the configuration; everything else sees only this interface.
//
// Thread-safety: every method may be called from any thread, except that
// StartJobListener/StopJobListener are meant for one owner (the worker loop
// that wires them) and must not be called from inside `on_job`.
#pragma once

#include <functional>

#include "core/result.h"
#include "db/repository.h"

namespace vs::db {

class Database {
 public:
  virtual ~Database() = default;

  // The repositories live as long as the Database.
  virtual VideoRepository& videos() = 0;
  virtual NotificationRepository& notifications() = 0;
  virtual JobQueue& jobs() = 0;
  virtual EventLog& events() = 0;
  virtual UserRepository& users() = 0;
  virtual SessionRepository& sessions() = 0;
  // The schema version reached by the migrations when the database opened.
  virtual int schema_version() = 0;

  // A cheap round trip for /readyz: ok when the database answers a trivial
  // query now; a "db_error" Error otherwise. Never blocks longer than the
  // adapter's connect/statement timeouts.
  virtual Status Ping() = 0;

  // Calls `on_job` (on a thread of the adapter's own) whenever a job may
  // have become claimable in another process or connection, so a worker can
  // Claim at once instead of waiting for its next poll. Hints only: a call
  // does not promise a claimable job, and a hint can be lost (for instance
  // while the database is unreachable), so workers keep a slow poll as the
  // safety net. `on_job` must return quickly (signal a condition variable,
  // post to an executor) and must not throw. A second call replaces the
  // first listener.
  // SQLite: no-op (workers poll the shared file).
  virtual void StartJobListener(std::function<void()> on_job) = 0;
  // Stops the listener; when it returns, `on_job` is not running and will
  // not be called again. Idempotent; the destructor calls it too.
  virtual void StopJobListener() = 0;
};

}  // namespace vs::db
