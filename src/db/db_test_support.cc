#include "db/db_test_support.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>

#include "postgres_server.h"

namespace vs::db::test {
namespace {

// Starts the shared server when a selected test will use it, and stops it
// after the last test.
class PostgresEnvironment final : public ::testing::Environment {
 public:
  void SetUp() override {
    const ::testing::UnitTest& unit = *::testing::UnitTest::GetInstance();
    bool needed = false;
    for (int i = 0; i < unit.total_test_suite_count() && !needed; ++i) {
      const ::testing::TestSuite& suite = *unit.GetTestSuite(i);
      for (int j = 0; j < suite.total_test_count() && !needed; ++j) {
        const ::testing::TestInfo& info = *suite.GetTestInfo(j);
        const std::string name = std::string(info.test_suite_name()) + "." + info.name();
        needed = info.should_run() && name.find("Postgres") != std::string::npos;
      }
    }
    if (needed) status_ = vs::testing::SharedPostgresServer().Start();
  }
  void TearDown() override { vs::testing::SharedPostgresServer().Stop(); }

  static const Status& status() { return status_; }

 private:
  static inline Status status_ = MakeError("service_unavailable", "PostgreSQL was not started");
};

[[maybe_unused]] ::testing::Environment* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new PostgresEnvironment);

}  // namespace

std::string Id(int n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%024x", n);
  return buf;
}

Video MakeVideo(const std::string& id, const std::string& title, int64_t created_at_ms,
                VideoStatus status) {
  Video v;
  v.id = id;
  v.title = title;
  v.file_name = "clip.mov";
  v.file_type = "video/quicktime";
  v.file_size = 1234;
  v.status = status;
  v.created_at_ms = created_at_ms;
  v.updated_at_ms = created_at_ms;
  return v;
}

StatusPatch ErrorPatch(const std::string& message) {
  StatusPatch p;
  p.error_message = message;
  return p;
}

StatusPatch ProgressPatch(double progress) {
  StatusPatch p;
  p.progress = progress;
  return p;
}

std::vector<std::string> Ids(const std::vector<Video>& videos) {
  std::vector<std::string> out;
  for (const Video& v : videos) out.push_back(v.id);
  return out;
}

int64_t Enqueue(Database& db, const std::string& id, int64_t now) {
  Status created = db.videos().Create(MakeVideo(id, "t " + id, now));
  EXPECT_TRUE(created.ok()) << created.error().message;
  auto r = db.videos().ConfirmUpload(id, "");
  EXPECT_TRUE(r.ok() && r->has_value() && (*r)->enqueued);
  auto job = db.jobs().LatestForVideo(id);
  EXPECT_TRUE(job.ok() && job->has_value());
  return job.ok() && job->has_value() ? (*job)->id : 0;
}

std::map<int64_t, int> ClaimAllConcurrently(const std::vector<Database*>& dbs, int threads) {
  std::mutex mu;
  std::map<int64_t, int> claims;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      Database& db = *dbs[static_cast<size_t>(t) % dbs.size()];
      const std::string worker = "worker-" + std::to_string(t);
      while (true) {
        auto c = db.jobs().Claim(worker, 600'000);
        ASSERT_TRUE(c.ok()) << c.error().message;
        if (!c->has_value()) return;
        {
          std::lock_guard lock(mu);
          ++claims[(*c)->id];
        }
        auto hb = db.jobs().Heartbeat((*c)->id, worker, 600'000);
        ASSERT_TRUE(hb.ok() && *hb) << "the claimer owns its job";
        auto done = db.jobs().Complete((*c)->id, worker);
        ASSERT_TRUE(done.ok() && *done);
      }
    });
  }
  for (auto& w : workers) w.join();
  return claims;
}

std::string FreshPostgresDatabase() {
  const Status& started = PostgresEnvironment::status();
  if (!started.ok()) {
    ADD_FAILURE() << "PostgreSQL test server unavailable: " << started.error().message;
    return "";
  }
  static std::atomic<int> next{0};
  Result<std::string> url =
      vs::testing::SharedPostgresServer().CreateDatabase("t" + std::to_string(++next));
  if (!url.ok()) {
    ADD_FAILURE() << url.error().message;
    return "";
  }
  return *url;
}

void StopPostgres() { vs::testing::SharedPostgresServer().Stop(); }

void StartPostgres() {
  Status s = vs::testing::SharedPostgresServer().Start();
  EXPECT_TRUE(s.ok()) << s.error().message;
}

std::string PgQuery(const std::string& url, const std::string& sql) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(url.c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    ADD_FAILURE() << "connect: " << PQerrorMessage(conn.get());
    return "";
  }
  std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(conn.get(), sql.c_str()), &PQclear);
  const ExecStatusType st = PQresultStatus(r.get());
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    ADD_FAILURE() << sql << ": " << PQresultErrorMessage(r.get());
    return "";
  }
  if (PQntuples(r.get()) == 0 || PQnfields(r.get()) == 0) return "";
  return PQgetvalue(r.get(), 0, 0);
}

}  // namespace vs::db::test
