#include "redis/event_fanout.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "redis_server.h"

namespace vs::redis {
namespace {

using std::chrono::milliseconds;

// Records what a delivery bus publishes.
class Collector {
 public:
  explicit Collector(EventBus& bus) : bus_(bus) {
    id_ = bus_.Subscribe([this](const Event& e) {
      std::lock_guard lock(mu_);
      events_.push_back(e);
      cv_.notify_all();
    });
  }
  ~Collector() { bus_.Unsubscribe(id_); }

  // Waits (up to 10 s) until at least n events arrived; returns them all.
  std::vector<Event> WaitFor(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return events_.size() >= n; });
    return events_;
  }
  std::vector<Event> events() {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  EventBus& bus_;
  int id_ = -1;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Event> events_;
};

template <typename Pred>
bool WaitUntil(Pred pred, int timeout_ms = 10000) {
  const auto deadline = std::chrono::steady_clock::now() + milliseconds(timeout_ms);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

Event Progress(const std::string& video, int percent) {
  return Event{"processing-progress", video, "{\"progress\":" + std::to_string(percent) + "}"};
}

// One "process": its own buses and fanout on the shared Redis.
struct Process {
  Process(const RedisOptions& redis, const Clock& clock, FanoutOptions options = {},
          bool serves_clients = true)
      : seen(delivery),
        fanout(redis, origin, serves_clients ? &delivery : nullptr, clock, options) {}
  // Declared so that the fanout (and its threads) goes first.
  EventBus origin;
  EventBus delivery;
  Collector seen;
  RedisEventFanout fanout;
};

// Fanout options that resubscribe quickly after an outage.
FanoutOptions QuickResubscribe() {
  FanoutOptions o;
  o.resubscribe_backoff_ms = 20;
  o.max_resubscribe_backoff_ms = 200;
  return o;
}

std::vector<std::string> Payloads(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const Event& e : events) out.push_back(e.payload);
  return out;
}

std::vector<std::string> ProgressPayloads(const std::string& video, std::vector<int> percents) {
  std::vector<std::string> out;
  for (int p : percents) out.push_back(Progress(video, p).payload);
  return out;
}

std::vector<Event> OfVideo(const std::vector<Event>& events, const std::string& video_id) {
  std::vector<Event> out;
  for (const Event& e : events) {
    if (e.video_id == video_id) out.push_back(e);
  }
  return out;
}

// After an outage the publisher's client may still be in its reconnect
// backoff (events meanwhile are delivered locally): publishes probes on
// another video until one goes through Redis.
bool WaitUntilPublishing(Process& p) {
  const uint64_t before = p.fanout.stats().published;
  return WaitUntil([&] {
    if (p.fanout.stats().published > before) return true;
    p.origin.Publish(Progress("probe", 0));
    return false;
  });
}

class RedisEventFanoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status s = server().Start();
    ASSERT_TRUE(s.ok()) << s.error().message;
    auto o = ParseRedisUrl(server().url());
    ASSERT_TRUE(o.ok());
    redis_ = *o;
    redis_.connect_timeout_ms = 2000;
    redis_.command_timeout_ms = 2000;
    redis_.reconnect_backoff_ms = 20;
    redis_.max_reconnect_backoff_ms = 100;
    ASSERT_TRUE(RedisClient(redis_).Command({"FLUSHALL"}).ok());
  }

  static testing::RedisServer& server() { return testing::SharedRedisServer(); }

  // Starts the processes and waits until each one that serves clients is
  // subscribed, so that nothing published afterwards can be missed.
  static void StartAll(std::initializer_list<Process*> ps) {
    for (Process* p : ps) p->fanout.Start();
    for (Process* p : ps) {
      ASSERT_TRUE(WaitUntil([&] { return p->fanout.subscribed(); }));
    }
  }

  RedisOptions redis_;
  FakeClock clock_;
};

