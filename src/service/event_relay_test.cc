// The outbox and the relay over a real SQLite file opened twice, as the
// worker process and the server process would.
#include "service/event_relay.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "db/sqlite_database.h"

namespace vs::service {
namespace {

namespace fs = std::filesystem;

class EventRelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::path(::testing::TempDir()) / "vs_relay_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    worker_db_ = Open();
    server_db_ = Open();
    server_bus_.Subscribe([this](const Event& e) {
      std::lock_guard lock(mu_);
      received_.push_back(e);
    });
  }
  void TearDown() override {
    worker_db_.reset();
    server_db_.reset();
    fs::remove_all(dir_);
  }
  std::unique_ptr<db::SqliteDatabase> Open() {
    auto db = db::SqliteDatabase::Open(dir_ + "/visionsync.db", clock_);
    EXPECT_TRUE(db.ok());
    return db.ok() ? std::move(*db) : nullptr;
  }
  std::vector<Event> Received() {
    std::lock_guard lock(mu_);
    return received_;
  }

  FakeClock clock_;
  std::string dir_;
  std::unique_ptr<db::SqliteDatabase> worker_db_, server_db_;
  EventBus worker_bus_, server_bus_;
  std::mutex mu_;
  std::vector<Event> received_;
};

TEST_F(EventRelayTest, WorkerEventsReachTheServerBusInOrderOnce) {
  // Written before the relay started: history, not relayed.
  ASSERT_TRUE(worker_db_->events().Append("old-process", Event{"video-status", "v0", "{}"}).ok());

  EventOutbox outbox(worker_db_->events(), worker_bus_, clock_, "worker-1");
  EventRelay relay(server_db_->events(), server_bus_, "server-1", 20);
  relay.Start();
  for (int i = 1; i <= 5; ++i)
    worker_bus_.Publish(Event{"processing-progress", "v1", "{\"progress\":" + std::to_string(i * 10) + "}"});
  worker_bus_.Publish(Event{"video-status", "v1", "{\"status\":\"READY\"}"});
  // The server's own events are in the log only if it appended them; one
  // appended with its own origin must not come back to it.
  ASSERT_TRUE(server_db_->events().Append("server-1", Event{"video-status", "v1", "{\"own\":true}"}).ok());

  for (int i = 0; i < 200 && Received().size() < 6; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  relay.Stop();
  std::vector<Event> got = Received();
  ASSERT_EQ(got.size(), 6u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(got[i].name, "processing-progress");
    EXPECT_EQ(got[i].video_id, "v1");
    EXPECT_EQ(got[i].payload, "{\"progress\":" + std::to_string((i + 1) * 10) + "}");
  }
  EXPECT_EQ(got[5].payload, "{\"status\":\"READY\"}");
  EXPECT_EQ(relay.PollOnce(), 0);  // nothing new, nothing twice
  EXPECT_EQ(Received().size(), 6u);
}

TEST_F(EventRelayTest, OutboxPrunesOldRows) {
  ASSERT_TRUE(worker_db_->events().Append("w", Event{"video-status", "old", "{}"}).ok());
  clock_.Advance(11 * 60 * 1000);  // older than the default 10 minutes
  EventOutbox outbox(worker_db_->events(), worker_bus_, clock_, "w");
  worker_bus_.Publish(Event{"video-status", "new", "{}"});  // the first append prunes
  auto rows = server_db_->events().After(0, 100);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].event.video_id, "new");
  auto last = server_db_->events().LastId();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, (*rows)[0].id);
}

TEST_F(EventRelayTest, LargeBacklogsArriveWhole) {
  EventRelay relay(server_db_->events(), server_bus_, "server", 10'000);
  relay.Start();  // long interval: only full batches may skip the pause
  for (int i = 0; i < 1200; ++i)
    ASSERT_TRUE(worker_db_->events().Append("w", Event{"processing-progress", "v", std::to_string(i)}).ok());
  for (int i = 0; i < 1200 / 500 + 1; ++i) relay.PollOnce();
  relay.Stop();
  std::vector<Event> got = Received();
  ASSERT_EQ(got.size(), 1200u);
  for (int i = 0; i < 1200; ++i) ASSERT_EQ(got[i].payload, std::to_string(i));
}

}  // namespace
}  // namespace vs::service
