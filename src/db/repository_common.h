// Rules and row mapping that the SQLite and PostgreSQL adapters share, so
// that both give identical answers: the column lists (both schemas use the
// same column names and encodings), row -> value mapping, and the small
// arithmetic of leases and progress. Internal to the db module.
//
// Pure functions: thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/video.h"
#include "db/codec.h"
#include "db/repository.h"

namespace vs::db::internal {

inline constexpr const char* kVideoColumns =
    "id, title, description, file_name, file_type, file_size, status, error_message, progress, "
    "duration, width, height, renditions, created_at_ms, updated_at_ms, owner_id, visibility";
inline constexpr const char* kJobColumns =
    "id, video_id, state, attempts, max_attempts, run_after_ms, lease_owner, lease_expires_ms, "
    "last_error, created_at_ms, updated_at_ms, source_etag";
inline constexpr const char* kNotificationColumns = "id, video_id, status, message, created_at_ms";
inline constexpr const char* kEventColumns = "id, origin, video_id, name, payload";
inline constexpr const char* kUserColumns =
    "id, email, name, password_hash, is_admin, created_at_ms, updated_at_ms";
inline constexpr const char* kSessionColumns =
    "id, user_id, secret_hash, created_at_ms, expires_at_ms";

inline constexpr const char* kWorkerLost = "worker lost (lease expired)";
inline constexpr const char* kSupersededByConfirm = "superseded by a new upload confirmation";
inline constexpr const char* kVideoDeleted = "video deleted";
inline constexpr const char* kCancelledByOperator = "cancelled by an operator";

// Operator queries, written once for both databases in PostgreSQL's $1, $2
// notation; the SQLite adapter runs them through SqliteNumbered().
// $1 state ('' = any), $2 limit.
inline constexpr const char* kJobListWhere = " FROM jobs WHERE ($1 = '' OR state = $1) ORDER BY id DESC LIMIT $2";
// $1 job id, $2 message, $3 now.
inline constexpr const char* kJobCancelSql =
    "UPDATE jobs SET state = 'cancelled', lease_expires_ms = 0, last_error = $2, updated_at_ms = $3 "
    "WHERE id = $1 AND state IN ('queued', 'running')";
// $1 now. One row per state present: state, count, oldest created_at_ms of
// the live states, running jobs with an expired lease.
inline constexpr const char* kJobStatsSql =
    "SELECT state, COUNT(*), "
    "COALESCE(MIN(CASE WHEN state IN ('queued', 'running') THEN created_at_ms END), 0), "
    "COALESCE(SUM(CASE WHEN state = 'running' AND lease_expires_ms <= $1 THEN 1 ELSE 0 END), 0) "
    "FROM jobs GROUP BY state";

// Webhook deliveries (RecordDelivery), in PostgreSQL's notation as above.
// $1 id, $2 now: inserts nothing when the id was recorded before.
inline constexpr const char* kDeliveryInsertSql =
    "INSERT INTO webhook_deliveries (id, received_at_ms) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING";
// $1 the oldest time kept.
inline constexpr const char* kDeliveryPruneSql = "DELETE FROM webhook_deliveries WHERE received_at_ms < $1";

// Accounts (UserRepository, SessionRepository), in PostgreSQL's notation as
// above. Users and sessions are read by the column lists above.
// $1 id ... $7 updated_at_ms, in kUserColumns order (BindNewUser); no row
// back when the email (or the id) is taken.
inline const std::string kUserInsertSql = std::string("INSERT INTO users (") + kUserColumns +
                                          ") VALUES ($1, $2, $3, $4, $5, $6, $7) "
                                          "ON CONFLICT DO NOTHING RETURNING " +
                                          kUserColumns;
// 1 when a user exists, else 0 (an integer in both databases).
inline constexpr const char* kUserExistsSql =
    "SELECT COUNT(*) FROM (SELECT 1 FROM users LIMIT 1) AS one";
inline constexpr const char* kUserCountSql = "SELECT COUNT(*) FROM users";
// $1 id.
inline const std::string kUserByIdSql =
    std::string("SELECT ") + kUserColumns + " FROM users WHERE id = $1";
// $1 email; the expression is the one of the unique index users_by_email.
inline const std::string kUserByEmailSql =
    std::string("SELECT ") + kUserColumns + " FROM users WHERE lower(email) = lower($1)";
// $1 id, $2 is_admin (1/0), $3 now.
inline constexpr const char* kUserSetAdminSql =
    "UPDATE users SET is_admin = $2, updated_at_ms = $3 WHERE id = $1";
// $1 id, $2 hash, $3 now.
inline constexpr const char* kUserSetPasswordSql =
    "UPDATE users SET password_hash = $2, updated_at_ms = $3 WHERE id = $1";
// $1 the new owner. Ownership is bookkeeping: updated_at_ms stays.
inline constexpr const char* kAdoptOrphansSql =
    "UPDATE videos SET owner_id = $1 WHERE owner_id IS NULL";
// $1 id ... $5 expires_at_ms, in kSessionColumns order.
inline const std::string kSessionInsertSql =
    std::string("INSERT INTO sessions (") + kSessionColumns + ") VALUES ($1, $2, $3, $4, $5)";
// $1 id.
inline const std::string kSessionByIdSql =
    std::string("SELECT ") + kSessionColumns + " FROM sessions WHERE id = $1";
// $1 user id, $2 now.
inline const std::string kSessionsOfUserSql =
    std::string("SELECT ") + kSessionColumns +
    " FROM sessions WHERE user_id = $1 AND expires_at_ms > $2 ORDER BY created_at_ms DESC, id DESC";
inline constexpr const char* kSessionDeleteSql = "DELETE FROM sessions WHERE id = $1";
inline constexpr const char* kSessionDeleteForUserSql = "DELETE FROM sessions WHERE user_id = $1";
// $1 now.
inline constexpr const char* kSessionPruneSql = "DELETE FROM sessions WHERE expires_at_ms <= $1";

// Long search input costs tokenizer time and yields pointless AND chains.
inline constexpr size_t kMaxSearchBytes = 512;
inline constexpr size_t kMaxSearchTokens = 16;
// EventLog::After clamps its limit to 1..kMaxEventBatch.
inline constexpr int kMaxEventBatch = 10000;

// now + ms without signed overflow (a caller's huge lease must not wrap).
int64_t AddMs(int64_t now, int64_t ms);
// Neither database stores NaN in a NOT NULL column; progress is 0..100.
double Finite(double v);
double ClampProgress(double v);

std::optional<JobState> ParseJobState(std::string_view s);

// The search text to tokenize: leading blanks dropped, cut to
// kMaxSearchBytes on a UTF-8 boundary. Empty means "no search at all", which
// differs from input with nothing searchable in it (no results).
std::string_view SearchText(std::string_view search);

// The statuses of `from` that the state machine allows to move to `to`,
// without repeats; empty when the transition can never succeed.
std::vector<VideoStatus> AllowedFrom(const std::vector<VideoStatus>& from, VideoStatus to);

// Video, Job, Notification and StoredEvent from a row whose columns follow
// the lists above. `Row` is an adapter's cursor with ColInt(i),
// ColDouble(i) and ColText(i).
template <typename Row>
Result<Video> ReadVideo(const Row& r) {
  Video v;
  v.id = r.ColText(0);
  v.title = r.ColText(1);
  v.description = r.ColText(2);
  v.file_name = r.ColText(3);
  v.file_type = r.ColText(4);
  v.file_size = r.ColInt(5);
  const std::string status = r.ColText(6);
  std::optional<VideoStatus> parsed = ParseVideoStatus(status);
  if (!parsed) return DbError("video " + v.id + ": unknown status " + status);
  v.status = *parsed;
  v.error_message = r.ColText(7);
  v.progress = r.ColDouble(8);
  v.duration = r.ColDouble(9);
  v.width = static_cast<int>(r.ColInt(10));
  v.height = static_cast<int>(r.ColInt(11));
  std::optional<std::vector<RenditionInfo>> renditions = DecodeRenditions(r.ColText(12));
  if (!renditions) return DbError("video " + v.id + ": corrupt renditions column");
  v.renditions = std::move(*renditions);
  v.created_at_ms = r.ColInt(13);
  v.updated_at_ms = r.ColInt(14);
  v.owner_id = r.ColText(15);  // NULL reads as ""
  const std::string visibility = r.ColText(16);
  std::optional<Visibility> vis = ParseVisibility(visibility);
  if (!vis) return DbError("video " + v.id + ": unknown visibility " + visibility);
  v.visibility = *vis;
  return v;
}

// SQLite answers a boolean as 1/0, PostgreSQL's boolean type as t/f.
template <typename Row>
User ReadUser(const Row& r) {
  User u;
  u.id = r.ColText(0);
  u.email = r.ColText(1);
  u.name = r.ColText(2);
  u.password_hash = r.ColText(3);
  const std::string admin = r.ColText(4);
  u.is_admin = admin == "1" || admin == "t";
  u.created_at_ms = r.ColInt(5);
  u.updated_at_ms = r.ColInt(6);
  return u;
}

template <typename Row>
Session ReadSession(const Row& r) {
  Session s;
  s.id = r.ColText(0);
  s.user_id = r.ColText(1);
  s.secret_hash = r.ColText(2);
  s.created_at_ms = r.ColInt(3);
  s.expires_at_ms = r.ColInt(4);
  return s;
}

template <typename Row>
Result<Job> ReadJob(const Row& r) {
  Job j;
  j.id = r.ColInt(0);
  j.video_id = r.ColText(1);
  const std::string state = r.ColText(2);
  std::optional<JobState> parsed = ParseJobState(state);
  if (!parsed) return DbError("job " + std::to_string(j.id) + ": unknown state " + state);
  j.state = *parsed;
  j.attempts = static_cast<int>(r.ColInt(3));
  j.max_attempts = static_cast<int>(r.ColInt(4));
  j.run_after_ms = r.ColInt(5);
  j.lease_owner = r.ColText(6);
  j.lease_expires_ms = r.ColInt(7);
  j.last_error = r.ColText(8);
  j.created_at_ms = r.ColInt(9);
  j.updated_at_ms = r.ColInt(10);
  j.source_etag = r.ColText(11);
  return j;
}

template <typename Row>
Result<Notification> ReadNotification(const Row& r) {
  Notification n;
  n.id = r.ColInt(0);
  n.video_id = r.ColText(1);
  const std::string status = r.ColText(2);
  std::optional<VideoStatus> parsed = ParseVideoStatus(status);
  if (!parsed) return DbError("notification: unknown status " + status);
  n.status = *parsed;
  n.message = r.ColText(3);
  n.created_at_ms = r.ColInt(4);
  return n;
}

template <typename Row>
StoredEvent ReadStoredEvent(const Row& r) {
  StoredEvent e;
  e.id = r.ColInt(0);
  e.origin = r.ColText(1);
  e.event.video_id = r.ColText(2);
  e.event.name = r.ColText(3);
  e.event.payload = r.ColText(4);
  return e;
}

// Binds the values of a new video row, in kVideoColumns order, through an
// adapter's binder (Text/Int/Double). Zero timestamps mean "now", so callers
// need not read the clock. Refuses ids that no cursor could carry. The
// owner goes in as text, "" for none: the INSERT wraps its placeholder in
// NULLIF(..., '') (kVideoValues).
template <typename Binder>
Status BindNewVideo(Binder& b, const Video& v, int64_t now) {
  if (!IsStorableVideoId(v.id))
    return DbError("video id must be 1-256 bytes without control characters");
  const int64_t created = v.created_at_ms != 0 ? v.created_at_ms : now;
  const int64_t updated = v.updated_at_ms != 0 ? v.updated_at_ms : created;
  b.Text(v.id)
      .Text(v.title)
      .Text(v.description)
      .Text(v.file_name)
      .Text(v.file_type)
      .Int(v.file_size)
      .Text(ToString(v.status))
      .Text(v.error_message)
      .Double(ClampProgress(v.progress))
      .Double(v.duration)
      .Int(v.width)
      .Int(v.height)
      .Text(EncodeRenditions(v.renditions))
      .Int(created)
      .Int(updated)
      .Text(v.owner_id)
      .Text(ToString(v.visibility));
  return {};
}

// The VALUES list of a new video row in PostgreSQL's notation ($1..$17, in
// kVideoColumns order, as BindNewVideo binds them).
inline constexpr const char* kVideoValues =
    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, NULLIF($16, ''), $17";

// Binds a new user row in kUserColumns order (kUserInsertSql); zero
// timestamps mean "now".
template <typename Binder>
void BindNewUser(Binder& b, const User& u, int64_t now) {
  const int64_t created = u.created_at_ms != 0 ? u.created_at_ms : now;
  const int64_t updated = u.updated_at_ms != 0 ? u.updated_at_ms : created;
  b.Text(u.id)
      .Text(u.email)
      .Text(u.name)
      .Text(u.password_hash)
      .Int(u.is_admin ? 1 : 0)
      .Int(created)
      .Int(updated);
}

// The conditions (each starting with " AND ") that keep a query on videos
// to those `a` may list and, when owner_id is set, to that owner's. Values
// travel as parameters: `param(text)` binds one and returns its placeholder,
// in the order they appear in the text.
template <typename Param>
std::string VideoScopeSql(const Audience& a, const std::string& owner_id, Param&& param) {
  std::string sql;
  if (!a.everything) {
    sql += a.user_id.empty()
               ? std::string(" AND visibility = 'public'")
               : " AND (visibility = 'public' OR owner_id = " + param(a.user_id) + ")";
  }
  if (!owner_id.empty()) sql += " AND owner_id = " + param(owner_id);
  return sql;
}

// The same for a query on notifications: only those of videos `a` may list
// (a deleted video's too when a.everything, and only then).
template <typename Param>
std::string NotificationScopeSql(const Audience& a, Param&& param) {
  if (a.everything) return {};
  return " AND video_id IN (SELECT id FROM videos WHERE true" + VideoScopeSql(a, "", param) + ")";
}

// A list call's cursor: nullopt for the first page, a kBadCursor Error when
// it is not one this list handed out.
Result<std::optional<VideoCursor>> ParseVideoCursor(const std::string& cursor);
Result<std::optional<int64_t>> ParseNotificationCursor(const std::string& cursor);

// A page from up to limit + 1 rows in list order: the extra row only tells
// that another page follows, whose cursor points after the last kept item.
template <typename T, typename CursorOf>
Page<T> MakePage(std::vector<T> rows, int limit, CursorOf cursor_of) {
  Page<T> page;
  if (static_cast<int>(rows.size()) > limit) {
    rows.resize(static_cast<size_t>(limit));
    page.next_cursor = cursor_of(rows.back());
  }
  page.items = std::move(rows);
  return page;
}
inline std::string VideoCursorOf(const Video& v) {
  return EncodeVideoCursor({v.created_at_ms, v.id});
}
inline std::string NotificationCursorOf(const Notification& n) {
  return EncodeNotificationCursor(n.id);
}

// Every status with a zero count, in kAllVideoStatuses order; SetStatusCount
// fills in one row of a "status, COUNT(*) GROUP BY status" query.
std::vector<std::pair<VideoStatus, int64_t>> ZeroStatusCounts();
Status SetStatusCount(std::vector<std::pair<VideoStatus, int64_t>>& counts, std::string_view status,
                      int64_t count);

// JobStats with every state at zero; AddJobStatsRow folds in one row of
// kJobStatsSql (an adapter's cursor, as for ReadJob).
JobStats ZeroJobStats();
template <typename Row>
Status AddJobStatsRow(JobStats& stats, const Row& r) {
  const std::string state = r.ColText(0);
  std::optional<JobState> parsed = ParseJobState(state);
  if (!parsed) return DbError("unknown job state " + state);
  for (auto& [st, n] : stats.counts)
    if (st == *parsed) n = r.ColInt(1);
  if (*parsed == JobState::kQueued) stats.oldest_queued_created_ms = r.ColInt(2);
  if (*parsed == JobState::kRunning) {
    stats.oldest_running_created_ms = r.ColInt(2);
    stats.expired_leases = r.ColInt(3);
  }
  return {};
}
// "$1" -> "?1": SQLite would read "$1" as a named parameter, numbered by
// first appearance rather than by its digits.
std::string SqliteNumbered(std::string_view pg_sql);
inline int ClampJobListLimit(int limit) { return limit < 1 ? 1 : limit > 1000 ? 1000 : limit; }

}  // namespace vs::db::internal
