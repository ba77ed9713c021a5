#include "db/sqlite_database.h"

#include <sqlite3.h>

#include <algorithm>
#include <functional>
#include <mutex>
#include <utility>

#include "db/sqlite_connection.h"
#include "db/sqlite_event_log.h"
#include "db/sqlite_internal.h"
#include "db/sqlite_job_queue.h"
#include "db/sqlite_notification_repository.h"
#include "db/sqlite_schema.h"
#include "db/sqlite_user_repository.h"
#include "db/sqlite_video_repository.h"

namespace vs::db {
namespace {

using internal::Connection;
using internal::ReaderPool;
using internal::Stmt;

class SqliteDatabaseImpl final : public SqliteDatabase {
 public:
  SqliteDatabaseImpl(sqlite3* db, const Clock& clock)
      : clock_(clock),
        conn_(db, clock),
        videos_(conn_, readers_),
        notifications_(conn_, readers_),
        jobs_(conn_),
        events_(conn_, readers_),
        users_(conn_, readers_),
        sessions_(conn_, readers_) {}

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
    VS_ASSIGN_OR_RETURN(int version, internal::Migrate(db, internal::SqliteMigrations()));
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
  UserRepository& users() override { return users_; }
  SessionRepository& sessions() override { return sessions_; }
  int schema_version() override {
    std::lock_guard lock(conn_.mutex());
    return schema_version_;
  }
  Status Ping() override {
    ReaderPool::Lease reader = readers_.Acquire(conn_);
    VS_ASSIGN_OR_RETURN(Stmt s, reader->Prepare("SELECT 1"));
    return s.Run();
  }
  void StartJobListener(std::function<void()>) override {}
  void StopJobListener() override {}

 private:
  Status CheckJournalModeWal() {
    VS_ASSIGN_OR_RETURN(Stmt s, conn_.Prepare("PRAGMA journal_mode = WAL"));
    VS_ASSIGN_OR_RETURN(bool row, s.Step());
    const std::string mode = row ? s.ColText(0) : "";
    // In-memory databases report "memory"; they have no other process to share with.
    if (mode != "wal" && mode != "memory")
      return DbError("cannot enable WAL journal mode (got '" + mode + "')");
    return {};
  }

  // A file database gets its reader connections; an in-memory one (tests)
  // cannot share its data with another connection and reads on conn_.
  Status OpenReaders(int busy_timeout_ms) {
    const char* file = sqlite3_db_filename(conn_.db(), "main");
    if (file == nullptr || *file == '\0') return {};
    for (int i = 0; i < kReaders; ++i) {
      sqlite3* db = nullptr;
      if (sqlite3_open_v2(file, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
          SQLITE_OK) {
        std::string msg = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close_v2(db);
        return DbError("reader connection: " + msg);
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
  internal::SqliteVideoRepository videos_;
  internal::SqliteNotificationRepository notifications_;
  internal::SqliteJobQueue jobs_;
  internal::SqliteEventLog events_;
  internal::SqliteUserRepository users_;
  internal::SqliteSessionRepository sessions_;
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
    return DbError("open " + path + ": " + msg);
  }
  auto impl = std::make_unique<SqliteDatabaseImpl>(db, clock);
  Status s = impl->Init(busy_timeout_ms);
  if (!s.ok()) return DbError("open " + path + ": " + s.error().message);
  return std::unique_ptr<SqliteDatabase>(std::move(impl));
}

}  // namespace vs::db
