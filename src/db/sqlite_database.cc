#include "db/sqlite_database.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "db/sqlite_internal.h"

namespace vs::db {
namespace {

using internal::SqlError;

// Ordered schema migrations; entry i takes the file from version i to i+1.
// Append new entries, never edit old ones: files in the field ran them.
//
// videos.rid is the INTEGER PRIMARY KEY because the FTS5 external-content
// index refers to rows by rowid, and VACUUM may renumber the implicit rowid
// of a table whose primary key is not an integer. The public key is `id`
// (UNIQUE, so it is indexed and conflicts fail).
//
// The update trigger names its columns so that progress updates (many per
// second while transcoding) do not rewrite the search index.
//
// jobs.video_id has no foreign key on purpose: deleting a video cancels its
// jobs and keeps them as history, like its notifications.
constexpr std::string_view kMigrationV1 = R"sql(
CREATE TABLE videos (
  rid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  file_name TEXT NOT NULL DEFAULT '',
  file_type TEXT NOT NULL DEFAULT '',
  file_size INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL
    CHECK (status IN ('UPLOADING', 'UPLOADED', 'PROCESSING', 'READY', 'ERROR')),
  error_message TEXT NOT NULL DEFAULT '',
  progress REAL NOT NULL DEFAULT 0,
  duration REAL NOT NULL DEFAULT 0,
  width INTEGER NOT NULL DEFAULT 0,
  height INTEGER NOT NULL DEFAULT 0,
  renditions TEXT NOT NULL DEFAULT '[]',
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE INDEX videos_by_created ON videos (created_at_ms DESC, id DESC);
CREATE INDEX videos_by_status_created ON videos (status, created_at_ms DESC, id DESC);

CREATE VIRTUAL TABLE videos_fts USING fts5 (
  title, description, file_name,
  content = 'videos', content_rowid = 'rid',
  tokenize = 'unicode61 remove_diacritics 2',
  prefix = '2 3'
);
CREATE TRIGGER videos_fts_insert AFTER INSERT ON videos BEGIN
  INSERT INTO videos_fts (rowid, title, description, file_name)
  VALUES (new.rid, new.title, new.description, new.file_name);
END;
CREATE TRIGGER videos_fts_delete AFTER DELETE ON videos BEGIN
  INSERT INTO videos_fts (videos_fts, rowid, title, description, file_name)
  VALUES ('delete', old.rid, old.title, old.description, old.file_name);
END;
CREATE TRIGGER videos_fts_update AFTER UPDATE OF title, description, file_name ON videos BEGIN
  INSERT INTO videos_fts (videos_fts, rowid, title, description, file_name)
  VALUES ('delete', old.rid, old.title, old.description, old.file_name);
  INSERT INTO videos_fts (rowid, title, description, file_name)
  VALUES (new.rid, new.title, new.description, new.file_name);
END;

CREATE TABLE notifications (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  video_id TEXT NOT NULL,
  status TEXT NOT NULL,
  message TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL
);
CREATE INDEX notifications_by_video ON notifications (video_id, id);

CREATE TABLE jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  video_id TEXT NOT NULL,
  state TEXT NOT NULL
    CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 3,
  run_after_ms INTEGER NOT NULL,
  lease_owner TEXT NOT NULL DEFAULT '',
  lease_expires_ms INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE INDEX jobs_claimable ON jobs (state, run_after_ms, id);
CREATE INDEX jobs_leases ON jobs (state, lease_expires_ms);
CREATE INDEX jobs_by_video ON jobs (video_id, id);
-- At most one live job per video, whatever races the callers run.
CREATE UNIQUE INDEX jobs_one_live_per_video ON jobs (video_id)
  WHERE state IN ('queued', 'running');
)sql";

// v2: events published by one process for the others (a `visionsync worker`
// process's status and progress events reach the server's live clients).
constexpr std::string_view kMigrationV2 = R"sql(
CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  origin TEXT NOT NULL,
  video_id TEXT NOT NULL,
  name TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL
);
CREATE INDEX events_by_age ON events (created_at_ms);
)sql";

const std::vector<std::string_view>& Migrations() {
  static const std::vector<std::string_view> kMigrations = {kMigrationV1, kMigrationV2};
  return kMigrations;
}

constexpr const char* kVideoColumns =
    "id, title, description, file_name, file_type, file_size, status, error_message, progress, "
    "duration, width, height, renditions, created_at_ms, updated_at_ms";
constexpr const char* kJobColumns =
    "id, video_id, state, attempts, max_attempts, run_after_ms, lease_owner, lease_expires_ms, "
    "last_error, created_at_ms, updated_at_ms";
constexpr const char* kNotificationColumns = "id, video_id, status, message, created_at_ms";

constexpr const char* kWorkerLost = "worker lost (lease expired)";
// Long search input costs tokenizer time and yields pointless AND chains.
constexpr size_t kMaxSearchBytes = 512;
constexpr size_t kMaxSearchTokens = 16;

