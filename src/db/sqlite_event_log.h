// EventLog on SQLite. Internal to the db module; SqliteDatabase owns it.
// Thread-safe: writes hold the shared connection's mutex, reads use the
// reader pool. Ids come from AUTOINCREMENT, so they only grow, also across
// Prune.
#pragma once

#include "db/repository.h"
#include "db/sqlite_connection.h"

namespace vs::db::internal {

class SqliteEventLog final : public EventLog {
 public:
  SqliteEventLog(Connection& c, ReaderPool& readers) : c_(c), readers_(readers) {}

  Status Append(const std::string& origin, const Event& e) override;
  Result<std::vector<StoredEvent>> After(int64_t after_id, int limit) override;
  Result<int64_t> LastId() override;
  Result<int> Prune(int64_t older_than_ms) override;

 private:
  Connection& c_;
  ReaderPool& readers_;
};

}  // namespace vs::db::internal
