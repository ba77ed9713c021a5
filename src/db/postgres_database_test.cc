// PostgreSQL-specific behaviour: concurrent migrations, claimers on many
// connections, the LISTEN/NOTIFY wake-up, recovery after a server restart,
// timeouts. The repository behaviour both adapters share is tested in
// repository_contract_test.cc.
#include "db/postgres_database.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "db/db_test_support.h"
#include "db/postgres_connection.h"
#include "db/postgres_schema.h"
#include "db/postgres_video_repository.h"

namespace vs::db {
namespace {

using namespace std::chrono_literals;
using test::Id;
using test::kT0;
using test::MakeVideo;

// Counts on_job calls and lets a test wait for the next one.
class WakeCounter {
 public:
  std::function<void()> Callback() {
    return [this] {
      std::lock_guard lock(mu_);
      ++count_;
      cv_.notify_all();
    };
  }
  int count() {
    std::lock_guard lock(mu_);
    return count_;
  }
  // True when the count exceeds `seen` within `timeout`.
  bool WaitBeyond(int seen, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return count_ > seen; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int count_ = 0;
};

class PostgresDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = test::FreshPostgresDatabase();
    ASSERT_FALSE(url_.empty());
  }

  std::unique_ptr<Database> Open(PostgresOptions options = {}) {
    auto db = OpenPostgres(url_, clock_, options);
    EXPECT_TRUE(db.ok()) << (db.ok() ? "" : db.error().message);
    return db.ok() ? std::move(db).value() : nullptr;
  }

