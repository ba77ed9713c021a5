// NotificationRepository on PostgreSQL. Internal to the db module; the
// PostgreSQL database owns it. Thread-safe: each call borrows a pooled
// connection and runs one statement.
#pragma once

#include "core/clock.h"
#include "db/postgres_connection.h"
#include "db/repository.h"

namespace vs::db::internal {

class PgNotificationRepository final : public NotificationRepository {
 public:
  PgNotificationRepository(PgPool& pool, const Clock& clock) : pool_(pool), clock_(clock) {}

  Result<Notification> Add(const std::string& video_id, VideoStatus status,
                           const std::string& message) override;
  Result<Page<Notification>> List(int limit, const std::string& cursor, const std::string& video_id,
                                  const Audience& a) override;
  Result<bool> RecordDelivery(const std::string& delivery_id, int64_t now_ms) override;

 private:
  PgPool& pool_;
  const Clock& clock_;
};

}  // namespace vs::db::internal
