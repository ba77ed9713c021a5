#include "resilience/circuit_breaker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace vs::resilience {
namespace {

constexpr int64_t kOpenMs = 60000;

// Only errors that say the dependency itself is unhealthy trip the breaker;
// "not_found" is a normal answer from a healthy database.
bool IsInfraFailure(const Error& e) { return e.code == "unavailable" || e.code == "timeout"; }

class CircuitBreakerTest : public ::testing::Test {
 protected:
  void Fail(int n) {
    for (int i = 0; i < n; ++i) cb_.RecordFailure();
  }

  // Opens the circuit and returns the time it opened.
  int64_t Open() {
    Fail(5);
    EXPECT_EQ(cb_.state(), BreakerState::kOpen);
    return clock_.NowMs();
  }

  FakeClock clock_;
  CircuitBreaker cb_{"postgres", BreakerOptions{}, clock_};
};

TEST_F(CircuitBreakerTest, StartsClosed) {
  EXPECT_EQ(cb_.state(), BreakerState::kClosed);
  EXPECT_TRUE(cb_.Allow());
  EXPECT_EQ(cb_.name(), "postgres");
}

TEST_F(CircuitBreakerTest, OpensAfterExactlyThresholdConsecutiveFailures) {
  Fail(4);
  EXPECT_EQ(cb_.state(), BreakerState::kClosed);
  EXPECT_TRUE(cb_.Allow());
  Fail(1);
  EXPECT_EQ(cb_.state(), BreakerState::kOpen);
  EXPECT_FALSE(cb_.Allow());
}

TEST_F(CircuitBreakerTest, SuccessResetsTheFailureCount) {
  Fail(4);
  cb_.RecordSuccess();
  Fail(4);
  EXPECT_EQ(cb_.state(), BreakerState::kClosed);
  EXPECT_TRUE(cb_.Allow());
  Fail(1);
  EXPECT_EQ(cb_.state(), BreakerState::kOpen);
}

TEST_F(CircuitBreakerTest, FailsFastWhileOpen) {
  Open();
  int invoked = 0;
  auto r = cb_.Call(
      [&]() -> Result<int> {
        ++invoked;
        return 1;
      },
      IsInfraFailure);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kCircuitOpen);
  EXPECT_EQ(r.error().kind, ErrorKind::kUnavailable);
  EXPECT_NE(r.error().message.find("postgres"), std::string::npos);
  EXPECT_EQ(invoked, 0);

  clock_.Advance(kOpenMs - 1);
  EXPECT_FALSE(cb_.Allow());
  EXPECT_EQ(cb_.state(), BreakerState::kOpen);
}

TEST_F(CircuitBreakerTest, HalfOpenAfterOpenPeriodLetsExactlyOneTrialThrough) {
  Open();
  clock_.Advance(kOpenMs);
  EXPECT_EQ(cb_.state(), BreakerState::kHalfOpen);
  EXPECT_TRUE(cb_.Allow());
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(cb_.Allow()) << i;
  clock_.Advance(kOpenMs - 1);  // a slow trial is still waited for
  EXPECT_FALSE(cb_.Allow());
  EXPECT_EQ(cb_.state(), BreakerState::kHalfOpen);
}

TEST_F(CircuitBreakerTest, TrialSuccessCloses) {
  Open();
  clock_.Advance(kOpenMs);
  ASSERT_TRUE(cb_.Allow());
  cb_.RecordSuccess();
  EXPECT_EQ(cb_.state(), BreakerState::kClosed);
  EXPECT_TRUE(cb_.Allow());
  EXPECT_TRUE(cb_.Allow());
  Fail(4);  // the count restarted from zero
  EXPECT_EQ(cb_.state(), BreakerState::kClosed);
}

TEST_F(CircuitBreakerTest, TrialFailureReopensForAFullPeriod) {
  Open();
  clock_.Advance(kOpenMs);
  ASSERT_TRUE(cb_.Allow());
  clock_.Advance(500);  // the trial takes a while to fail
  cb_.RecordFailure();
  EXPECT_EQ(cb_.state(), BreakerState::kOpen);
  EXPECT_FALSE(cb_.Allow());
  clock_.Advance(kOpenMs - 1);
  EXPECT_FALSE(cb_.Allow());
  clock_.Advance(1);
  EXPECT_TRUE(cb_.Allow());
  EXPECT_FALSE(cb_.Allow());
}

TEST_F(CircuitBreakerTest, LostTrialIsReplacedAfterAnotherOpenPeriod) {
  Open();
  clock_.Advance(kOpenMs);
  ASSERT_TRUE(cb_.Allow());  // this caller never reports
  clock_.Advance(kOpenMs - 1);
  EXPECT_FALSE(cb_.Allow());
  clock_.Advance(1);
  EXPECT_TRUE(cb_.Allow());
  EXPECT_FALSE(cb_.Allow());
  cb_.RecordSuccess();
  EXPECT_EQ(cb_.state(), BreakerState::kClosed);
}

