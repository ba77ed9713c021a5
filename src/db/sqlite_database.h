// The embedded database: one SQLite file (WAL mode, foreign keys on,
// versioned migrations) holding videos, notifications, the job queue and
// the accounts.
//
// Thread-safe: one read-write connection per SqliteDatabase guarded by a
// mutex, so the repositories may be used from any thread; the plain reads
// (a video, lists, searches, counts, notifications) use a small pool of
// extra read-only connections instead. Several processes may open the same
// file (the server and `visionsync worker`); writers wait up to
// busy_timeout_ms for each other. There is no cross-process wake-up, so
// StartJobListener is a no-op: workers poll.
#pragma once

#include <memory>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "db/database.h"

namespace vs::db {

class SqliteDatabase : public Database {
 public:
  // Creates the file and applies pending migrations. `clock` must outlive
  // the database. ":memory:" gives a private in-memory database (tests).
  static Result<std::unique_ptr<SqliteDatabase>> Open(const std::string& path, const Clock& clock,
                                                      int busy_timeout_ms = 5000);
  ~SqliteDatabase() override = default;
};

}  // namespace vs::db
