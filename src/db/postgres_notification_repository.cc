#include "db/postgres_notification_repository.h"

#include <string>
#include <utility>

#include "db/repository_common.h"

namespace vs::db::internal {

Result<Notification> PgNotificationRepository::Add(const std::string& video_id, VideoStatus status,
                                                   const std::string& message) {
  PgParams p;
  p.Text(video_id).Text(ToString(status)).Text(message).Int(clock_.NowMs());
  return pool_.Run([&](PgConn& c) -> Result<Notification> {
    VS_ASSIGN_OR_RETURN(PgResult r,
                        c.Exec(std::string("INSERT INTO notifications (video_id, status, message, "
                                           "created_at_ms) VALUES ($1, $2, $3, $4) RETURNING ") +
                                   kNotificationColumns,
                               p));
    if (r.rows() == 0) return DbError("insert returned no row");
    return ReadNotification(r.row(0));
  });
}

Result<Page<Notification>> PgNotificationRepository::List(int limit, const std::string& cursor,
                                                          const std::string& video_id,
                                                          const Audience& a) {
  VS_ASSIGN_OR_RETURN(const std::optional<int64_t> before, ParseNotificationCursor(cursor));
  limit = ClampLimit(limit);

  PgParams p;
  auto next = [&p] { return "$" + std::to_string(p.size()); };
  std::string sql =
      std::string("SELECT ") + kNotificationColumns + " FROM notifications WHERE true";
  if (!video_id.empty()) {
    p.Text(video_id);
    sql += " AND video_id = " + next();
  }
  sql += NotificationScopeSql(a, NumberedParam(p));
  if (before) {
    p.Int(*before);
    sql += " AND id < " + next();
  }
  p.Int(limit + 1);
  sql += " ORDER BY id DESC LIMIT " + next();

  return pool_.Read([&](PgConn& c) -> Result<Page<Notification>> {
    VS_ASSIGN_OR_RETURN(PgResult r, c.Exec(sql, p));
    std::vector<Notification> rows;
    for (int i = 0; i < r.rows(); ++i) {
      VS_ASSIGN_OR_RETURN(Notification n, ReadNotification(r.row(i)));
      rows.push_back(std::move(n));
    }
    return MakePage(std::move(rows), limit, NotificationCursorOf);
  });
}

Result<bool> PgNotificationRepository::RecordDelivery(const std::string& delivery_id, int64_t now_ms) {
  PgParams prune;
  prune.Int(now_ms - kDeliveryRetentionMs);
  PgParams p;
  p.Text(delivery_id).Int(now_ms);
  return pool_.Run([&](PgConn& c) -> Result<bool> {
    VS_TRY(c.Exec(kDeliveryPruneSql, prune));
    VS_ASSIGN_OR_RETURN(PgResult r, c.Exec(kDeliveryInsertSql, p));
    return r.affected() == 1;
  });
}

}  // namespace vs::db::internal
