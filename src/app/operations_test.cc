#include "app/operations.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "db/sqlite_database.h"

namespace vs::app {
namespace {

namespace fs = std::filesystem;

class OperationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.Set(1'700'000'000'000);
    auto db = db::SqliteDatabase::Open(":memory:", clock_);
    ASSERT_TRUE(db.ok());
    db_ = std::move(*db);
  }
  // A video with a confirmed upload: one queued job.
  void Enqueue(const std::string& id) {
    Video v;
    v.id = id;
    v.status = VideoStatus::kUploading;
    ASSERT_TRUE(db_->videos().Create(v).ok());
    auto r = db_->videos().ConfirmUpload(id, "");
    ASSERT_TRUE(r.ok() && r->has_value());
  }

  FakeClock clock_;
  std::unique_ptr<db::SqliteDatabase> db_;
};

TEST_F(OperationsTest, QueueGaugesAreReadAtEveryScrape) {
  metrics::Registry registry;
  AddQueueMetrics(registry, db_->jobs(), clock_);
  EXPECT_NE(registry.Render().find("visionsync_jobs{state=\"queued\"} 0\n"), std::string::npos);

  Enqueue("aaaaaaaaaaaaaaaaaaaaaaaa");
  clock_.Advance(5000);
  Enqueue("bbbbbbbbbbbbbbbbbbbbbbbb");
  ASSERT_TRUE(db_->jobs().Claim("w", 1000)->has_value());  // the older one runs
  clock_.Advance(2000);                                     // its lease ran out 1 s ago
  const std::string text = registry.Render();
  EXPECT_NE(text.find("visionsync_jobs{state=\"queued\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("visionsync_jobs{state=\"running\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("visionsync_job_oldest_age_seconds{state=\"queued\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("visionsync_job_oldest_age_seconds{state=\"running\"} 7\n"), std::string::npos);
  EXPECT_NE(text.find("visionsync_job_expired_leases 1\n"), std::string::npos);
  EXPECT_NE(text.find("visionsync_job_queue_up 1\n"), std::string::npos);
}

TEST_F(OperationsTest, BreakerGaugesShowTheCurrentState) {
  metrics::Registry registry;
  auto b = std::make_shared<resilience::CircuitBreaker>("database", resilience::BreakerOptions{2, 1000}, clock_);
  AddBreakerMetrics(registry, {b});
  EXPECT_NE(registry.Render().find("visionsync_circuit_breaker_state{dependency=\"database\",state=\"closed\"} 1\n"),
            std::string::npos);
  b->RecordFailure();
  b->RecordFailure();
  const std::string text = registry.Render();
  EXPECT_NE(text.find("{dependency=\"database\",state=\"open\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("{dependency=\"database\",state=\"closed\"} 0\n"), std::string::npos);
}

TEST_F(OperationsTest, StuckJobsAreLoggedOnlyPastTheLimit) {
  std::vector<std::string> logged;
  StuckJobWatch watch(db_->jobs(), clock_, 60'000, [&](const std::string& m) { logged.push_back(m); });
  EXPECT_EQ(watch.CheckOnce(), "");
  Enqueue("aaaaaaaaaaaaaaaaaaaaaaaa");
  clock_.Advance(60'000);
  EXPECT_EQ(watch.CheckOnce(), "");
  clock_.Advance(1000);
  const std::string msg = watch.CheckOnce();
  EXPECT_NE(msg.find("the oldest queued job is 61 s old"), std::string::npos) << msg;
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_EQ(logged[0], msg);
}

TEST_F(OperationsTest, ReadinessNamesEachDependency) {
  const std::string root = ::testing::TempDir() + "/vs_ops_store";
  fs::remove_all(root);
  auto store = store::NewLocalStore(root);
  ASSERT_TRUE(store.ok());
  auto checks = ReadinessChecks(*db_, **store, nullptr);
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[0].name, "database");
  EXPECT_TRUE(checks[0].check().ok());
  EXPECT_EQ(checks[1].name, "storage");
  EXPECT_TRUE(checks[1].check().ok());
  fs::remove_all(root);
}

}  // namespace
}  // namespace vs::app
