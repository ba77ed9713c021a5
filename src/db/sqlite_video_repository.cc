#include "db/sqlite_video_repository.h"

#include <string>
#include <string_view>
#include <vector>

namespace vs::db::internal {
namespace {

Result<std::optional<Video>> StepOptionalVideo(Stmt& s) {
  return StepOptional<Video>(s, &ReadVideo<Stmt>);
}

Result<std::optional<Video>> SelectVideo(Connection& c, const std::string& id) {
  static const std::string kSql =
      std::string("SELECT ") + kVideoColumns + " FROM videos WHERE id = ?";
  VS_ASSIGN_OR_RETURN(Stmt s, c.Prepare(kSql));
  s.Text(id);
  return StepOptionalVideo(s);
}

// "?, ?, ?" for n placeholders.
std::string Placeholders(size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += i == 0 ? "?" : ", ?";
  return out;
}

// Cancels the live jobs of a video: they stay as history, and a worker still
// on one learns from its next Heartbeat (which requires state running) that
// it must stop.
Status CancelLiveJobs(Connection& c, const std::string& video_id, int64_t now,
                      std::string_view reason) {
  VS_ASSIGN_OR_RETURN(Stmt cancel,
                      c.Prepare("UPDATE jobs SET state = 'cancelled', updated_at_ms = ?, "
                                "last_error = ? "
                                "WHERE video_id = ? AND state IN ('queued', 'running')"));
  cancel.Int(now).Text(reason).Text(video_id);
  return cancel.Run();
}

}  // namespace

Status SqliteVideoRepository::Create(const Video& v) {
  static const std::string kSql = std::string("INSERT INTO videos (") + kVideoColumns +
                                  ") VALUES (" + SqliteNumbered(kVideoValues) + ")";
  std::lock_guard lock(c_.mutex());
  VS_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kSql));
  VS_TRY(BindNewVideo(s, v, c_.Now()));
  return s.Run();
}

Result<std::optional<Video>> SqliteVideoRepository::Get(const std::string& id) {
  ReaderPool::Lease reader = readers_.Acquire(c_);
  return SelectVideo(*reader, id);
}

Result<Page<Video>> SqliteVideoRepository::List(const ListQuery& q) {
  VS_ASSIGN_OR_RETURN(const std::optional<VideoCursor> after, ParseVideoCursor(q.cursor));
  const int limit = ClampLimit(q.limit);
  const std::string_view text = SearchText(q.search);

  ReaderPool::Lease reader = readers_.Acquire(c_);
  Connection& c = *reader;
  std::string match;
  if (!text.empty()) {
    match = BuildFtsQuery(c.tokenizer().Tokenize(text, kMaxSearchTokens));
    // Nothing searchable (only punctuation): nothing can match.
    if (match.empty()) return Page<Video>{};
  }

  std::string sql = std::string("SELECT ") + kVideoColumns + " FROM videos WHERE 1";
  if (!match.empty()) sql += " AND rid IN (SELECT rowid FROM videos_fts WHERE videos_fts MATCH ?)";
  if (q.status) sql += " AND status = ?";
  std::vector<std::string> scope_values;
  sql += VideoScopeSql(q.audience, q.owner_id, QueuedParam(scope_values));
  if (after) sql += " AND (created_at_ms, id) < (?, ?)";
  sql += " ORDER BY created_at_ms DESC, id DESC LIMIT ?";
  VS_ASSIGN_OR_RETURN(Stmt s, c.Prepare(sql));
  if (!match.empty()) s.Text(match);
  if (q.status) s.Text(ToString(*q.status));
  for (const std::string& value : scope_values) s.Text(value);
  if (after) s.Int(after->created_at_ms).Text(after->id);
  s.Int(limit + 1);  // one extra row tells whether another page exists

  VS_ASSIGN_OR_RETURN(std::vector<Video> rows, StepAll<Video>(s, &ReadVideo<Stmt>));
  return MakePage(std::move(rows), limit, VideoCursorOf);
}

Result<std::vector<std::pair<VideoStatus, int64_t>>> SqliteVideoRepository::CountByStatus(
    const Audience& a) {
  std::vector<std::string> scope_values;
  const std::string sql = "SELECT status, COUNT(*) FROM videos WHERE 1" +
                          VideoScopeSql(a, "", QueuedParam(scope_values)) + " GROUP BY status";
  ReaderPool::Lease reader = readers_.Acquire(c_);
  std::vector<std::pair<VideoStatus, int64_t>> out = ZeroStatusCounts();
  VS_ASSIGN_OR_RETURN(Stmt s, reader->Prepare(sql));
  for (const std::string& value : scope_values) s.Text(value);
  while (true) {
    VS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    VS_TRY(SetStatusCount(out, s.ColText(0), s.ColInt(1)));
  }
  return out;
}

Result<std::optional<Video>> SqliteVideoRepository::UpdateMetadata(
    const std::string& id, const std::optional<std::string>& title,
    const std::optional<std::string>& description, const std::optional<Visibility>& visibility) {
  std::lock_guard lock(c_.mutex());
  if (!title && !description && !visibility) return SelectVideo(c_, id);
  // COALESCE keeps the stored value where the caller passed nothing (NULL).
  VS_ASSIGN_OR_RETURN(Stmt s,
                      c_.Prepare(std::string("UPDATE videos SET title = COALESCE(?, title), "
                                             "description = COALESCE(?, description), "
                                             "visibility = COALESCE(?, visibility), "
                                             "updated_at_ms = ? WHERE id = ? RETURNING ") +
                                 kVideoColumns));
  std::optional<std::string_view> visibility_name;
  if (visibility) visibility_name = ToString(*visibility);
  s.Optional(title).Optional(description).Optional(visibility_name).Int(c_.Now()).Text(id);
  return StepOptionalVideo(s);
}