TEST_F(RedisEventFanoutTest, EventsReachEveryProcessInOrderWithOneNumbering) {
  Process a(redis_, clock_), b(redis_, clock_);
  StartAll({&a, &b});
  constexpr int kEvents = 50;
  for (int i = 0; i < kEvents; ++i) a.origin.Publish(Progress("v1", i));

  for (Process* p : {&a, &b}) {
    std::vector<Event> got = p->seen.WaitFor(kEvents);
    ASSERT_EQ(got.size(), static_cast<size_t>(kEvents));
    for (int i = 0; i < kEvents; ++i) {
      EXPECT_EQ(got[i].name, "processing-progress");
      EXPECT_EQ(got[i].video_id, "v1");
      EXPECT_EQ(got[i].payload, Progress("v1", i).payload);
      EXPECT_EQ(got[i].timestamp_ms, clock_.NowMs());
      if (i > 0) {
        EXPECT_EQ(got[i].seq, got[i - 1].seq + 1) << i;
      }
    }
    EXPECT_GT(got[0].seq, 0u);
  }
  // Both processes saw the same numbers.
  EXPECT_EQ(a.seen.events().back().seq, b.seen.events().back().seq);
  // (The counter moves after the script's reply, possibly after delivery.)
  EXPECT_TRUE(WaitUntil([&] { return a.fanout.stats().published == kEvents; }));
  EXPECT_EQ(a.fanout.stats().published_local, 0u);
}

TEST_F(RedisEventFanoutTest, NumberingContinuesAcrossPublishers) {
  Process a(redis_, clock_), b(redis_, clock_);
  Process worker(redis_, clock_, {}, /*serves_clients=*/false);
  StartAll({&a, &b});
  worker.fanout.Start();
  a.origin.Publish(Progress("v1", 1));
  ASSERT_EQ(b.seen.WaitFor(1).size(), 1u);
  b.origin.Publish(Progress("v1", 2));
  ASSERT_EQ(b.seen.WaitFor(2).size(), 2u);
  worker.origin.Publish(Progress("v1", 3));
  ASSERT_EQ(b.seen.WaitFor(3).size(), 3u);
  a.origin.Publish(Progress("v2", 1));  // another video has its own counter

  std::vector<Event> got = b.seen.WaitFor(4);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[1].seq, got[0].seq + 1);
  EXPECT_EQ(got[2].seq, got[1].seq + 1);
  EXPECT_EQ(got[2].payload, Progress("v1", 3).payload);
  EXPECT_EQ(got[3].video_id, "v2");
  EXPECT_TRUE(worker.seen.events().empty());  // no delivery bus, nothing delivered
}

TEST_F(RedisEventFanoutTest, KeepsTheTimestampTheEventCameWith) {
  Process a(redis_, clock_);
  StartAll({&a});
  Event e = Progress("v1", 7);
  e.timestamp_ms = 1234;
  e.seq = 99;  // a publisher's seq means nothing: Redis numbers the event
  a.origin.Publish(e);
  std::vector<Event> got = a.seen.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].timestamp_ms, 1234);
  EXPECT_NE(got[0].seq, 99u);
}

TEST_F(RedisEventFanoutTest, RecentReturnsTheLastEventsOldestFirst) {
  Process a(redis_, clock_), b(redis_, clock_);
  StartAll({&a, &b});
  for (int i = 0; i < 25; ++i) {
    clock_.Advance(1);
    a.origin.Publish(Progress("v1", i));
  }
  std::vector<Event> live = a.seen.WaitFor(25);
  ASSERT_EQ(live.size(), 25u);

  auto recent = b.fanout.Recent("v1");  // another process asks
  ASSERT_TRUE(recent.ok()) << recent.error().message;
  ASSERT_EQ(recent->size(), 20u);
  for (size_t i = 0; i < 20; ++i) {
    const Event& want = live[i + 5];
    EXPECT_EQ((*recent)[i].seq, want.seq);
    EXPECT_EQ((*recent)[i].payload, want.payload);
    EXPECT_EQ((*recent)[i].timestamp_ms, want.timestamp_ms);
    EXPECT_EQ((*recent)[i].name, want.name);
    EXPECT_EQ((*recent)[i].video_id, "v1");
  }
  auto none = b.fanout.Recent("never-published");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(RedisEventFanoutTest, ForeignMessagesOnTheChannelAreIgnored) {
  Process a(redis_, clock_);
  StartAll({&a});
  RedisClient c(redis_);
  for (const char* junk :
       {"", "hello", "0,1:1", "5,1:12:ab", "7,x:1", "3,1:15:name2:v12:{}trailing"}) {
    ASSERT_TRUE(c.Command({"PUBLISH", "vs:events", junk}).ok());
  }
  a.origin.Publish(Progress("v1", 1));
  std::vector<Event> got = a.seen.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, Progress("v1", 1).payload);
  EXPECT_EQ(a.fanout.stats().malformed, 6u);
}