TEST_F(CircuitBreakerTest, LateResultsWhileOpenAreIgnored) {
  int64_t opened = Open();
  cb_.RecordSuccess();  // from a call admitted before the circuit opened
  EXPECT_EQ(cb_.state(), BreakerState::kOpen);
  clock_.Set(opened + kOpenMs / 2);
  cb_.RecordFailure();  // must not extend the open period
  clock_.Set(opened + kOpenMs);
  EXPECT_EQ(cb_.state(), BreakerState::kHalfOpen);
  EXPECT_TRUE(cb_.Allow());
}

TEST_F(CircuitBreakerTest, CallPassesValuesAndCountsOnlyInfrastructureFailures) {
  auto ok = cb_.Call([]() -> Result<int> { return 42; }, IsInfraFailure);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 42);

  for (int i = 0; i < 20; ++i) {
    auto r = cb_.Call([]() -> Result<int> { return MakeError("not_found", "no such video"); },
                      IsInfraFailure);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "not_found");  // passed through unchanged
  }
  EXPECT_EQ(cb_.state(), BreakerState::kClosed);

  int invoked = 0;
  auto unavailable = [&]() -> Status {
    ++invoked;
    return MakeError("unavailable", "connection refused");
  };
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(cb_.Call(unavailable, IsInfraFailure).error().code, "unavailable");
  // A non-infrastructure error in between counts as a healthy answer.
  EXPECT_EQ(
      cb_.Call([]() -> Status { return MakeError("not_found", "x"); }, IsInfraFailure).error().code,
      "not_found");
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(cb_.Call(unavailable, IsInfraFailure).error().code, "unavailable");
  EXPECT_EQ(cb_.state(), BreakerState::kClosed);
  EXPECT_EQ(cb_.Call(unavailable, IsInfraFailure).error().code, "unavailable");
  EXPECT_EQ(cb_.state(), BreakerState::kOpen);
  EXPECT_EQ(invoked, 9);

  EXPECT_EQ(cb_.Call(unavailable, IsInfraFailure).error().code, kCircuitOpen);
  EXPECT_EQ(invoked, 9);
}

TEST_F(CircuitBreakerTest, CallTrialThatGetsAHealthyAnswerCloses) {
  Open();
  clock_.Advance(kOpenMs);
  auto r = cb_.Call([]() -> Result<int> { return MakeError("not_found", "x"); }, IsInfraFailure);
  EXPECT_EQ(r.error().code, "not_found");
  EXPECT_EQ(cb_.state(), BreakerState::kClosed);
}

TEST(CircuitBreakerOptionsTest, CustomThresholdAndPeriod) {
  FakeClock clock;
  CircuitBreaker cb("s3", BreakerOptions{.failure_threshold = 2, .open_ms = 1000}, clock);
  cb.RecordFailure();
  EXPECT_EQ(cb.state(), BreakerState::kClosed);
  cb.RecordFailure();
  EXPECT_EQ(cb.state(), BreakerState::kOpen);
  clock.Advance(1000);
  EXPECT_TRUE(cb.Allow());
}

TEST(CircuitBreakerOptionsTest, NonPositiveThresholdActsAsOne) {
  FakeClock clock;
  CircuitBreaker cb("s3", BreakerOptions{.failure_threshold = 0, .open_ms = 1000}, clock);
  EXPECT_TRUE(cb.Allow());
  cb.RecordSuccess();
  EXPECT_EQ(cb.state(), BreakerState::kClosed);
  cb.RecordFailure();
  EXPECT_EQ(cb.state(), BreakerState::kOpen);
}

TEST(CircuitBreakerConcurrencyTest, ConcurrentFailuresOpenAtExactlyTheThreshold) {
  constexpr int kThreads = 8;
  FakeClock clock;
  CircuitBreaker cb("db", BreakerOptions{.failure_threshold = kThreads * 1000, .open_ms = 1000},
                    clock);
  auto hammer = [&](int per_thread) {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < per_thread; ++i) {
          EXPECT_TRUE(cb.Allow());
          cb.RecordFailure();
        }
      });
    }
    for (auto& t : threads) t.join();
  };
  hammer(999);
  EXPECT_EQ(cb.state(), BreakerState::kClosed);
  hammer(1);
  EXPECT_EQ(cb.state(), BreakerState::kOpen);
}

TEST(CircuitBreakerConcurrencyTest, ExactlyOneConcurrentTrial) {
  constexpr int kThreads = 8;
  FakeClock clock;
  CircuitBreaker cb("db", BreakerOptions{}, clock);
  for (int i = 0; i < 5; ++i) cb.RecordFailure();
  clock.Advance(kOpenMs);
  std::atomic<int> granted{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < 1000; ++i) {
        if (cb.Allow()) ++granted;
      }
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), 1);
  EXPECT_EQ(cb.state(), BreakerState::kHalfOpen);
}