// now + ms without signed overflow (a caller's huge lease must not wrap).
int64_t AddMs(int64_t now, int64_t ms) {
  if (ms > 0 && now > std::numeric_limits<int64_t>::max() - ms)
    return std::numeric_limits<int64_t>::max();
  if (ms < 0 && now < std::numeric_limits<int64_t>::min() - ms)
    return std::numeric_limits<int64_t>::min();
  return now + ms;
}

// SQLite stores NaN as NULL, which the NOT NULL columns would reject.
double Finite(double v) { return std::isfinite(v) ? v : 0.0; }
double ClampProgress(double v) { return std::isnan(v) ? 0.0 : std::clamp(v, 0.0, 100.0); }

std::optional<JobState> ParseJobState(std::string_view s) {
  for (JobState st : {JobState::kQueued, JobState::kRunning, JobState::kDone, JobState::kFailed,
                      JobState::kCancelled})
    if (ToString(st) == s) return st;
  return std::nullopt;
}

// A prepared statement borrowed from the connection's cache for one use.
// Resetting on destruction matters beyond tidiness: a stepped but unreset
// SELECT keeps its read transaction open, so later reads on this connection
// would keep seeing an old snapshot.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* stmt, bool* in_use) : db_(db), stmt_(stmt), in_use_(in_use) {}
  Stmt(Stmt&& o) noexcept
      : db_(o.db_),
        stmt_(std::exchange(o.stmt_, nullptr)),
        in_use_(o.in_use_),
        bind_error_(o.bind_error_),
        next_(o.next_) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt() {
    if (stmt_ == nullptr) return;
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    if (in_use_ != nullptr) {
      *in_use_ = false;
    } else {
      sqlite3_finalize(stmt_);
    }
  }

  Stmt& Int(int64_t v) { return Check(sqlite3_bind_int64(stmt_, ++next_, v)); }
  Stmt& Double(double v) { return Check(sqlite3_bind_double(stmt_, ++next_, Finite(v))); }
  Stmt& Text(std::string_view v) {
    return Check(
        sqlite3_bind_text64(stmt_, ++next_, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  Stmt& Null() { return Check(sqlite3_bind_null(stmt_, ++next_)); }
  template <typename T>
  Stmt& Optional(const std::optional<T>& v) {
    if (!v) return Null();
    if constexpr (std::is_floating_point_v<T>)
      return Double(*v);
    else if constexpr (std::is_integral_v<T>)
      return Int(*v);
    else
      return Text(*v);
  }

  // true: a row is ready; false: done.
  Result<bool> Step() {
    if (bind_error_ != SQLITE_OK)
      return MakeError(kDbError, std::string("bind: ") + sqlite3_errstr(bind_error_));
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqlError(db_, "sqlite");
  }
  // Steps to completion (statements without result rows).
  Status Run() {
    while (true) {
      VS_ASSIGN_OR_RETURN(bool row, Step());
      if (!row) return {};
    }
  }
  int changes() const { return sqlite3_changes(db_); }

  int64_t ColInt(int i) const { return sqlite3_column_int64(stmt_, i); }
  double ColDouble(int i) const { return sqlite3_column_double(stmt_, i); }
  std::string ColText(int i) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i));
    return p == nullptr ? std::string() : std::string(p, sqlite3_column_bytes(stmt_, i));
  }

 private:
  Stmt& Check(int rc) {
    if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
    return *this;
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  bool* in_use_;  // cache slot flag, or null for a one-off statement
  int bind_error_ = SQLITE_OK;
  int next_ = 0;
};

// The one connection of a SqliteDatabase. Not thread-safe by itself: every
// caller holds SqliteDatabaseImpl's mutex (see Lock()).
class Connection {
 public:
  Connection(sqlite3* db, const Clock& clock) : db_(db), clock_(clock) {}
  ~Connection() {
    tokenizer_.reset();
    for (auto& [sql, slot] : cache_) sqlite3_finalize(slot.stmt);
    sqlite3_close_v2(db_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* db() const { return db_; }
  int64_t Now() const { return clock_.NowMs(); }
  void set_tokenizer(std::unique_ptr<internal::FtsTokenizer> t) { tokenizer_ = std::move(t); }
  const internal::FtsTokenizer& tokenizer() const { return *tokenizer_; }
  std::mutex& mutex() { return mu_; }

  // SQL text here is always a program constant or assembled from constants
  // and placeholders; values travel only as bound parameters.
  Result<Stmt> Prepare(const std::string& sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end() && !it->second.in_use) {
      it->second.in_use = true;
      return Stmt(db_, it->second.stmt, &it->second.in_use);
    }
    const bool cacheable = it == cache_.end();
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                           cacheable ? SQLITE_PREPARE_PERSISTENT : 0, &stmt,
                           nullptr) != SQLITE_OK) {
      return SqlError(db_, "prepare");
    }
    if (!cacheable) return Stmt(db_, stmt, nullptr);  // nested use of a busy statement
    Slot& slot = cache_[sql];  // nodes are stable, so the flag pointer stays valid
    slot.stmt = stmt;
    slot.in_use = true;
    return Stmt(db_, stmt, &slot.in_use);
  }

  Status Exec(const char* sql) { return internal::Exec(db_, sql); }

 private:
  struct Slot {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };

  sqlite3* db_;
  const Clock& clock_;
  std::mutex mu_;
  std::unique_ptr<internal::FtsTokenizer> tokenizer_;
  std::unordered_map<std::string, Slot> cache_;
};

