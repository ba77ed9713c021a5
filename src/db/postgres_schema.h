// The PostgreSQL adapter's schema: ordered migrations and the runner that
// applies them. Internal to the db module (the tests run the runner on
// migrations of their own).
#pragma once

#include <string_view>
#include <vector>

#include "core/result.h"
#include "db/postgres_connection.h"

namespace vs::db::internal {

// The channel that a job becoming claimable is announced on (NOTIFY from a
// trigger on the jobs table, so no writer can forget it).
inline constexpr const char* kJobChannel = "vs_jobs";

// One schema version: statements run in order in one transaction. Each is a
// single statement, so it can go through PQexecParams like every other query.
struct PgMigration {
  std::vector<std::string_view> statements;
};

// Entry i takes a database from schema version i to i+1. Append, never edit.
// The versions match the SQLite adapter's (same tables in both).
const std::vector<PgMigration>& PostgresMigrations();

// Brings the database up to migrations.size(), recording each version in
// schema_migrations together with its changes (one transaction each), while
// holding a session advisory lock: processes starting at once take turns and
// each migration runs exactly once. Fails when the database is newer than
// `migrations`. `c` must not be inside a transaction.
Result<int> MigratePostgres(PgConn& c, const std::vector<PgMigration>& migrations);

}  // namespace vs::db::internal