TEST_F(RedisEventFanoutTest, ReplayBufferExpires) {
  FanoutOptions o;
  o.replay_ttl_ms = 5000;
  Process a(redis_, clock_, o);
  StartAll({&a});
  a.origin.Publish(Progress("v1", 1));
  ASSERT_EQ(a.seen.WaitFor(1).size(), 1u);
  RedisClient c(redis_);
  for (const char* key : {"vs:ev:v1", "vs:seq:v1"}) {
    auto ttl = c.Command({"PTTL", key});
    ASSERT_TRUE(ttl.ok());
    EXPECT_GT(ttl->integer, 0) << key;
    EXPECT_LE(ttl->integer, 5000) << key;
  }
}

TEST_F(RedisEventFanoutTest, LocalDeliveryWhileRedisIsDownThenBackOnRedis) {
  const FanoutOptions o = QuickResubscribe();
  Process a(redis_, clock_, o), b(redis_, clock_, o);
  StartAll({&a, &b});
  a.origin.Publish(Progress("v1", 1));
  ASSERT_EQ(b.seen.WaitFor(1).size(), 1u);
  const uint64_t before = b.seen.events()[0].seq;

  server().Stop();
  a.origin.Publish(Progress("v1", 2));
  std::vector<Event> local = a.seen.WaitFor(2);
  ASSERT_EQ(local.size(), 2u);
  EXPECT_EQ(local[1].seq, 0u);  // numbered by the receiving code
  EXPECT_EQ(local[1].payload, Progress("v1", 2).payload);
  EXPECT_EQ(a.fanout.stats().published_local, 1u);

  ASSERT_TRUE(server().Start().ok()) << server().Log();  // empty: the data is gone
  ASSERT_TRUE(
      WaitUntil([&] { return b.fanout.subscribed() && b.fanout.stats().subscriptions >= 2; }));
  ASSERT_TRUE(WaitUntilPublishing(a));
  a.origin.Publish(Progress("v1", 3));
  ASSERT_TRUE(WaitUntil([&] { return OfVideo(b.seen.events(), "v1").size() >= 2; }));
  std::vector<Event> got = OfVideo(b.seen.events(), "v1");
  ASSERT_EQ(got.size(), 2u);  // the locally delivered event stayed in process a
  EXPECT_EQ(got[1].payload, Progress("v1", 3).payload);
  // The counter was lost with the data but restarts above the old numbers.
  EXPECT_GT(got[1].seq, before);
}