// Extra connections for the API's reads (a video, lists, searches, counts,
// notifications), so that request threads neither queue behind each other
// nor behind a writer on the shared connection. In WAL mode a reader sees every transaction committed before
// its statement starts, from this process or another, so nothing read here
// is older than what the shared connection would have returned.
class ReaderPool {
 public:
  // A connection locked for the caller until the lease goes away.
  struct Lease {
    std::unique_lock<std::mutex> lock;
    Connection* conn;
    Connection* operator->() const { return conn; }
    Connection& operator*() const { return *conn; }
  };

  void Add(std::unique_ptr<Connection> c) { readers_.push_back(std::move(c)); }

  // A free reader if there is one (each thread starts looking at its own),
  // else waits for that thread's reader; `primary` when the pool is empty
  // (in-memory databases cannot be shared between connections).
  Lease Acquire(Connection& primary) {
    if (readers_.empty()) return {std::unique_lock(primary.mutex()), &primary};
    static std::atomic<size_t> next_thread{0};
    thread_local const size_t home = next_thread++;
    const size_t n = readers_.size();
    for (size_t i = 0; i < n; ++i) {
      Connection& c = *readers_[(home + i) % n];
      std::unique_lock lock(c.mutex(), std::try_to_lock);
      if (lock.owns_lock()) return {std::move(lock), &c};
    }
    Connection& c = *readers_[home % n];
    return {std::unique_lock(c.mutex()), &c};
  }

 private:
  std::vector<std::unique_ptr<Connection>> readers_;
};

// BEGIN IMMEDIATE takes the write lock up front, so two processes running
// the same read-then-write transaction serialize on it (waiting out
// busy_timeout) instead of one failing with SQLITE_BUSY on lock upgrade.
// Rolls back unless committed.
class Transaction {
 public:
  static Result<Transaction> Begin(Connection& c) {
    VS_TRY(c.Exec("BEGIN IMMEDIATE"));
    return Transaction(c);
  }
  Transaction(Transaction&& o) noexcept : c_(o.c_), open_(std::exchange(o.open_, false)) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction() {
    if (open_ && !sqlite3_get_autocommit(c_.db())) (void)c_.Exec("ROLLBACK");
  }

  Status Commit() {
    open_ = false;
    Status s = c_.Exec("COMMIT");
    if (!s.ok() && !sqlite3_get_autocommit(c_.db())) (void)c_.Exec("ROLLBACK");
    return s;
  }

 private:
  explicit Transaction(Connection& c) : c_(c), open_(true) {}
  Connection& c_;
  bool open_;
};

Result<Video> ReadVideo(const Stmt& s) {
  Video v;
  v.id = s.ColText(0);
  v.title = s.ColText(1);
  v.description = s.ColText(2);
  v.file_name = s.ColText(3);
  v.file_type = s.ColText(4);
  v.file_size = s.ColInt(5);
  const std::string status = s.ColText(6);
  std::optional<VideoStatus> parsed = ParseVideoStatus(status);
  if (!parsed) return MakeError(kDbError, "video " + v.id + ": unknown status " + status);
  v.status = *parsed;
  v.error_message = s.ColText(7);
  v.progress = s.ColDouble(8);
  v.duration = s.ColDouble(9);
  v.width = static_cast<int>(s.ColInt(10));
  v.height = static_cast<int>(s.ColInt(11));
  std::optional<std::vector<RenditionInfo>> renditions = internal::DecodeRenditions(s.ColText(12));
  if (!renditions) return MakeError(kDbError, "video " + v.id + ": corrupt renditions column");
  v.renditions = std::move(*renditions);
  v.created_at_ms = s.ColInt(13);
  v.updated_at_ms = s.ColInt(14);
  return v;
}

Result<Job> ReadJob(const Stmt& s) {
  Job j;
  j.id = s.ColInt(0);
  j.video_id = s.ColText(1);
  const std::string state = s.ColText(2);
  std::optional<JobState> parsed = ParseJobState(state);
  if (!parsed)
    return MakeError(kDbError, "job " + std::to_string(j.id) + ": unknown state " + state);
  j.state = *parsed;
  j.attempts = static_cast<int>(s.ColInt(3));
  j.max_attempts = static_cast<int>(s.ColInt(4));
  j.run_after_ms = s.ColInt(5);
  j.lease_owner = s.ColText(6);
  j.lease_expires_ms = s.ColInt(7);
  j.last_error = s.ColText(8);
  j.created_at_ms = s.ColInt(9);
  j.updated_at_ms = s.ColInt(10);
  return j;
}

