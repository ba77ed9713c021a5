// The RateLimiter contract, run against every adapter: each behaviour test
// below runs once on the memory limiter and once on the Redis limiter (a
// real redis-server on loopback). Redis-only behaviour (sharing between
// processes, degradation to the fallback) follows at the end.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "ratelimit/memory_rate_limiter.h"
#include "ratelimit/rate_limiter.h"
#include "ratelimit/redis_rate_limiter.h"
#include "redis/client.h"
#include "redis_server.h"
#include "resilience/circuit_breaker.h"

namespace vs::ratelimit {
namespace {

constexpr int64_t kMinute = 60 * 1000;

// Counts the checks it answers, delegating to a memory limiter; with
// `must_not_be_used` every call is a test failure (proves the Redis limiter
// decided by itself).
class RecordingFallback final : public RateLimiter {
 public:
  RecordingFallback(std::vector<Tier> tiers, const Clock& clock, bool must_not_be_used,
                    std::atomic<int>* calls)
      : inner_(NewMemoryRateLimiter(std::move(tiers), clock)),
        must_not_be_used_(must_not_be_used),
        calls_(calls) {}
  Decision Check(const std::string& tier, const std::string& client) override {
    ++*calls_;
    if (must_not_be_used_) ADD_FAILURE() << "fallback used for " << tier << "/" << client;
    return inner_->Check(tier, client);
  }

 private:
  std::unique_ptr<RateLimiter> inner_;
  const bool must_not_be_used_;
  std::atomic<int>* calls_;
};

redis::RedisOptions OptionsFor(const testing::RedisServer& server) {
  auto o = redis::ParseRedisUrl(server.url());
  EXPECT_TRUE(o.ok());
  // Generous timeouts, so that a loaded test machine does not push checks
  // to the fallback (a stopped server refuses connections at once anyway);
  // a short reconnect backoff, so the outage tests recover quickly.
  o->connect_timeout_ms = 2000;
  o->command_timeout_ms = 2000;
  o->reconnect_backoff_ms = 20;
  o->max_reconnect_backoff_ms = 100;
  return *o;
}

enum class Backend { kMemory, kRedis };

// Names the parameter in test listings (ctest shows "GetParam() = redis").
void PrintTo(Backend b, std::ostream* os) { *os << (b == Backend::kMemory ? "memory" : "redis"); }

class RateLimiterContractTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() != Backend::kRedis) return;
    Status s = testing::SharedRedisServer().Start();
    ASSERT_TRUE(s.ok()) << s.error().message;
    client_ = std::make_unique<redis::RedisClient>(OptionsFor(testing::SharedRedisServer()));
    auto flushed = client_->Command({"FLUSHALL"});
    ASSERT_TRUE(flushed.ok()) << flushed.error().message;
  }

  std::unique_ptr<RateLimiter> Make(std::vector<Tier> tiers) {
    if (GetParam() == Backend::kMemory) return NewMemoryRateLimiter(std::move(tiers), clock_);
    auto fallback = std::make_unique<RecordingFallback>(tiers, clock_, true, &fallback_calls_);
    return NewRedisRateLimiter(*client_, std::move(tiers), clock_, std::move(fallback), nullptr);
  }

  // "tiny": 3 requests per second, so window arithmetic is easy to follow.
  std::unique_ptr<RateLimiter> MakeTiny() {
    std::vector<Tier> tiers = DefaultTiers();
    tiers.push_back({"tiny", 3, 1000});
    return Make(std::move(tiers));
  }

  FakeClock clock_;
  std::unique_ptr<redis::RedisClient> client_;
  std::atomic<int> fallback_calls_{0};
};

INSTANTIATE_TEST_SUITE_P(Adapters, RateLimiterContractTest,
                         ::testing::Values(Backend::kMemory, Backend::kRedis),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return info.param == Backend::kMemory ? "Memory" : "Redis";
                         });

