// Circuit breaker and retry backoff for calls to infrastructure (database,
// object store): after `failure_threshold` consecutive failures the circuit
// opens and calls fail fast for `open_ms`; then one trial call is let through
// (half-open): success closes the circuit, failure opens it again.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "core/clock.h"
#include "core/result.h"

namespace vs::resilience {

inline constexpr const char* kCircuitOpen = "circuit_open";

struct BreakerOptions {
  int failure_threshold = 5;
  int64_t open_ms = 60000;
};

enum class BreakerState { kClosed, kOpen, kHalfOpen };

// Thread-safe.
class CircuitBreaker {
 public:
  CircuitBreaker(std::string name, BreakerOptions options, const Clock& clock);

  // Whether a call may proceed now. In half-open state only one caller at a
  // time gets true (the trial); it must report the outcome.
  bool Allow();
  void RecordSuccess();
  void RecordFailure();
  BreakerState state();
  const std::string& name() const { return name_; }

  // Runs f() (returning Result<T> or Status) under the breaker: fails fast
  // with kCircuitOpen when open; counts a failure when the result's error
  // code is one of the infrastructure codes passed in `is_failure`.
  template <typename F, typename Pred>
  auto Call(F&& f, Pred&& is_failure) -> decltype(f()) {
    if (!Allow()) {
      return MakeError(ErrorKind::kUnavailable, kCircuitOpen,
                       name_ + " is unavailable (circuit open); retry later");
    }
    auto r = f();
    if (!r.ok() && is_failure(r.error())) {
      RecordFailure();
    } else {
      RecordSuccess();
    }
    return r;
  }

 private:
  std::string name_;
  BreakerOptions options_;
  const Clock& clock_;
  std::mutex mu_;
  BreakerState state_ = BreakerState::kClosed;
  int failures_ = 0;
  int64_t opened_at_ms_ = 0;
  bool trial_in_flight_ = false;
};

// Exponential backoff with full jitter: a random delay in
// [0, min(max_ms, base_ms * 2^(attempt-1))]. attempt counts from 1.
int64_t BackoffMs(int attempt, int64_t base_ms, int64_t max_ms);

}  // namespace vs::resilience
