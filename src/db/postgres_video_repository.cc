#include "db/postgres_video_repository.h"

#include <cstddef>
#include <limits>
#include <string_view>
#include <utility>

#include "db/repository_common.h"

namespace vs::db::internal {
namespace {

// PostgreSQL refuses lexemes of 2 KiB and more, and tsvectors of 1 MiB.
constexpr size_t kMaxLexemeBytes = 2046;
constexpr size_t kMaxDocumentBytes = 256 * 1024;

// Appends 'token' in tsvector/tsquery input syntax: inside quotes, a quote
// and a backslash are written twice.
void AppendQuoted(std::string& out, std::string_view token) {
  if (token.size() > kMaxLexemeBytes) {
    size_t cut = kMaxLexemeBytes;
    while (cut > 0 && (static_cast<unsigned char>(token[cut]) & 0xC0) == 0x80) --cut;
    token = token.substr(0, cut);
  }
  out += '\'';
  for (char ch : token) {
    if (ch == '\'' || ch == '\\') out += ch;
    out += ch;
  }
  out += '\'';
}

Result<std::optional<Video>> OptionalVideo(const PgResult& r) {
  if (r.rows() == 0) return std::optional<Video>();
  VS_ASSIGN_OR_RETURN(Video v, ReadVideo(r.row(0)));
  return std::optional<Video>(std::move(v));
}

Result<std::optional<Video>> SelectVideo(PgConn& c, const std::string& id, bool for_update) {
  static const std::string kSql =
      std::string("SELECT ") + kVideoColumns + " FROM videos WHERE id = $1";
  static const std::string kLocked = kSql + " FOR UPDATE";
  PgParams p;
  p.Text(id);
  VS_ASSIGN_OR_RETURN(PgResult r, c.Exec(for_update ? kLocked : kSql, p));
  return OptionalVideo(r);
}

// Cancels the live jobs of a video: they stay as history, and a worker still
// on one learns from its next Heartbeat (which requires state running) that
// it must stop.
Status CancelLiveJobs(PgConn& c, const std::string& video_id, int64_t now,
                      std::string_view reason) {
  PgParams p;
  p.Int(now).Text(reason).Text(video_id);
  VS_TRY(
      c.Exec("UPDATE jobs SET state = 'cancelled', updated_at_ms = $1, last_error = $2 "
             "WHERE video_id = $3 AND state IN ('queued', 'running')",
             p));
  return {};
}

}  // namespace

std::string TsVectorText(const std::vector<std::string>& tokens) {
  std::string out;
  for (const std::string& tok : tokens) {
    if (tok.empty()) continue;
    if (out.size() + tok.size() > kMaxDocumentBytes) break;
    if (!out.empty()) out += ' ';
    AppendQuoted(out, tok);
  }
  return out;
}

std::string TsQueryText(const std::vector<std::string>& tokens) {
  std::string out;
  for (const std::string& tok : tokens) {
    if (tok.empty()) continue;
    if (!out.empty()) out += " & ";
    AppendQuoted(out, tok);
    out += ":*";
  }
  return out;
}

std::string PgVideoRepository::SearchDocument(const std::string& title,
                                              const std::string& description,
                                              const std::string& file_name) const {
  // Whitespace separates tokens, so one pass over the joined fields yields
  // the union of the three fields' tokens.
  return TsVectorText(tokenizer_.Tokenize(title + '\n' + description + '\n' + file_name,
                                          std::numeric_limits<size_t>::max()));
}

Status PgVideoRepository::Create(const Video& v) {
  static const std::string kSql = std::string("INSERT INTO videos (") + kVideoColumns +
                                  ", search) VALUES (" + kVideoValues + ", $18::tsvector)";
  PgParams p;
  VS_TRY(BindNewVideo(p, v, clock_.NowMs()));
  p.Text(SearchDocument(v.title, v.description, v.file_name));
  return pool_.Run([&](PgConn& c) -> Status {
    VS_TRY(c.Exec(kSql, p));
    return {};
  });
}

Result<std::optional<Video>> PgVideoRepository::Get(const std::string& id) {
  return pool_.Read([&](PgConn& c) { return SelectVideo(c, id, false); });
}

Result<Page<Video>> PgVideoRepository::List(const ListQuery& q) {
  VS_ASSIGN_OR_RETURN(const std::optional<VideoCursor> after, ParseVideoCursor(q.cursor));
  const int limit = ClampLimit(q.limit);
  const std::string_view text = SearchText(q.search);
  std::string match;
  if (!text.empty()) {
    match = TsQueryText(tokenizer_.Tokenize(text, kMaxSearchTokens));
    // Nothing searchable (only punctuation): nothing can match.
    if (match.empty()) return Page<Video>{};
  }

  PgParams p;
  std::string sql = std::string("SELECT ") + kVideoColumns + " FROM videos WHERE true";
  auto next = [&p] { return "$" + std::to_string(p.size()); };
  if (!match.empty()) {
    p.Text(match);
    sql += " AND search @@ " + next() + "::tsquery";
  }
  if (q.status) {
    p.Text(ToString(*q.status));
    sql += " AND status = " + next();
  }
  sql += VideoScopeSql(q.audience, q.owner_id, NumberedParam(p));
  if (after) {
    p.Int(after->created_at_ms);
    sql += " AND (created_at_ms, id) < (" + next() + "::bigint, ";
    p.Text(after->id);
    sql += next() + "::text)";
  }
  p.Int(limit + 1);  // one extra row tells whether another page exists
  sql += " ORDER BY created_at_ms DESC, id DESC LIMIT " + next();

  return pool_.Read([&](PgConn& c) -> Result<Page<Video>> {
    VS_ASSIGN_OR_RETURN(PgResult r, c.Exec(sql, p));
    std::vector<Video> rows;
    for (int i = 0; i < r.rows(); ++i) {
      VS_ASSIGN_OR_RETURN(Video v, ReadVideo(r.row(i)));
      rows.push_back(std::move(v));
    }
    return MakePage(std::move(rows), limit, VideoCursorOf);
  });
}

Result<std::vector<std::pair<VideoStatus, int64_t>>> PgVideoRepository::CountByStatus(
    const Audience& a) {
  PgParams p;
  const std::string sql = "SELECT status, COUNT(*) FROM videos WHERE true" +
                          VideoScopeSql(a, "", NumberedParam(p)) + " GROUP BY status";
  return pool_.Read([&](PgConn& c) -> Result<std::vector<std::pair<VideoStatus, int64_t>>> {
    VS_ASSIGN_OR_RETURN(PgResult r, c.Exec(sql, p));
    std::vector<std::pair<VideoStatus, int64_t>> out = ZeroStatusCounts();
    for (int i = 0; i < r.rows(); ++i)
      VS_TRY(SetStatusCount(out, r.row(i).ColText(0), r.row(i).ColInt(1)));
    return out;
  });
}

Result<std::optional<Video>> PgVideoRepository::UpdateMetadata(
    const std::string& id, const std::optional<std::string>& title,
    const std::optional<std::string>& description, const std::optional<Visibility>& visibility) {
  if (!title && !description && !visibility) return Get(id);
  // The search column follows the text, which only this process can
  // tokenize: read the row under its lock, then write text and tokens.
  return pool_.InTransaction([&](PgConn& c) -> Result<std::optional<Video>> {
    VS_ASSIGN_OR_RETURN(std::optional<Video> current, SelectVideo(c, id, true));
    if (!current) return std::optional<Video>();
    const std::string& new_title = title ? *title : current->title;
    const std::string& new_description = description ? *description : current->description;
    PgParams p;
    p.Text(new_title)
        .Text(new_description)
        .Text(SearchDocument(new_title, new_description, current->file_name))
        .Int(clock_.NowMs())
        .Text(id)
        .Text(ToString(visibility ? *visibility : current->visibility));
    VS_ASSIGN_OR_RETURN(PgResult r,
                        c.Exec(std::string("UPDATE videos SET title = $1, description = $2, "
                                           "search = $3::tsvector, updated_at_ms = $4, "
                                           "visibility = $6 WHERE id = $5 RETURNING ") +
                                   kVideoColumns,
                               p));
    return OptionalVideo(r);
  });
}

Result<std::optional<Video>> PgVideoRepository::Transition(const std::string& id,
                                                           const std::vector<VideoStatus>& from,
                                                           VideoStatus to,
                                                           const StatusPatch& patch) {
  // Only the `from` states the state machine allows to reach `to` may be
  // overwritten; the WHERE clause makes read-and-write one atomic
  // compare-and-set (the row lock makes a concurrent writer re-check it).
  const std::vector<VideoStatus> allowed = AllowedFrom(from, to);
  if (allowed.empty()) return std::optional<Video>();

  PgParams p;
  auto next = [&p] { return "$" + std::to_string(p.size()); };
  p.Text(ToString(to));
  std::string sql = "UPDATE videos SET status = " + next();
  p.Int(clock_.NowMs());
  sql += ", updated_at_ms = " + next();
  if (patch.error_message) {
    p.Text(*patch.error_message);
    sql += ", error_message = " + next();
  }
  if (patch.progress) {
    p.Double(ClampProgress(*patch.progress));
    sql += ", progress = " + next();
  }
  if (patch.duration) {
    p.Double(*patch.duration);
    sql += ", duration = " + next();
  }
  if (patch.width) {
    p.Int(*patch.width);
    sql += ", width = " + next();
  }
  if (patch.height) {
    p.Int(*patch.height);
    sql += ", height = " + next();
  }
  if (patch.renditions) {
    p.Text(EncodeRenditions(*patch.renditions));
    sql += ", renditions = " + next();
  }
  p.Text(id);
  sql += " WHERE id = " + next() + " AND status IN (";
  for (size_t i = 0; i < allowed.size(); ++i) {
    p.Text(ToString(allowed[i]));
    sql += (i == 0 ? "" : ", ") + next();
  }
  sql += ") RETURNING ";
  sql += kVideoColumns;
  return pool_.Run([&](PgConn& c) -> Result<std::optional<Video>> {
    VS_ASSIGN_OR_RETURN(PgResult r, c.Exec(sql, p));
    return OptionalVideo(r);
  });
}

Result<bool> PgVideoRepository::UpdateProgress(const std::string& id, double progress) {
  PgParams p;
  p.Double(ClampProgress(progress)).Int(clock_.NowMs()).Text(id);
  return pool_.Run([&](PgConn& c) -> Result<bool> {
    VS_ASSIGN_OR_RETURN(PgResult r,
                        c.Exec("UPDATE videos SET progress = GREATEST(progress, $1::float8), "
                               "updated_at_ms = $2 WHERE id = $3 AND status = 'PROCESSING'",
                               p));
    return r.affected() > 0;
  });
}

Result<std::optional<ConfirmResult>> PgVideoRepository::ConfirmUpload(
    const std::string& id, const std::string& source_etag) {
  return pool_.InTransaction([&](PgConn& c) -> Result<std::optional<ConfirmResult>> {
    const int64_t now = clock_.NowMs();
    // The row lock serializes concurrent confirmations of one video: the
    // second sees UPLOADED and enqueues nothing.
    VS_ASSIGN_OR_RETURN(std::optional<Video> current, SelectVideo(c, id, true));
    if (!current) return std::optional<ConfirmResult>();
    if (current->status != VideoStatus::kUploading && current->status != VideoStatus::kError)
      return std::optional<ConfirmResult>(ConfirmResult{std::move(*current), false});
    // A retry from ERROR supersedes whatever job is still live for the video
    // (it would otherwise block the new one).
    VS_TRY(CancelLiveJobs(c, id, now, kSupersededByConfirm));
    {
      // The jobs_notify trigger announces the job when this commits.
      PgParams p;
      p.Text(id).Int(now).Text(source_etag);
      VS_TRY(
          c.Exec("INSERT INTO jobs (video_id, state, run_after_ms, created_at_ms, "
                 "updated_at_ms, source_etag) VALUES ($1, 'queued', $2, $2, $2, $3)",
                 p));
    }
    PgParams p;
    p.Int(now).Text(id);
    VS_ASSIGN_OR_RETURN(PgResult r, c.Exec(std::string("UPDATE videos SET status = 'UPLOADED', "
                                                       "error_message = '', progress = 0, "
                                                       "updated_at_ms = $1 WHERE id = $2 "
                                                       "RETURNING ") +
                                               kVideoColumns,
                                           p));
    VS_ASSIGN_OR_RETURN(std::optional<Video> updated, OptionalVideo(r));
    if (!updated) return DbError("video vanished inside a write transaction");
    return std::optional<ConfirmResult>(ConfirmResult{std::move(*updated), true});
  });
}

Result<bool> PgVideoRepository::Delete(const std::string& id) {
  return pool_.InTransaction([&](PgConn& c) -> Result<bool> {
    // The video's row first, then its jobs: the order ConfirmUpload takes
    // them in, so the two cannot deadlock.
    PgParams p;
    p.Text(id);
    VS_TRY(c.Exec("SELECT id FROM videos WHERE id = $1 FOR UPDATE", p));
    VS_TRY(CancelLiveJobs(c, id, clock_.NowMs(), kVideoDeleted));
    VS_ASSIGN_OR_RETURN(PgResult r, c.Exec("DELETE FROM videos WHERE id = $1", p));
    return r.affected() > 0;
  });
}

Result<int64_t> PgVideoRepository::AdoptOrphans(const std::string& owner_id) {
  return pool_.Run([&](PgConn& c) { return AdoptOrphansOn(c, owner_id); });
}

Result<int64_t> AdoptOrphansOn(PgConn& c, const std::string& owner_id) {
  PgParams p;
  p.Text(owner_id);
  VS_ASSIGN_OR_RETURN(PgResult r, c.Exec(kAdoptOrphansSql, p));
  return r.affected();
}

}  // namespace vs::db::internal