Result<std::optional<Video>> SqliteVideoRepository::Transition(const std::string& id,
                                                               const std::vector<VideoStatus>& from,
                                                               VideoStatus to,
                                                               const StatusPatch& patch) {
  // Only the `from` states the state machine allows to reach `to` may be
  // overwritten; the WHERE clause then makes read-and-write one atomic
  // compare-and-set, so concurrent writers cannot both win.
  const std::vector<VideoStatus> allowed = AllowedFrom(from, to);
  if (allowed.empty()) return std::optional<Video>();

  std::string sql = "UPDATE videos SET status = ?, updated_at_ms = ?";
  if (patch.error_message) sql += ", error_message = ?";
  if (patch.progress) sql += ", progress = ?";
  if (patch.duration) sql += ", duration = ?";
  if (patch.width) sql += ", width = ?";
  if (patch.height) sql += ", height = ?";
  if (patch.renditions) sql += ", renditions = ?";
  sql += " WHERE id = ? AND status IN (" + Placeholders(allowed.size()) + ") RETURNING ";
  sql += kVideoColumns;

  std::lock_guard lock(c_.mutex());
  VS_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(sql));
  s.Text(ToString(to)).Int(c_.Now());
  if (patch.error_message) s.Text(*patch.error_message);
  if (patch.progress) s.Double(ClampProgress(*patch.progress));
  if (patch.duration) s.Double(*patch.duration);
  if (patch.width) s.Int(*patch.width);
  if (patch.height) s.Int(*patch.height);
  if (patch.renditions) s.Text(EncodeRenditions(*patch.renditions));
  s.Text(id);
  for (VideoStatus st : allowed) s.Text(ToString(st));
  return StepOptionalVideo(s);
}

Result<bool> SqliteVideoRepository::UpdateProgress(const std::string& id, double progress) {
  std::lock_guard lock(c_.mutex());
  VS_ASSIGN_OR_RETURN(Stmt s, c_.Prepare("UPDATE videos SET progress = MAX(progress, ?), "
                                         "updated_at_ms = ? "
                                         "WHERE id = ? AND status = 'PROCESSING'"));
  s.Double(ClampProgress(progress)).Int(c_.Now()).Text(id);
  VS_TRY(s.Run());
  return s.changes() > 0;
}

Result<std::optional<ConfirmResult>> SqliteVideoRepository::ConfirmUpload(
    const std::string& id, const std::string& source_etag) {
  std::lock_guard lock(c_.mutex());
  const int64_t now = c_.Now();
  VS_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(c_));
  VS_ASSIGN_OR_RETURN(std::optional<Video> current, SelectVideo(c_, id));
  if (!current) return std::optional<ConfirmResult>();
  if (current->status != VideoStatus::kUploading && current->status != VideoStatus::kError) {
    return std::optional<ConfirmResult>(ConfirmResult{std::move(*current), false});
  }
  // A retry from ERROR supersedes whatever job is still live for the video
  // (it would otherwise block the new one).
  VS_TRY(CancelLiveJobs(c_, id, now, kSupersededByConfirm));
  {
    VS_ASSIGN_OR_RETURN(Stmt insert, c_.Prepare("INSERT INTO jobs (video_id, state, run_after_ms, "
                                                "created_at_ms, updated_at_ms, source_etag) "
                                                "VALUES (?, 'queued', ?, ?, ?, ?)"));
    insert.Text(id).Int(now).Int(now).Int(now).Text(source_etag);
    VS_TRY(insert.Run());
  }
  std::optional<Video> updated;
  {
    VS_ASSIGN_OR_RETURN(
        Stmt s, c_.Prepare(std::string("UPDATE videos SET status = 'UPLOADED', "
                                       "error_message = '', progress = 0, updated_at_ms = ? "
                                       "WHERE id = ? RETURNING ") +
                           kVideoColumns));
    s.Int(now).Text(id);
    VS_ASSIGN_OR_RETURN(updated, StepOptionalVideo(s));
  }
  if (!updated) return DbError("video vanished inside a write transaction");
  VS_TRY(tx.Commit());
  return std::optional<ConfirmResult>(ConfirmResult{std::move(*updated), true});
}

Result<bool> SqliteVideoRepository::Delete(const std::string& id) {
  std::lock_guard lock(c_.mutex());
  const int64_t now = c_.Now();
  VS_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(c_));
  VS_TRY(CancelLiveJobs(c_, id, now, kVideoDeleted));
  bool deleted = false;
  {
    VS_ASSIGN_OR_RETURN(Stmt s, c_.Prepare("DELETE FROM videos WHERE id = ?"));
    s.Text(id);
    VS_TRY(s.Run());
    deleted = s.changes() > 0;
  }
  VS_TRY(tx.Commit());
  return deleted;
}

Result<int64_t> SqliteVideoRepository::AdoptOrphans(const std::string& owner_id) {
  std::lock_guard lock(c_.mutex());
  return AdoptOrphansLocked(c_, owner_id);
}

Result<int64_t> AdoptOrphansLocked(Connection& c, const std::string& owner_id) {
  VS_ASSIGN_OR_RETURN(Stmt s, c.Prepare(SqliteNumbered(kAdoptOrphansSql)));
  s.Text(owner_id);
  VS_TRY(s.Run());
  return s.changes();
}

}  // namespace vs::db::internal