  FakeClock clock_{kT0};
  std::string url_;
};

// A libpq connection of the test's own, to hold locks the adapter must meet.
class RawConn {
 public:
  explicit RawConn(const std::string& url) : c_(PQconnectdb(url.c_str())) {
    EXPECT_EQ(PQstatus(c_), CONNECTION_OK) << PQerrorMessage(c_);
  }
  ~RawConn() { PQfinish(c_); }
  void Exec(const char* sql) {
    PGresult* r = PQexec(c_, sql);
    const ExecStatusType st = PQresultStatus(r);
    EXPECT_TRUE(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        << sql << ": " << PQresultErrorMessage(r);
    PQclear(r);
  }

 private:
  PGconn* c_;
};

// ---------------------------------------------------------------- opening

TEST_F(PostgresDatabaseTest, ManyProcessesOpeningAtOnceMigrateExactlyOnce) {
  constexpr int kOpeners = 8;
  std::vector<std::unique_ptr<Database>> dbs(kOpeners);
  std::vector<std::thread> threads;
  std::atomic<bool> go{false};
  for (int i = 0; i < kOpeners; ++i) {
    threads.emplace_back([&, i] {
      while (!go) std::this_thread::yield();
      auto db = OpenPostgres(url_, clock_);
      ASSERT_TRUE(db.ok()) << db.error().message;
      dbs[i] = std::move(*db);
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  const int want = static_cast<int>(internal::PostgresMigrations().size());
  for (auto& db : dbs) {
    ASSERT_NE(db, nullptr);
    EXPECT_EQ(db->schema_version(), want);
  }
  EXPECT_EQ(test::PgQuery(url_, "SELECT COUNT(*) FROM schema_migrations"), std::to_string(want));
  EXPECT_EQ(test::PgQuery(url_, "SELECT MAX(version) FROM schema_migrations"),
            std::to_string(want));
  // And every opener works on the one schema.
  ASSERT_TRUE(dbs[0]->videos().Create(MakeVideo(Id(1), "shared", kT0)).ok());
  EXPECT_TRUE(dbs[kOpeners - 1]->videos().Get(Id(1))->has_value());
}

TEST_F(PostgresDatabaseTest, MigrateAppliesOnlyMissingStepsAndRollsBackFailures) {
  auto conn = internal::ConnectPg(url_, PostgresOptions{});
  ASSERT_TRUE(conn.ok()) << conn.error().message;
  internal::PgConn& c = **conn;
  // Re-running step 1 would fail (the table exists), so passing proves it is skipped.
  const internal::PgMigration m1 = {{"CREATE TABLE a (x integer)"}};
  const internal::PgMigration m2 = {{"CREATE TABLE b (y integer)", "INSERT INTO a VALUES (1)"}};
  const internal::PgMigration bad = {
      {"CREATE TABLE c (z integer)", "INSERT INTO nowhere VALUES (1)"}};

  auto v = internal::MigratePostgres(c, {m1});
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(*v, 1);
  v = internal::MigratePostgres(c, {m1, m2});
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(*v, 2);
  v = internal::MigratePostgres(c, {m1, m2});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 2);
  EXPECT_EQ(test::PgQuery(url_, "SELECT COUNT(*) FROM a"), "1");

  v = internal::MigratePostgres(c, {m1, m2, bad});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, kDbError);
  EXPECT_NE(v.error().message.find("migration 3"), std::string::npos) << v.error().message;
  EXPECT_EQ(test::PgQuery(url_, "SELECT MAX(version) FROM schema_migrations"), "2");
  EXPECT_EQ(test::PgQuery(url_, "SELECT COUNT(*) FROM pg_tables WHERE tablename = 'c'"), "0");
  // The advisory lock was released: another migrator does not wait forever.
  auto other = internal::ConnectPg(url_, PostgresOptions{});
  ASSERT_TRUE(other.ok());
  v = internal::MigratePostgres(**other, {m1, m2});
  ASSERT_TRUE(v.ok()) << v.error().message;

  v = internal::MigratePostgres(c, {m1});
  ASSERT_FALSE(v.ok());  // the database is newer than this list
}

TEST_F(PostgresDatabaseTest, OpenReportsAnUnreachableServerOrMissingDatabaseAsDbError) {
  PostgresOptions quick;
  quick.connect_timeout_ms = 1000;
  // A port nothing listens on (the shared server's port plus one is not ours
  // to rely on, so ask the kernel for a free one).
  for (const std::string& url :
       {std::string("postgresql://postgres@127.0.0.1:1/visionsync"),
        url_.substr(0, url_.rfind('/')) + "/no_such_database", std::string("not a url ://")}) {
    auto db = OpenPostgres(url, clock_, quick);
    ASSERT_FALSE(db.ok()) << url;
    EXPECT_EQ(db.error().code, kDbError);
    EXPECT_NE(db.error().message.find("postgres"), std::string::npos) << db.error().message;
  }
}

// ---------------------------------------------------------------- job queue

TEST_F(PostgresDatabaseTest, ConcurrentClaimersOnManyConnectionsNeverShareAJob) {
  constexpr int kJobs = 80;
  PostgresOptions small;
  small.pool_size = 2;  // more threads than connections: borrowers queue
  std::vector<std::unique_ptr<Database>> dbs;
  for (int i = 0; i < 3; ++i) {
    dbs.push_back(Open(small));
    ASSERT_NE(dbs.back(), nullptr);
  }
  for (int i = 1; i <= kJobs; ++i) test::Enqueue(*dbs[0], Id(i), clock_.NowMs());

  const std::map<int64_t, int> claims =
      test::ClaimAllConcurrently({dbs[0].get(), dbs[1].get(), dbs[2].get()}, 9);
  EXPECT_EQ(claims.size(), static_cast<size_t>(kJobs));
  for (auto& [id, n] : claims) EXPECT_EQ(n, 1) << "job " << id;
  EXPECT_EQ(test::PgQuery(url_, "SELECT COUNT(*) FROM jobs WHERE state = 'done'"),
            std::to_string(kJobs));
}

// ---------------------------------------------------------------- wake-up

TEST_F(PostgresDatabaseTest, ConfirmUploadWakesAListenerInAnotherProcessAtOnce) {
  std::unique_ptr<Database> api = Open();     // confirms uploads
  std::unique_ptr<Database> worker = Open();  // listens
  ASSERT_TRUE(api && worker);
  WakeCounter wakes;
  worker->StartJobListener(wakes.Callback());
  // The first call says the listener is live (LISTEN done).
  ASSERT_TRUE(wakes.WaitBeyond(0, 10s)) << "the listener never connected";

  int seen = wakes.count();
  ASSERT_TRUE(api->videos().Create(MakeVideo(Id(1), "v", kT0)).ok());
  EXPECT_FALSE(wakes.WaitBeyond(seen, 200ms)) << "creating a video queues no job";
  ASSERT_TRUE((*api->videos().ConfirmUpload(Id(1), ""))->enqueued);
  EXPECT_TRUE(wakes.WaitBeyond(seen, 1s)) << "no wake-up within a second of ConfirmUpload";

  // Handing a job back makes it claimable again: another wake-up.
  auto job = worker->jobs().Claim("w1", 60'000);
  ASSERT_TRUE(job.ok() && job->has_value());
  seen = wakes.count();
  ASSERT_TRUE(*worker->jobs().Release((*job)->id, "w1"));
  EXPECT_TRUE(wakes.WaitBeyond(seen, 1s)) << "no wake-up after Release";

  worker->StopJobListener();
  seen = wakes.count();
  ASSERT_TRUE(api->videos().Create(MakeVideo(Id(2), "v", kT0)).ok());
  ASSERT_TRUE((*api->videos().ConfirmUpload(Id(2), ""))->enqueued);
  EXPECT_FALSE(wakes.WaitBeyond(seen, 300ms)) << "called after StopJobListener";
  worker->StopJobListener();  // idempotent
}

// ---------------------------------------------------------------- failures

TEST_F(PostgresDatabaseTest, RecoversOnTheSameObjectAfterTheServerRestarts) {
  std::unique_ptr<Database> db = Open();
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->videos().Create(MakeVideo(Id(1), "survivor", kT0)).ok());
  WakeCounter wakes;
  db->StartJobListener(wakes.Callback());
  ASSERT_TRUE(wakes.WaitBeyond(0, 10s));

  test::StopPostgres();
  // Every pooled connection is broken now; each call fails as a value.
  for (int i = 0; i < 6; ++i) {
    Status ping = db->Ping();
    ASSERT_FALSE(ping.ok());
    EXPECT_EQ(ping.error().code, kDbError);
    auto got = db->videos().Get(Id(1));
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.error().code, kDbError);
    auto claim = db->jobs().Claim("w", 1000);
    ASSERT_FALSE(claim.ok());
    EXPECT_EQ(claim.error().code, kDbError);
  }
  const int before_restart = wakes.count();
  test::StartPostgres();

  // The same object, no reopen: calls succeed again once the pool notices.
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (!db->Ping().ok() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(db->Ping().ok());
  for (int i = 0; i < 8; ++i) {  // more calls than pooled connections
    auto got = db->videos().Get(Id(1));
    ASSERT_TRUE(got.ok()) << got.error().message;
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ((*got)->title, "survivor");
  }
  // The listener reconnected by itself (and said so), and hears new jobs.
  ASSERT_TRUE(wakes.WaitBeyond(before_restart, 15s)) << "the listener did not reconnect";
  const int seen = wakes.count();
  auto confirmed = db->videos().ConfirmUpload(Id(1), "");
  ASSERT_TRUE(confirmed.ok()) << confirmed.error().message;
  EXPECT_TRUE(wakes.WaitBeyond(seen, 1s));
}

// A write outside a transaction that meets a dead connection fails (whether
// it ran is unknown); reads and transactions are retried on a fresh one.
TEST_F(PostgresDatabaseTest, AConnectionTheServerEndedIsReplacedOnItsNextUse) {
  PostgresOptions one;
  one.pool_size = 1;  // the next call must get the very connection that was ended
  std::unique_ptr<Database> db = Open(one);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->videos().Create(MakeVideo(Id(1), "v", kT0)).ok());
  auto end_pooled_session = [&] {
    EXPECT_EQ(test::PgQuery(url_,
                            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                            "AND application_name = 'visionsync'"),
              "1");
  };
  // A read runs again on a fresh connection.
  end_pooled_session();
  auto got = db->videos().Get(Id(1));
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_TRUE(got->has_value());
  // So does a transaction whose BEGIN met the dead connection.
  end_pooled_session();
  auto confirmed = db->videos().ConfirmUpload(Id(1), "");
  ASSERT_TRUE(confirmed.ok()) << confirmed.error().message;
  EXPECT_TRUE((*confirmed)->enqueued);
}

TEST_F(PostgresDatabaseTest, StatementTimeoutBoundsAWaitForALockedRow) {
  PostgresOptions options;
  options.statement_timeout_ms = 300;
  std::unique_ptr<Database> db = Open(options);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->videos().Create(MakeVideo(Id(1), "v", kT0)).ok());