TEST_P(RateLimiterContractTest, AllowsExactlyLimitThenRefuses) {
  auto rl = MakeTiny();
  const int64_t t0 = clock_.NowMs();
  for (int i = 0; i < 3; ++i) {
    Decision d = rl->Check("tiny", "alice");
    EXPECT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.limit, 3);
    EXPECT_EQ(d.remaining, 2 - i);
    EXPECT_EQ(d.reset_ms, t0 + 1000);
    EXPECT_EQ(d.retry_after_ms, 0);
  }
  clock_.Advance(250);
  Decision d = rl->Check("tiny", "alice");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.limit, 3);
  EXPECT_EQ(d.remaining, 0);
  EXPECT_EQ(d.reset_ms, t0 + 1000);
  EXPECT_EQ(d.retry_after_ms, 750);
}

TEST_P(RateLimiterContractTest, WindowSlidesOneRequestAtATime) {
  auto rl = MakeTiny();
  const int64_t t0 = clock_.NowMs();
  ASSERT_TRUE(rl->Check("tiny", "alice").allowed);  // t0
  clock_.Set(t0 + 400);
  ASSERT_TRUE(rl->Check("tiny", "alice").allowed);
  clock_.Set(t0 + 800);
  ASSERT_TRUE(rl->Check("tiny", "alice").allowed);

  clock_.Set(t0 + 999);  // the t0 request is still inside (now - 1000, now]
  Decision d = rl->Check("tiny", "alice");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ms, 1);

  clock_.Set(t0 + 1000);  // ...and now it is not
  d = rl->Check("tiny", "alice");
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 0);
  EXPECT_EQ(d.reset_ms, t0 + 400 + 1000);

  d = rl->Check("tiny", "alice");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ms, 400);
}

TEST_P(RateLimiterContractTest, RefusedRequestsAreNotCounted) {
  auto rl = MakeTiny();
  const int64_t t0 = clock_.NowMs();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(rl->Check("tiny", "alice").allowed);
  // Hammering while refused must not push the reset time out.
  for (int i = 0; i < 50; ++i) {
    clock_.Set(t0 + 10 * i);
    EXPECT_FALSE(rl->Check("tiny", "alice").allowed);
  }
  clock_.Set(t0 + 1000);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(rl->Check("tiny", "alice").allowed) << i;
  EXPECT_FALSE(rl->Check("tiny", "alice").allowed);
}

TEST_P(RateLimiterContractTest, ClientsAndTiersAreIndependent) {
  auto rl = MakeTiny();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(rl->Check("tiny", "alice").allowed);
  EXPECT_FALSE(rl->Check("tiny", "alice").allowed);
  EXPECT_TRUE(rl->Check("tiny", "bob").allowed);
  Decision d = rl->Check("auth", "alice");
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.limit, 10);
  EXPECT_EQ(d.remaining, 9);
}

TEST_P(RateLimiterContractTest, UnknownTierSharesTheGeneralBudget) {
  auto rl = Make({{"general", 2, 1000}});
  EXPECT_TRUE(rl->Check("no-such-tier", "alice").allowed);
  EXPECT_TRUE(rl->Check("general", "alice").allowed);
  Decision d = rl->Check("another-unknown", "alice");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.limit, 2);
}

TEST_P(RateLimiterContractTest, GeneralIsAddedWhenMissing) {
  auto rl = Make({{"tiny", 1, 1000}});
  Decision d = rl->Check("unknown", "alice");
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.limit, 100);
}

TEST_P(RateLimiterContractTest, ZeroLimitRefusesWithAFullWindowRetry) {
  auto rl = Make({{"general", 0, 5000}});
  Decision d = rl->Check("general", "alice");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.remaining, 0);
  EXPECT_EQ(d.reset_ms, clock_.NowMs() + 5000);
  EXPECT_EQ(d.retry_after_ms, 5000);
}

TEST_P(RateLimiterContractTest, ClockSteppingBackDoesNotFreeSlots) {
  auto rl = MakeTiny();
  const int64_t t0 = clock_.NowMs();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(rl->Check("tiny", "alice").allowed);
  clock_.Set(t0 - 5000);
  EXPECT_FALSE(rl->Check("tiny", "alice").allowed);
}