TEST(CircuitBreakerConcurrencyTest, ConcurrentCallsFailFastOnceOpen) {
  constexpr int kThreads = 8;
  constexpr int kCalls = 1000;
  FakeClock clock;
  CircuitBreaker cb("db", BreakerOptions{}, clock);
  std::atomic<int> invoked{0};
  std::atomic<int> fast_failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCalls; ++i) {
        Status s = cb.Call(
            [&]() -> Status {
              ++invoked;
              return MakeError("timeout", "query timed out");
            },
            IsInfraFailure);
        if (s.error().code == kCircuitOpen) ++fast_failed;
      }
    });
  }
  for (auto& t : threads) t.join();
  // Calls admitted while closed may still be in flight when the fifth failure
  // opens the circuit, so up to kThreads - 1 extra invocations are possible.
  EXPECT_GE(invoked.load(), 5);
  EXPECT_LE(invoked.load(), 5 + kThreads - 1);
  EXPECT_EQ(invoked.load() + fast_failed.load(), kThreads * kCalls);
  EXPECT_EQ(cb.state(), BreakerState::kOpen);
}

TEST(CircuitBreakerConcurrencyTest, MixedTrafficWithMovingClockKeepsInvariants) {
  constexpr int kThreads = 8;
  FakeClock clock;
  CircuitBreaker cb("db", BreakerOptions{.failure_threshold = 3, .open_ms = 10}, clock);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        if (t == 0) clock.Advance(1);
        if (cb.Allow()) {
          if ((i + t) % 3 == 0) {
            cb.RecordSuccess();
          } else {
            cb.RecordFailure();
          }
        }
        (void)cb.state();
      }
    });
  }
  for (auto& t : threads) t.join();
  clock.Advance(10);
  // Whatever happened, the breaker can recover.
  BreakerState s = cb.state();
  EXPECT_NE(s, BreakerState::kOpen);
  ASSERT_TRUE(cb.Allow());
  cb.RecordSuccess();
  EXPECT_EQ(cb.state(), BreakerState::kClosed);
}

TEST(BackoffMsTest, StaysWithinTheCappedExponentialRange) {
  for (int attempt = 1; attempt <= 12; ++attempt) {
    const int64_t cap = std::min<int64_t>(10000, int64_t{100} << (attempt - 1));
    std::set<int64_t> seen;
    int64_t max_seen = 0;
    for (int i = 0; i < 2000; ++i) {
      int64_t d = BackoffMs(attempt, 100, 10000);
      ASSERT_GE(d, 0) << attempt;
      ASSERT_LE(d, cap) << attempt;
      seen.insert(d);
      max_seen = std::max(max_seen, d);
    }
    EXPECT_GT(seen.size(), 10u) << attempt;   // jittered, not a constant
    EXPECT_GT(max_seen, cap / 2) << attempt;  // and spread over the range
  }
}

TEST(BackoffMsTest, AttemptBelowOneActsAsOne) {
  for (int attempt : {0, -1, INT_MIN}) {
    for (int i = 0; i < 500; ++i) {
      int64_t d = BackoffMs(attempt, 100, 10000);
      ASSERT_GE(d, 0);
      ASSERT_LE(d, 100);
    }
  }
}

TEST(BackoffMsTest, LargeAttemptsAndBasesDoNotOverflow) {
  for (int attempt : {62, 63, 64, 65, 1000, INT_MAX}) {
    for (int i = 0; i < 200; ++i) {
      int64_t d = BackoffMs(attempt, 1000, 30000);
      ASSERT_GE(d, 0) << attempt;
      ASSERT_LE(d, 30000) << attempt;
    }
  }
  for (int i = 0; i < 200; ++i) {
    int64_t d = BackoffMs(3, INT64_MAX / 2, INT64_MAX);
    ASSERT_GE(d, 0);
  }
}

TEST(BackoffMsTest, DegenerateInputsGiveZero) {
  EXPECT_EQ(BackoffMs(3, 0, 1000), 0);
  EXPECT_EQ(BackoffMs(3, 100, 0), 0);
  EXPECT_EQ(BackoffMs(3, -5, 1000), 0);
}

TEST(BackoffMsTest, ThreadsDrawIndependently) {
  constexpr int kThreads = 8;
  std::vector<std::vector<int64_t>> draws(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) draws[t].push_back(BackoffMs(20, 1, INT64_MAX / 4));
    });
  }
  for (auto& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) {
    for (int64_t d : draws[t]) ASSERT_LE(d, int64_t{1} << 19);
  }
  // Per-thread engines are seeded separately, so sequences differ.
  std::set<std::vector<int64_t>> distinct(draws.begin(), draws.end());
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kThreads));
}

}  // namespace
}  // namespace vs::resilience