  RawConn holder(url_);
  holder.Exec("BEGIN");
  holder.Exec("SELECT id FROM videos FOR UPDATE");
  auto r = db->videos().UpdateMetadata(Id(1), std::string("x"), std::nullopt, std::nullopt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kDbError);
  EXPECT_NE(r.error().message.find("statement timeout"), std::string::npos) << r.error().message;
  holder.Exec("ROLLBACK");

  // The connection that timed out is fine for the next call.
  auto again = db->videos().UpdateMetadata(Id(1), std::string("x"), std::nullopt, std::nullopt);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ((*again)->title, "x");
}

TEST_F(PostgresDatabaseTest, TextThatPostgresCannotStoreIsADbErrorNotATruncation) {
  std::unique_ptr<Database> db = Open();
  ASSERT_NE(db, nullptr);
  Status s = db->videos().Create(MakeVideo(Id(1), std::string("nul\0byte", 8), kT0));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, kDbError);
  EXPECT_FALSE(db->videos().Get(Id(1))->has_value());
  s = db->videos().Create(MakeVideo(Id(2), "bad utf-8 \xff", kT0));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, kDbError);
}

// ---------------------------------------------------------------- search text

TEST(PostgresSearchTextTest, LexemesAreQuotedAndQueriesArePrefixesOfAll) {
  EXPECT_EQ(internal::TsVectorText({"cafe", "it's", "a\\b"}), "'cafe' 'it''s' 'a\\\\b'");
  EXPECT_EQ(internal::TsQueryText({"cafe", "it's"}), "'cafe':* & 'it''s':*");
  EXPECT_EQ(internal::TsQueryText({}), "");
  EXPECT_EQ(internal::TsVectorText({}), "");
  // Over-long lexemes are cut (on a character boundary) rather than refused.
  std::string longest = internal::TsVectorText({std::string(3000, 'x')});
  EXPECT_EQ(longest.size(), 2046u + 2);
  std::string wide;
  for (int i = 0; i < 1100; ++i) wide += "\xc3\xa9";  // 2200 bytes of é
  std::string cut = internal::TsVectorText({wide});
  EXPECT_EQ((cut.size() - 2) % 2, 0u) << "cut inside a character";
}

}  // namespace
}  // namespace vs::db
