#include "resilience/circuit_breaker.h"

#include <algorithm>
#include <random>
#include <utility>

namespace vs::resilience {

namespace {

std::mt19937_64& ThreadRng() {
  // One engine per thread: no locking, and no sequence shared between threads.
  thread_local std::mt19937_64 rng = [] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }();
  return rng;
}

}  // namespace

CircuitBreaker::CircuitBreaker(std::string name, BreakerOptions options, const Clock& clock)
    : name_(std::move(name)), options_(options), clock_(clock) {
  // A threshold below one would open the circuit without any failure.
  options_.failure_threshold = std::max(options_.failure_threshold, 1);
  options_.open_ms = std::max<int64_t>(options_.open_ms, 0);
}

// While half-open, opened_at_ms_ holds the time the current trial was handed
// out rather than the time the circuit opened: if a trial never reports (its
// caller threw, or forgot), another trial is handed out after open_ms instead
// of the circuit staying half-open and refusing every call forever.
bool CircuitBreaker::Allow() {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_.NowMs();
  switch (state_) {
    case BreakerState::kClosed:
      return true;
    case BreakerState::kOpen:
      if (now - opened_at_ms_ < options_.open_ms) return false;
      state_ = BreakerState::kHalfOpen;
      break;
    case BreakerState::kHalfOpen:
      if (trial_in_flight_ && now - opened_at_ms_ < options_.open_ms) return false;
      break;
  }
  trial_in_flight_ = true;
  opened_at_ms_ = now;
  return true;
}

void CircuitBreaker::RecordSuccess() {
  std::lock_guard<std::mutex> lock(mu_);
  // While open, a success can only come from a call admitted before the
  // circuit opened; it says nothing about the dependency now.
  if (state_ == BreakerState::kOpen) return;
  state_ = BreakerState::kClosed;
  failures_ = 0;
  trial_in_flight_ = false;
}

void CircuitBreaker::RecordFailure() {
  std::lock_guard<std::mutex> lock(mu_);
  switch (state_) {
    case BreakerState::kClosed:
      if (++failures_ < options_.failure_threshold) return;
      break;
    case BreakerState::kHalfOpen:
      break;
    case BreakerState::kOpen:
      // A late failure from a call admitted before opening must not extend
      // the open period.
      return;
  }
  state_ = BreakerState::kOpen;
  opened_at_ms_ = clock_.NowMs();
  trial_in_flight_ = false;
}

BreakerState CircuitBreaker::state() {
  std::lock_guard<std::mutex> lock(mu_);
  // Report half-open as soon as the open period is over, not only after the
  // next Allow(), so health endpoints show that a trial is due.
  if (state_ == BreakerState::kOpen && clock_.NowMs() - opened_at_ms_ >= options_.open_ms) {
    state_ = BreakerState::kHalfOpen;
    trial_in_flight_ = false;
  }
  return state_;
}

int64_t BackoffMs(int attempt, int64_t base_ms, int64_t max_ms) {
  if (base_ms <= 0 || max_ms <= 0) return 0;
  const int shift = std::max(attempt, 1) - 1;
  // base_ms << shift would overflow for large attempts; comparing against
  // max_ms >> shift finds the cap without ever forming the product.
  int64_t cap = max_ms;
  if (shift < 63 && base_ms <= (max_ms >> shift)) cap = base_ms << shift;
  return std::uniform_int_distribution<int64_t>(0, cap)(ThreadRng());
}

}  // namespace vs::resilience