Result<Notification> ReadNotification(const Stmt& s) {
  Notification n;
  n.id = s.ColInt(0);
  n.video_id = s.ColText(1);
  const std::string status = s.ColText(2);
  std::optional<VideoStatus> parsed = ParseVideoStatus(status);
  if (!parsed) return MakeError(kDbError, "notification: unknown status " + status);
  n.status = *parsed;
  n.message = s.ColText(3);
  n.created_at_ms = s.ColInt(4);
  return n;
}

// Steps a statement expected to yield at most one video.
Result<std::optional<Video>> StepOptionalVideo(Stmt& s) {
  VS_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<Video>();
  VS_ASSIGN_OR_RETURN(Video v, ReadVideo(s));
  VS_TRY(s.Run());  // finish an UPDATE ... RETURNING
  return std::optional<Video>(std::move(v));
}

Result<std::optional<Job>> StepOptionalJob(Stmt& s) {
  VS_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<Job>();
  VS_ASSIGN_OR_RETURN(Job j, ReadJob(s));
  VS_TRY(s.Run());
  return std::optional<Job>(std::move(j));
}

Result<std::optional<Video>> SelectVideo(Connection& c, const std::string& id) {
  static const std::string kSql = std::string("SELECT ") + kVideoColumns + " FROM videos WHERE id = ?";
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

// The three repositories share their database's one connection and hold its
// mutex for the whole of each call (transactions included), so each call is
// atomic within the process; BEGIN IMMEDIATE extends that across processes.
class SqliteVideoRepository final : public VideoRepository {
 public:
  SqliteVideoRepository(Connection& c, ReaderPool& readers) : c_(c), readers_(readers) {}

  Status Create(const Video& v) override {
    if (!internal::IsStorableVideoId(v.id))
      return MakeError(kDbError, "video id must be 1-256 bytes without control characters");
    std::lock_guard lock(c_.mutex());
    // Zero timestamps mean "now", so callers need not read the clock.
    const int64_t now = c_.Now();
    const int64_t created = v.created_at_ms != 0 ? v.created_at_ms : now;
    const int64_t updated = v.updated_at_ms != 0 ? v.updated_at_ms : created;
    VS_ASSIGN_OR_RETURN(
        Stmt s, c_.Prepare("INSERT INTO videos (id, title, description, file_name, file_type, "
                           "file_size, status, error_message, progress, duration, width, height, "
                           "renditions, created_at_ms, updated_at_ms) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    s.Text(v.id)
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
        .Text(internal::EncodeRenditions(v.renditions))
        .Int(created)
        .Int(updated);
    return s.Run();
  }

  Result<std::optional<Video>> Get(const std::string& id) override {
    ReaderPool::Lease reader = readers_.Acquire(c_);
    return SelectVideo(*reader, id);
  }

  Result<Page<Video>> List(const ListQuery& q) override {
    std::optional<internal::VideoCursor> after;
    if (!q.cursor.empty()) {
      after = internal::DecodeVideoCursor(q.cursor);
      if (!after) return MakeError(kBadCursor, "malformed cursor");
    }
    const int limit = internal::ClampLimit(q.limit);

    // Blank input is no search at all, unlike input with nothing searchable.
    std::string_view text = q.search;
    const size_t first = text.find_first_not_of(" \t\r\n\f\v");
    text = first == std::string_view::npos ? std::string_view() : text.substr(first);

    ReaderPool::Lease reader = readers_.Acquire(c_);
    Connection& c = *reader;
    std::string match;
    if (!text.empty()) {
      if (text.size() > kMaxSearchBytes) {
        size_t cut = kMaxSearchBytes;
        while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
        text = text.substr(0, cut);
      }
      match = internal::BuildFtsQuery(c.tokenizer().Tokenize(text, kMaxSearchTokens));
      // Nothing searchable (only punctuation): nothing can match.
      if (match.empty()) return Page<Video>{};
    }

    std::string sql = std::string("SELECT ") + kVideoColumns + " FROM videos WHERE 1";
    if (!match.empty())
      sql += " AND rid IN (SELECT rowid FROM videos_fts WHERE videos_fts MATCH ?)";
    if (q.status) sql += " AND status = ?";
    if (after) sql += " AND (created_at_ms, id) < (?, ?)";
    sql += " ORDER BY created_at_ms DESC, id DESC LIMIT ?";
    VS_ASSIGN_OR_RETURN(Stmt s, c.Prepare(sql));
    if (!match.empty()) s.Text(match);
    if (q.status) s.Text(ToString(*q.status));
    if (after) s.Int(after->created_at_ms).Text(after->id);
    s.Int(limit + 1);  // one extra row tells whether another page exists

    Page<Video> page;
    while (true) {
      VS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      if (static_cast<int>(page.items.size()) == limit) {
        const Video& last = page.items.back();
        page.next_cursor = internal::EncodeVideoCursor({last.created_at_ms, last.id});
        break;
      }
      VS_ASSIGN_OR_RETURN(Video v, ReadVideo(s));
      page.items.push_back(std::move(v));
    }
    return page;
  }

  Result<std::vector<std::pair<VideoStatus, int64_t>>> CountByStatus() override {
    ReaderPool::Lease reader = readers_.Acquire(c_);
    std::vector<std::pair<VideoStatus, int64_t>> out;
    for (VideoStatus st : kAllVideoStatuses) out.emplace_back(st, 0);
    VS_ASSIGN_OR_RETURN(Stmt s, reader->Prepare("SELECT status, COUNT(*) FROM videos GROUP BY status"));
    while (true) {
      VS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      std::optional<VideoStatus> st = ParseVideoStatus(s.ColText(0));
      if (!st) return MakeError(kDbError, "unknown status " + s.ColText(0));
      for (auto& [status, count] : out)
        if (status == *st) count = s.ColInt(1);
    }
    return out;
  }

  Result<std::optional<Video>> UpdateMetadata(
      const std::string& id, const std::optional<std::string>& title,
      const std::optional<std::string>& description) override {
    std::lock_guard lock(c_.mutex());
    if (!title && !description) return SelectVideo(c_, id);
    // COALESCE keeps the stored value where the caller passed nothing (NULL).
    VS_ASSIGN_OR_RETURN(Stmt s,
                        c_.Prepare(std::string("UPDATE videos SET title = COALESCE(?, title), "
                                               "description = COALESCE(?, description), "
                                               "updated_at_ms = ? WHERE id = ? RETURNING ") +
                                   kVideoColumns));
    s.Optional(title).Optional(description).Int(c_.Now()).Text(id);
    return StepOptionalVideo(s);
  }

  Result<std::optional<Video>> Transition(const std::string& id,
                                          const std::vector<VideoStatus>& from, VideoStatus to,
                                          const StatusPatch& patch) override {
    // Only the `from` states the state machine allows to reach `to` may be
    // overwritten; the WHERE clause then makes read-and-write one atomic
    // compare-and-set, so concurrent writers cannot both win.
    std::vector<VideoStatus> allowed;
    for (VideoStatus s : from)
      if (CanTransition(s, to) && std::find(allowed.begin(), allowed.end(), s) == allowed.end())
        allowed.push_back(s);
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
    if (patch.renditions) s.Text(internal::EncodeRenditions(*patch.renditions));
    s.Text(id);
    for (VideoStatus st : allowed) s.Text(ToString(st));
    return StepOptionalVideo(s);
  }

  Result<bool> UpdateProgress(const std::string& id, double progress) override {
    std::lock_guard lock(c_.mutex());
    VS_ASSIGN_OR_RETURN(Stmt s, c_.Prepare("UPDATE videos SET progress = MAX(progress, ?), "
                                           "updated_at_ms = ? "
                                           "WHERE id = ? AND status = 'PROCESSING'"));
    s.Double(ClampProgress(progress)).Int(c_.Now()).Text(id);
    VS_TRY(s.Run());
    return s.changes() > 0;
  }

  Result<std::optional<ConfirmResult>> ConfirmUpload(const std::string& id) override {
    std::lock_guard lock(c_.mutex());
    const int64_t now = c_.Now();
    VS_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(c_));
    VS_ASSIGN_OR_RETURN(std::optional<Video> current, SelectVideo(c_, id));
    if (!current) return std::optional<ConfirmResult>();
    if (current->status != VideoStatus::kUploading && current->status != VideoStatus::kError) {
      return std::optional<ConfirmResult>(ConfirmResult{std::move(*current), false});
    }
    {
      // A retry from ERROR supersedes whatever job is still live for the
      // video (it would otherwise block the new one, and a worker still on
      // it learns from its next heartbeat that it must stop).
      VS_ASSIGN_OR_RETURN(Stmt cancel,
                          c_.Prepare("UPDATE jobs SET state = 'cancelled', updated_at_ms = ?, "
                                     "last_error = 'superseded by a new upload confirmation' "
                                     "WHERE video_id = ? AND state IN ('queued', 'running')"));
      cancel.Int(now).Text(id);
      VS_TRY(cancel.Run());
    }
    {
      VS_ASSIGN_OR_RETURN(
          Stmt insert, c_.Prepare("INSERT INTO jobs (video_id, state, run_after_ms, "
                                  "created_at_ms, updated_at_ms) VALUES (?, 'queued', ?, ?, ?)"));
      insert.Text(id).Int(now).Int(now).Int(now);
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
    if (!updated) return MakeError(kDbError, "video vanished inside a write transaction");
    VS_TRY(tx.Commit());
    return std::optional<ConfirmResult>(ConfirmResult{std::move(*updated), true});
  }

  Result<bool> Delete(const std::string& id) override {
    std::lock_guard lock(c_.mutex());
    const int64_t now = c_.Now();
    VS_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(c_));
    {
      // Cancelled rather than deleted: the job stays as history, and its
      // worker's next Heartbeat (which requires state running) says stop.
      VS_ASSIGN_OR_RETURN(Stmt cancel,
                          c_.Prepare("UPDATE jobs SET state = 'cancelled', updated_at_ms = ?, "
                                     "last_error = 'video deleted' "
                                     "WHERE video_id = ? AND state IN ('queued', 'running')"));
      cancel.Int(now).Text(id);
      VS_TRY(cancel.Run());
    }
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

 private:
  Connection& c_;
  ReaderPool& readers_;
};

class SqliteNotificationRepository final : public NotificationRepository {
 public:
  SqliteNotificationRepository(Connection& c, ReaderPool& readers) : c_(c), readers_(readers) {}

  Result<Notification> Add(const std::string& video_id, VideoStatus status,
                           const std::string& message) override {
    std::lock_guard lock(c_.mutex());
    VS_ASSIGN_OR_RETURN(
        Stmt s, c_.Prepare(std::string("INSERT INTO notifications (video_id, status, message, "
                                       "created_at_ms) VALUES (?, ?, ?, ?) RETURNING ") +
                           kNotificationColumns));
    s.Text(video_id).Text(ToString(status)).Text(message).Int(c_.Now());
    VS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return MakeError(kDbError, "insert returned no row");
    VS_ASSIGN_OR_RETURN(Notification n, ReadNotification(s));
    VS_TRY(s.Run());
    return n;
  }

  Result<Page<Notification>> List(int limit, const std::string& cursor,
                                  const std::string& video_id) override {
    std::optional<int64_t> before;
    if (!cursor.empty()) {
      before = internal::DecodeNotificationCursor(cursor);
      if (!before) return MakeError(kBadCursor, "malformed cursor");
    }
    limit = internal::ClampLimit(limit);

    std::string sql = std::string("SELECT ") + kNotificationColumns + " FROM notifications WHERE 1";
    if (!video_id.empty()) sql += " AND video_id = ?";
    if (before) sql += " AND id < ?";
    sql += " ORDER BY id DESC LIMIT ?";

    ReaderPool::Lease reader = readers_.Acquire(c_);
    VS_ASSIGN_OR_RETURN(Stmt s, reader->Prepare(sql));
    if (!video_id.empty()) s.Text(video_id);
    if (before) s.Int(*before);
    s.Int(limit + 1);
    Page<Notification> page;
    while (true) {
      VS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      if (static_cast<int>(page.items.size()) == limit) {
        page.next_cursor = internal::EncodeNotificationCursor(page.items.back().id);
        break;
      }
      VS_ASSIGN_OR_RETURN(Notification n, ReadNotification(s));
      page.items.push_back(std::move(n));
    }
    return page;
  }

 private:
  Connection& c_;
  ReaderPool& readers_;
};

class SqliteJobQueue final : public JobQueue {
 public:
  explicit SqliteJobQueue(Connection& c) : c_(c) {}

  Result<std::optional<Job>> Claim(const std::string& worker_id, int64_t lease_ms) override {
    std::lock_guard lock(c_.mutex());
    const int64_t now = c_.Now();
    VS_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(c_));
    {
      // A lease that ran out on the last attempt: the worker died (or hung)
      // every time. Giving it yet another worker would loop forever.
      VS_ASSIGN_OR_RETURN(Stmt s, c_.Prepare("UPDATE jobs SET state = 'failed', last_error = ?, "
                                             "updated_at_ms = ? WHERE state = 'running' AND "
                                             "lease_expires_ms <= ? AND attempts >= max_attempts"));
      s.Text(kWorkerLost).Int(now).Int(now);
      VS_TRY(s.Run());
    }
    std::optional<int64_t> job_id;
    {
      VS_ASSIGN_OR_RETURN(
          Stmt s, c_.Prepare("SELECT id FROM jobs WHERE (state = 'queued' AND run_after_ms <= ?) "
                             "OR (state = 'running' AND lease_expires_ms <= ?) "
                             "ORDER BY run_after_ms, id LIMIT 1"));
      s.Int(now).Int(now);
      VS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (row) job_id = s.ColInt(0);
    }
    std::optional<Job> claimed;
    if (job_id) {
      VS_ASSIGN_OR_RETURN(
          Stmt s, c_.Prepare(std::string("UPDATE jobs SET state = 'running', lease_owner = ?, "
                                         "lease_expires_ms = ?, attempts = attempts + 1, "
                                         "updated_at_ms = ? WHERE id = ? RETURNING ") +
                             kJobColumns));
      s.Text(worker_id).Int(AddMs(now, lease_ms)).Int(now).Int(*job_id);
      VS_ASSIGN_OR_RETURN(claimed, StepOptionalJob(s));
    }
    // Commit even without a claim: the worker-lost failures must stick.
    VS_TRY(tx.Commit());
    return claimed;
  }

  Result<bool> Heartbeat(int64_t job_id, const std::string& worker_id, int64_t lease_ms) override {
    std::lock_guard lock(c_.mutex());
    const int64_t now = c_.Now();
    VS_ASSIGN_OR_RETURN(Stmt s, c_.Prepare("UPDATE jobs SET lease_expires_ms = ?, "
                                           "updated_at_ms = ? WHERE id = ? AND "
                                           "state = 'running' AND lease_owner = ?"));
    s.Int(AddMs(now, lease_ms)).Int(now).Int(job_id).Text(worker_id);
    VS_TRY(s.Run());
    return s.changes() > 0;
  }

  Result<bool> Complete(int64_t job_id, const std::string& worker_id) override {
    std::lock_guard lock(c_.mutex());
    VS_ASSIGN_OR_RETURN(Stmt s, c_.Prepare("UPDATE jobs SET state = 'done', last_error = '', "
                                           "updated_at_ms = ? WHERE id = ? AND "
                                           "state = 'running' AND lease_owner = ?"));
    s.Int(c_.Now()).Int(job_id).Text(worker_id);
    VS_TRY(s.Run());
    return s.changes() > 0;
  }

  Result<JobState> Fail(int64_t job_id, const std::string& worker_id, const std::string& error,
                        bool retryable, int64_t backoff_ms) override {
    std::lock_guard lock(c_.mutex());
    const int64_t now = c_.Now();
    {
      VS_ASSIGN_OR_RETURN(
          Stmt s,
          c_.Prepare("UPDATE jobs SET "
                     "state = CASE WHEN ?1 AND attempts < max_attempts THEN 'queued' "
                     "ELSE 'failed' END, "
                     "run_after_ms = CASE WHEN ?1 AND attempts < max_attempts THEN ?2 "
                     "ELSE run_after_ms END, "
                     "lease_owner = CASE WHEN ?1 AND attempts < max_attempts THEN '' "
                     "ELSE lease_owner END, "
                     "lease_expires_ms = 0, last_error = ?3, updated_at_ms = ?4 "
                     "WHERE id = ?5 AND state = 'running' AND lease_owner = ?6 RETURNING state"));
      s.Int(retryable ? 1 : 0).Int(AddMs(now, std::max<int64_t>(backoff_ms, 0)));
      s.Text(error).Int(now).Int(job_id).Text(worker_id);
      VS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (row) {
        std::optional<JobState> st = ParseJobState(s.ColText(0));
        VS_TRY(s.Run());
        if (!st) return MakeError(kDbError, "unknown job state");
        return *st;
      }
    }
    // Not this worker's job (any more): report its state untouched, so the
    // caller can tell a cancellation or takeover from its own failure.
    VS_ASSIGN_OR_RETURN(Stmt s, c_.Prepare("SELECT state FROM jobs WHERE id = ?"));
    s.Int(job_id);
    VS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return JobState::kCancelled;  // no such job: nothing left to run
    std::optional<JobState> st = ParseJobState(s.ColText(0));
    if (!st) return MakeError(kDbError, "unknown job state");
    return *st;
  }

  Result<bool> Release(int64_t job_id, const std::string& worker_id) override {
    std::lock_guard lock(c_.mutex());
    const int64_t now = c_.Now();
    VS_ASSIGN_OR_RETURN(
        Stmt s, c_.Prepare("UPDATE jobs SET state = 'queued', attempts = MAX(attempts - 1, 0), "
                           "run_after_ms = ?, lease_owner = '', lease_expires_ms = 0, "
                           "updated_at_ms = ? WHERE id = ? AND state = 'running' AND "
                           "lease_owner = ?"));
    s.Int(now).Int(now).Int(job_id).Text(worker_id);
    VS_TRY(s.Run());
    return s.changes() > 0;
  }

  Result<std::optional<Job>> LatestForVideo(const std::string& video_id) override {
    std::lock_guard lock(c_.mutex());
    VS_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(std::string("SELECT ") + kJobColumns +
                                           " FROM jobs WHERE video_id = ? ORDER BY id DESC "
                                           "LIMIT 1"));
    s.Text(video_id);
    return StepOptionalJob(s);
  }

 private:
  Connection& c_;
};

class SqliteEventLog final : public EventLog {
 public:
  SqliteEventLog(Connection& c, ReaderPool& readers) : c_(c), readers_(readers) {}

  Status Append(const std::string& origin, const Event& e) override {
    std::lock_guard lock(c_.mutex());
    VS_ASSIGN_OR_RETURN(Stmt s, c_.Prepare("INSERT INTO events (origin, video_id, name, payload, created_at_ms) "
                                           "VALUES (?, ?, ?, ?, ?)"));
    s.Text(origin).Text(e.video_id).Text(e.name).Text(e.payload).Int(c_.Now());
    return s.Run();
  }

  Result<std::vector<StoredEvent>> After(int64_t after_id, int limit) override {
    ReaderPool::Lease reader = readers_.Acquire(c_);
    VS_ASSIGN_OR_RETURN(Stmt s, reader->Prepare("SELECT id, origin, video_id, name, payload FROM events "
                                                "WHERE id > ? ORDER BY id LIMIT ?"));
    s.Int(after_id).Int(std::clamp(limit, 1, 10000));
    std::vector<StoredEvent> out;
    while (true) {
      VS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      StoredEvent e;
      e.id = s.ColInt(0);
      e.origin = s.ColText(1);
      e.event.video_id = s.ColText(2);
      e.event.name = s.ColText(3);
      e.event.payload = s.ColText(4);
      out.push_back(std::move(e));
    }
    return out;
  }

  Result<int64_t> LastId() override {
    ReaderPool::Lease reader = readers_.Acquire(c_);
    VS_ASSIGN_OR_RETURN(Stmt s, reader->Prepare("SELECT COALESCE(MAX(id), 0) FROM events"));
    VS_ASSIGN_OR_RETURN(bool row, s.Step());
    return row ? s.ColInt(0) : 0;
  }

  Result<int> Prune(int64_t older_than_ms) override {
    std::lock_guard lock(c_.mutex());
    VS_ASSIGN_OR_RETURN(Stmt s, c_.Prepare("DELETE FROM events WHERE created_at_ms < ?"));
    s.Int(older_than_ms);
    VS_TRY(s.Run());
    return s.changes();
  }

 private:
  Connection& c_;
  ReaderPool& readers_;
};

class SqliteDatabaseImpl final : public SqliteDatabase {
 public:
  SqliteDatabaseImpl(sqlite3* db, const Clock& clock)
      : clock_(clock), conn_(db, clock), videos_(conn_, readers_), notifications_(conn_, readers_), jobs_(conn_), events_(conn_, readers_) {}

  Status Init(int busy_timeout_ms) {
    sqlite3* db = conn_.db();
    sqlite3_extended_result_codes(db, 1);
    // Before anything else: even switching to WAL may wait for another opener.
    sqlite3_busy_timeout(db, std::max(busy_timeout_ms, 0));
    // Ordinary SQL cannot corrupt the file (writable_schema, shadow tables).
    sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
    VS_TRY(CheckJournalModeWal());
    // FULL: an upload confirmation or a job state change that returned OK
    // survives power loss, not just a process crash.
    VS_TRY(conn_.Exec("PRAGMA synchronous = FULL"));
    VS_TRY(conn_.Exec("PRAGMA foreign_keys = ON"));
    VS_ASSIGN_OR_RETURN(int version, internal::Migrate(db, Migrations()));
    schema_version_ = version;
    VS_ASSIGN_OR_RETURN(std::unique_ptr<internal::FtsTokenizer> tokenizer,
                        internal::FtsTokenizer::Create(db));
    conn_.set_tokenizer(std::move(tokenizer));
    return OpenReaders(busy_timeout_ms);
  }

  VideoRepository& videos() override { return videos_; }
  NotificationRepository& notifications() override { return notifications_; }
  JobQueue& jobs() override { return jobs_; }
  EventLog& events() override { return events_; }
  int schema_version() override {
    std::lock_guard lock(conn_.mutex());
    return schema_version_;
  }

 private:
  Status CheckJournalModeWal() {
    VS_ASSIGN_OR_RETURN(Stmt s, conn_.Prepare("PRAGMA journal_mode = WAL"));
    VS_ASSIGN_OR_RETURN(bool row, s.Step());
    const std::string mode = row ? s.ColText(0) : "";
    // In-memory databases report "memory"; they have no other process to share with.
    if (mode != "wal" && mode != "memory")
      return MakeError(kDbError, "cannot enable WAL journal mode (got '" + mode + "')");
    return {};
  }

  // A file database gets its reader connections; an in-memory one (tests)
  // cannot share its data with another connection and reads on conn_.
  Status OpenReaders(int busy_timeout_ms) {
    const char* file = sqlite3_db_filename(conn_.db(), "main");
    if (file == nullptr || *file == '\0') return {};
    for (int i = 0; i < kReaders; ++i) {
      sqlite3* db = nullptr;
      if (sqlite3_open_v2(file, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
        std::string msg = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close_v2(db);
        return MakeError(kDbError, "reader connection: " + msg);
      }
      auto c = std::make_unique<Connection>(db, clock_);
      sqlite3_extended_result_codes(db, 1);
      sqlite3_busy_timeout(db, std::max(busy_timeout_ms, 0));
      VS_TRY(c->Exec("PRAGMA query_only = 1"));  // a bug here cannot write
      VS_ASSIGN_OR_RETURN(std::unique_ptr<internal::FtsTokenizer> tokenizer,
                          internal::FtsTokenizer::Create(db));
      c->set_tokenizer(std::move(tokenizer));
      readers_.Add(std::move(c));
    }
    return {};
  }

  static constexpr int kReaders = 4;
  const Clock& clock_;
  Connection conn_;
  ReaderPool readers_;
  SqliteVideoRepository videos_;
  SqliteNotificationRepository notifications_;
  SqliteJobQueue jobs_;
  SqliteEventLog events_;
  int schema_version_ = 0;
};

}  // namespace

Result<std::unique_ptr<SqliteDatabase>> SqliteDatabase::Open(const std::string& path,
                                                             const Clock& clock,
                                                             int busy_timeout_ms) {
  sqlite3* db = nullptr;
  // NOMUTEX: the connection is only used under SqliteDatabaseImpl's mutex.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return MakeError(kDbError, "open " + path + ": " + msg);
  }
  auto impl = std::make_unique<SqliteDatabaseImpl>(db, clock);
  Status s = impl->Init(busy_timeout_ms);
  if (!s.ok()) return MakeError(kDbError, "open " + path + ": " + s.error().message);
  return std::unique_ptr<SqliteDatabase>(std::move(impl));
}

}  // namespace vs::db