TEST_P(RateLimiterContractTest, ConcurrentChecksOnOneClientAllowExactlyLimit) {
  constexpr int kThreads = 8;
  constexpr int kCalls = 1000;
  auto rl = Make({{"general", 100, 15 * kMinute}});
  std::atomic<int> allowed{0};
  std::atomic<int> min_remaining_seen{100};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCalls; ++i) {
        Decision d = rl->Check("general", "shared-client");
        if (d.allowed) {
          ++allowed;
          int seen = min_remaining_seen.load();
          while (d.remaining < seen &&
                 !min_remaining_seen.compare_exchange_weak(seen, d.remaining)) {
          }
        } else {
          EXPECT_GE(d.retry_after_ms, 1);
          EXPECT_EQ(d.remaining, 0);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 100);
  EXPECT_EQ(min_remaining_seen.load(), 0);
}

TEST_P(RateLimiterContractTest, ConcurrentChecksOnManyClientsAllowExactlyLimitEach) {
  constexpr int kThreads = 8;
  constexpr int kClients = 16;
  auto rl = Make({{"general", 50, 15 * kMinute}});
  std::vector<std::atomic<int>> allowed(kClients);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        int c = (i + t) % kClients;
        if (rl->Check("general", "client-" + std::to_string(c)).allowed) ++allowed[c];
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int c = 0; c < kClients; ++c) EXPECT_EQ(allowed[c].load(), 50) << c;
}

class RedisRateLimiterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status s = testing::SharedRedisServer().Start();
    ASSERT_TRUE(s.ok()) << s.error().message;
    client_ = std::make_unique<redis::RedisClient>(OptionsFor(testing::SharedRedisServer()));
    ASSERT_TRUE(client_->Command({"FLUSHALL"}).ok());
  }
  void TearDown() override { ASSERT_TRUE(testing::SharedRedisServer().Start().ok()); }

  static std::vector<Tier> Tiers() { return {{"general", 100, 15 * kMinute}, {"tiny", 3, 1000}}; }

  std::unique_ptr<RateLimiter> Make(redis::RedisClient& client,
                                    std::shared_ptr<resilience::CircuitBreaker> breaker = nullptr,
                                    bool fallback_allowed = false) {
    return NewRedisRateLimiter(
        client, Tiers(), clock_,
        std::make_unique<RecordingFallback>(Tiers(), clock_, !fallback_allowed, &fallback_calls_),
        std::move(breaker));
  }

  // Keys the limiter keeps in Redis right now.
  size_t RedisKeys() {
    auto r = client_->Command({"DBSIZE"});
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? static_cast<size_t>(r->integer) : 0;
  }

  // Waits until `client` reaches the server again (its reconnect backoff
  // may still be running after a restart).
  static bool Reachable(redis::RedisClient& client) {
    for (int i = 0; i < 500; ++i) {
      if (client.Ping().ok()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  FakeClock clock_;
  std::unique_ptr<redis::RedisClient> client_;
  std::atomic<int> fallback_calls_{0};
};

// Two limiters with their own connections stand for two server processes.
TEST_F(RedisRateLimiterTest, ProcessesShareOneWindow) {
  redis::RedisClient other_client(OptionsFor(testing::SharedRedisServer()));
  auto a = Make(*client_);
  auto b = Make(other_client);
  const int64_t t0 = clock_.NowMs();
  Decision d = a->Check("tiny", "alice");
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 2);
  clock_.Advance(100);
  d = b->Check("tiny", "alice");
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 1);
  EXPECT_EQ(d.reset_ms, t0 + 1000);  // b sees a's request as the oldest
  EXPECT_TRUE(a->Check("tiny", "alice").allowed);
  d = b->Check("tiny", "alice");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ms, 900);
  EXPECT_FALSE(a->Check("tiny", "alice").allowed);

  clock_.Set(t0 + 1000);  // a's first request leaves the window for both
  EXPECT_TRUE(b->Check("tiny", "alice").allowed);
  EXPECT_FALSE(a->Check("tiny", "alice").allowed);
}

