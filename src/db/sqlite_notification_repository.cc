#include "db/sqlite_notification_repository.h"

#include <string>
#include <vector>

namespace vs::db::internal {

Result<Notification> SqliteNotificationRepository::Add(const std::string& video_id,
                                                       VideoStatus status,
                                                       const std::string& message) {
  std::lock_guard lock(c_.mutex());
  VS_ASSIGN_OR_RETURN(
      Stmt s, c_.Prepare(std::string("INSERT INTO notifications (video_id, status, message, "
                                     "created_at_ms) VALUES (?, ?, ?, ?) RETURNING ") +
                         kNotificationColumns));
  s.Text(video_id).Text(ToString(status)).Text(message).Int(c_.Now());
  VS_ASSIGN_OR_RETURN(std::optional<Notification> n,
                      StepOptional<Notification>(s, &ReadNotification<Stmt>));
  if (!n) return DbError("insert returned no row");
  return std::move(*n);
}

Result<Page<Notification>> SqliteNotificationRepository::List(int limit, const std::string& cursor,
                                                              const std::string& video_id,
                                                              const Audience& a) {
  VS_ASSIGN_OR_RETURN(const std::optional<int64_t> before, ParseNotificationCursor(cursor));
  limit = ClampLimit(limit);

  std::string sql = std::string("SELECT ") + kNotificationColumns + " FROM notifications WHERE 1";
  if (!video_id.empty()) sql += " AND video_id = ?";
  std::vector<std::string> scope_values;
  sql += NotificationScopeSql(a, QueuedParam(scope_values));
  if (before) sql += " AND id < ?";
  sql += " ORDER BY id DESC LIMIT ?";

  ReaderPool::Lease reader = readers_.Acquire(c_);
  VS_ASSIGN_OR_RETURN(Stmt s, reader->Prepare(sql));
  if (!video_id.empty()) s.Text(video_id);
  for (const std::string& value : scope_values) s.Text(value);
  if (before) s.Int(*before);
  s.Int(limit + 1);
  VS_ASSIGN_OR_RETURN(std::vector<Notification> rows, StepAll<Notification>(s, &ReadNotification<Stmt>));
  return MakePage(std::move(rows), limit, NotificationCursorOf);
}

Result<bool> SqliteNotificationRepository::RecordDelivery(const std::string& delivery_id,
                                                          int64_t now_ms) {
  std::lock_guard lock(c_.mutex());
  VS_ASSIGN_OR_RETURN(Stmt prune, c_.Prepare(SqliteNumbered(kDeliveryPruneSql)));
  prune.Int(now_ms - kDeliveryRetentionMs);
  VS_TRY(prune.Step());
  VS_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(SqliteNumbered(kDeliveryInsertSql)));
  s.Text(delivery_id).Int(now_ms);
  VS_TRY(s.Step());
  return s.changes() == 1;
}

}  // namespace vs::db::internal
