#include "db/postgres_database.h"

#include <functional>
#include <mutex>
#include <utility>

#include "db/postgres_connection.h"
#include "db/postgres_event_log.h"
#include "db/postgres_job_listener.h"
#include "db/postgres_job_queue.h"
#include "db/postgres_notification_repository.h"
#include "db/postgres_schema.h"
#include "db/postgres_user_repository.h"
#include "db/postgres_video_repository.h"
#include "db/search_tokens.h"

namespace vs::db {
namespace {

using internal::PgConn;
using internal::PgPool;

class PostgresDatabase final : public Database {
 public:
  PostgresDatabase(std::string url, const Clock& clock, PostgresOptions options,
                   std::unique_ptr<internal::SearchTokenizer> tokenizer)
      : url_(std::move(url)),
        options_(options),
        tokenizer_(std::move(tokenizer)),
        pool_(url_, options_),
        videos_(pool_, clock, *tokenizer_),
        notifications_(pool_, clock),
        jobs_(pool_, clock),
        events_(pool_, clock),
        users_(pool_, clock),
        sessions_(pool_) {}
  ~PostgresDatabase() override { StopJobListener(); }

  Status Init() {
    // The first connection also proves the URL and credentials.
    VS_ASSIGN_OR_RETURN(int version, pool_.Run([](PgConn& c) {
      return internal::MigratePostgres(c, internal::PostgresMigrations());
    }));
    schema_version_ = version;
    return {};
  }

  VideoRepository& videos() override { return videos_; }
  NotificationRepository& notifications() override { return notifications_; }
  JobQueue& jobs() override { return jobs_; }
  EventLog& events() override { return events_; }
  UserRepository& users() override { return users_; }
  SessionRepository& sessions() override { return sessions_; }
  int schema_version() override { return schema_version_; }

  Status Ping() override {
    return pool_.Read([](PgConn& c) -> Status {
      VS_TRY(c.Exec("SELECT 1"));
      return {};
    });
  }

  void StartJobListener(std::function<void()> on_job) override {
    std::lock_guard lock(listener_mu_);
    listener_.reset();  // the old one stops before the new one starts
    listener_ = std::make_unique<internal::PgJobListener>(url_, options_, std::move(on_job));
  }

  void StopJobListener() override {
    std::lock_guard lock(listener_mu_);
    listener_.reset();
  }

 private:
  const std::string url_;
  const PostgresOptions options_;
  std::unique_ptr<internal::SearchTokenizer> tokenizer_;
  PgPool pool_;
  internal::PgVideoRepository videos_;
  internal::PgNotificationRepository notifications_;
  internal::PgJobQueue jobs_;
  internal::PgEventLog events_;
  internal::PgUserRepository users_;
  internal::PgSessionRepository sessions_;
  int schema_version_ = 0;  // written once, before the database is handed out
  std::mutex listener_mu_;
  std::unique_ptr<internal::PgJobListener> listener_;
};

}  // namespace

Result<std::unique_ptr<Database>> OpenPostgres(const std::string& url, const Clock& clock,
                                               PostgresOptions options) {
  Result<std::unique_ptr<internal::SearchTokenizer>> tokenizer =
      internal::SearchTokenizer::Create();
  if (!tokenizer.ok()) return tokenizer.error();
  auto db = std::make_unique<PostgresDatabase>(url, clock, options, std::move(*tokenizer));
  Status s = db->Init();
  if (!s.ok()) return s.error();
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace vs::db