TEST_F(RedisRateLimiterTest, IdleKeysExpireWithTheirWindow) {
  auto rl = Make(*client_);
  ASSERT_TRUE(rl->Check("tiny", "alice").allowed);
  ASSERT_TRUE(rl->Check("general", "alice").allowed);
  ASSERT_EQ(RedisKeys(), 2u);
  auto keys = client_->Command({"KEYS", "vs:rl:*"});
  ASSERT_TRUE(keys.ok());
  for (const redis::Reply& key : keys->elements) {
    auto ttl = client_->Command({"PTTL", key.str});
    ASSERT_TRUE(ttl.ok());
    EXPECT_GT(ttl->integer, 0) << key.str;
    // The window plus a minute of slack for clocks that disagree.
    EXPECT_LE(ttl->integer,
              (key.str.find("tiny") != std::string::npos ? 1000 : 15 * kMinute) + kMinute)
        << key.str;
  }
}

TEST_F(RedisRateLimiterTest, ClientNamesCannotCollideAcrossTiers) {
  auto rl =
      NewRedisRateLimiter(*client_, {{"general", 100, 1000}, {"a", 1, 1000}, {"a:b", 1, 1000}},
                          clock_, nullptr, nullptr);
  EXPECT_TRUE(rl->Check("a", "b:c").allowed);
  EXPECT_TRUE(rl->Check("a:b", "c").allowed);  // different tier, same "a:b:c" text
}

TEST_F(RedisRateLimiterTest, FallbackWhileRedisIsDownThenBackAfterTheBreakerOpenPeriod) {
  auto breaker = std::make_shared<resilience::CircuitBreaker>(
      "redis", resilience::BreakerOptions{.failure_threshold = 2, .open_ms = 5000}, clock_);
  auto rl = Make(*client_, breaker, /*fallback_allowed=*/true);
  ASSERT_TRUE(rl->Check("tiny", "alice").allowed);
  EXPECT_EQ(fallback_calls_.load(), 0);

  testing::SharedRedisServer().Stop();
  // Every check is answered, by the fallback's own (fresh) window.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(rl->Check("tiny", "alice").allowed) << i;
  Decision d = rl->Check("tiny", "alice");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.limit, 3);
  EXPECT_GE(d.retry_after_ms, 1);
  EXPECT_EQ(fallback_calls_.load(), 4);
  EXPECT_EQ(breaker->state(), resilience::BreakerState::kOpen);

  ASSERT_TRUE(testing::SharedRedisServer().Start().ok());
  ASSERT_TRUE(Reachable(*client_));
  // Still open: the fallback answers and Redis is not asked.
  EXPECT_FALSE(rl->Check("tiny", "alice").allowed);
  EXPECT_EQ(fallback_calls_.load(), 5);
  EXPECT_EQ(RedisKeys(), 0u);

  clock_.Advance(5000);  // the open period is over: the next check is the trial
  d = rl->Check("tiny", "alice");
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 2);  // the restarted Redis had no entries
  EXPECT_EQ(fallback_calls_.load(), 5);
  EXPECT_EQ(breaker->state(), resilience::BreakerState::kClosed);
  EXPECT_EQ(RedisKeys(), 1u);
  EXPECT_TRUE(rl->Check("tiny", "alice").allowed);
  EXPECT_EQ(fallback_calls_.load(), 5);
}

TEST_F(RedisRateLimiterTest, WithoutABreakerEveryCheckTriesRedisAndFallsBack) {
  auto rl = Make(*client_, nullptr, /*fallback_allowed=*/true);
  testing::SharedRedisServer().Stop();
  for (int i = 0; i < 50; ++i) rl->Check("general", "alice");
  EXPECT_EQ(fallback_calls_.load(), 50);
  ASSERT_TRUE(testing::SharedRedisServer().Start().ok());
  ASSERT_TRUE(Reachable(*client_));
  Decision d = rl->Check("general", "alice");
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 99);
  EXPECT_EQ(fallback_calls_.load(), 50);
}

}  // namespace
}  // namespace vs::ratelimit
