// NotificationRepository on SQLite. Internal to the db module; SqliteDatabase
// owns it. Thread-safe: Add holds the shared connection's mutex, List reads
// on the reader pool.
#pragma once

#include "db/repository.h"
#include "db/sqlite_connection.h"

namespace vs::db::internal {

class SqliteNotificationRepository final : public NotificationRepository {
 public:
  SqliteNotificationRepository(Connection& c, ReaderPool& readers) : c_(c), readers_(readers) {}

  Result<Notification> Add(const std::string& video_id, VideoStatus status,
                           const std::string& message) override;
  Result<Page<Notification>> List(int limit, const std::string& cursor, const std::string& video_id,
                                  const Audience& a) override;
  Result<bool> RecordDelivery(const std::string& delivery_id, int64_t now_ms) override;

 private:
  Connection& c_;
  ReaderPool& readers_;
};

}  // namespace vs::db::internal