TEST_F(RedisEventFanoutTest, WorkerKeepsItsEventsUntilRedisIsBack) {
  const FanoutOptions o = QuickResubscribe();
  Process b(redis_, clock_, o);
  Process worker(redis_, clock_, o, /*serves_clients=*/false);
  StartAll({&b});
  worker.fanout.Start();
  worker.origin.Publish(Progress("v1", 0));
  ASSERT_EQ(b.seen.WaitFor(1).size(), 1u);

  server().Stop();
  worker.origin.Publish(Progress("v1", 1));
  worker.origin.Publish(Progress("v1", 2));
  ASSERT_TRUE(WaitUntil([&] { return worker.fanout.stats().publish_failures >= 1; }));
  EXPECT_EQ(worker.fanout.stats().published_local, 0u);

  ASSERT_TRUE(server().Start().ok()) << server().Log();
  // Live or through the catch-up after b resubscribes: both, in order.
  std::vector<Event> got = b.seen.WaitFor(3);
  EXPECT_EQ(Payloads(got), ProgressPayloads("v1", {0, 1, 2}));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2].seq, got[1].seq + 1);
  EXPECT_TRUE(WaitUntil([&] { return worker.fanout.stats().published == 3; }));
  auto recent = b.fanout.Recent("v1");
  ASSERT_TRUE(recent.ok());
  EXPECT_EQ(recent->size(), 2u);  // the restarted Redis has only these
}

TEST_F(RedisEventFanoutTest, ReconnectedSubscriberCatchesUpFromTheReplayBuffer) {
  FanoutOptions slow;  // at least 1.5 s before b resubscribes: room to publish meanwhile
  slow.resubscribe_backoff_ms = 3000;
  slow.max_resubscribe_backoff_ms = 3000;
  Process b(redis_, clock_, slow);
  Process worker(redis_, clock_, {}, /*serves_clients=*/false);
  StartAll({&b});
  worker.fanout.Start();
  worker.origin.Publish(Progress("v1", 1));
  ASSERT_EQ(b.seen.WaitFor(1).size(), 1u);

  RedisClient c(redis_);
  auto killed = c.Command({"CLIENT", "KILL", "TYPE", "pubsub"});
  ASSERT_TRUE(killed.ok()) << killed.error().message;
  ASSERT_EQ(killed->integer, 1);
  ASSERT_TRUE(WaitUntil([&] { return !b.fanout.subscribed(); }));
  worker.origin.Publish(Progress("v1", 2));
  worker.origin.Publish(Progress("v1", 3));

  std::vector<Event> got = b.seen.WaitFor(3);
  EXPECT_EQ(Payloads(got), ProgressPayloads("v1", {1, 2, 3}));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2].seq, got[0].seq + 2);
  EXPECT_EQ(b.fanout.stats().caught_up, 2u);

  worker.origin.Publish(Progress("v1", 4));  // live again, delivered once
  got = b.seen.WaitFor(4);
  ASSERT_EQ(got.size(), 4u);
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(b.seen.events().size(), 4u);
}

TEST_F(RedisEventFanoutTest, StopIsIdempotentAndReturnsWhileRedisIsAway) {
  FanoutOptions o;
  o.resubscribe_backoff_ms = 60000;  // the subscriber would sleep for a long time
  o.max_resubscribe_backoff_ms = 60000;
  Process a(redis_, clock_, o);
  StartAll({&a});
  server().Stop();
  ASSERT_TRUE(WaitUntil([&] { return !a.fanout.subscribed(); }));
  a.fanout.Stop();
  a.fanout.Stop();
  a.origin.Publish(Progress("v1", 1));  // after Stop: ignored
  EXPECT_TRUE(a.seen.events().empty());
}

TEST_F(RedisEventFanoutTest, StartWithoutRedisThenRedisAppears) {
  server().Stop();
  const FanoutOptions o = QuickResubscribe();
  Process a(redis_, clock_, o);
  a.fanout.Start();
  a.origin.Publish(Progress("v1", 1));
  ASSERT_EQ(a.seen.WaitFor(1).size(), 1u);  // delivered locally
  EXPECT_EQ(a.seen.events()[0].seq, 0u);

  ASSERT_TRUE(server().Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return a.fanout.subscribed(); }));
  ASSERT_TRUE(WaitUntilPublishing(a));
  a.origin.Publish(Progress("v1", 2));
  ASSERT_TRUE(WaitUntil([&] { return OfVideo(a.seen.events(), "v1").size() == 2; }));
  EXPECT_GT(OfVideo(a.seen.events(), "v1")[1].seq, 0u);  // numbered by Redis again
}

}  // namespace
}  // namespace vs::redis
