// EventLog on PostgreSQL. Internal to the db module; the PostgreSQL database
// owns it. Thread-safe. Appends take a transaction-scoped advisory lock, so
// they commit in id order: a reader that has seen id n never later finds a
// smaller id appear (identity values are handed out at insert time, and
// without the lock two writers could commit out of order).
#pragma once

#include "core/clock.h"
#include "db/postgres_connection.h"
#include "db/repository.h"

namespace vs::db::internal {

class PgEventLog final : public EventLog {
 public:
  PgEventLog(PgPool& pool, const Clock& clock) : pool_(pool), clock_(clock) {}

  Status Append(const std::string& origin, const Event& e) override;
  Result<std::vector<StoredEvent>> After(int64_t after_id, int limit) override;
  Result<int64_t> LastId() override;
  Result<int> Prune(int64_t older_than_ms) override;

 private:
  PgPool& pool_;
  const Clock& clock_;
};

}  // namespace vs::db::internal
