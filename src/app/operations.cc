#include "app/operations.h"

#include <utility>

namespace vs::app {
namespace {

std::string_view BreakerStateName(resilience::BreakerState s) {
  switch (s) {
    case resilience::BreakerState::kClosed:
      return "closed";
    case resilience::BreakerState::kOpen:
      return "open";
    case resilience::BreakerState::kHalfOpen:
      return "half_open";
  }
  return "closed";
}

}  // namespace

void AddQueueMetrics(metrics::Registry& registry, db::JobQueue& jobs, const Clock& clock) {
  metrics::Family& by_state = registry.Gauge("visionsync_jobs", "Jobs in the queue's table, by state.");
  metrics::Family& age = registry.Gauge(
      "visionsync_job_oldest_age_seconds",
      "Age of the oldest job still queued or running (0 when there is none), by state.");
  metrics::Family& expired = registry.Gauge(
      "visionsync_job_expired_leases", "Running jobs whose lease ran out (their worker stopped heartbeating).");
  metrics::Family& up = registry.Gauge("visionsync_job_queue_up", "1 when the last scrape could read the queue.");
  registry.AddCollector([&jobs, &clock, &by_state, &age, &expired, &up] {
    Result<db::JobStats> s = jobs.Stats();
    up.Set({}, s.ok() ? 1 : 0);
    if (!s.ok()) return;
    for (const auto& [state, n] : s->counts) by_state.Set({{"state", std::string(ToString(state))}}, double(n));
    const int64_t now = clock.NowMs();
    auto age_of = [now](int64_t created) { return created == 0 ? 0.0 : double(now - created) / 1000; };
    age.Set({{"state", "queued"}}, age_of(s->oldest_queued_created_ms));
    age.Set({{"state", "running"}}, age_of(s->oldest_running_created_ms));
    expired.Set({}, double(s->expired_leases));
  });
}

void AddBreakerMetrics(metrics::Registry& registry,
                       std::vector<std::shared_ptr<resilience::CircuitBreaker>> breakers) {
  metrics::Family& f = registry.Gauge(
      "visionsync_circuit_breaker_state",
      "Circuit breakers per dependency: 1 for the state it is in (closed, open, half_open), else 0.");
  registry.AddCollector([&f, breakers = std::move(breakers)] {
    for (const auto& b : breakers) {
      const resilience::BreakerState now = b->state();
      for (auto st : {resilience::BreakerState::kClosed, resilience::BreakerState::kOpen,
                      resilience::BreakerState::kHalfOpen}) {
        f.Set({{"dependency", b->name()}, {"state", std::string(BreakerStateName(st))}}, st == now ? 1 : 0);
      }
    }
  });
}

std::vector<api::ReadinessCheck> ReadinessChecks(db::Database& db, store::ObjectStore& store,
                                                 redis::RedisClient* redis) {
  std::vector<api::ReadinessCheck> checks;
  checks.push_back({"database", [&db] { return db.Ping(); }});
  checks.push_back({"storage", [&store] { return store.Check(); }});
  if (redis) checks.push_back({"redis", [redis] { return redis->Ping(); }});
  return checks;
}

StuckJobWatch::StuckJobWatch(db::JobQueue& jobs, const Clock& clock, int64_t stuck_ms, Log log)
    : jobs_(jobs), clock_(clock), stuck_ms_(stuck_ms), log_(std::move(log)) {}

StuckJobWatch::~StuckJobWatch() { Stop(); }

void StuckJobWatch::Start(int64_t period_ms) {
  thread_ = std::thread([this, period_ms] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      CheckOnce();
      lock.lock();
      cv_.wait_for(lock, std::chrono::milliseconds(period_ms), [this] { return stopping_; });
    }
  });
}

void StuckJobWatch::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string StuckJobWatch::CheckOnce() {
  Result<db::JobStats> s = jobs_.Stats();
  if (!s.ok()) return "";
  const int64_t now = clock_.NowMs();
  std::string msg;
  auto check = [&](const char* what, int64_t created) {
    if (created == 0 || now - created <= stuck_ms_) return;
    if (!msg.empty()) msg += "; ";
    msg += std::string("the oldest ") + what + " job is " + std::to_string((now - created) / 1000) + " s old";
  };
  check("queued", s->oldest_queued_created_ms);
  check("running", s->oldest_running_created_ms);
  if (s->expired_leases > 0) {
    if (!msg.empty()) msg += "; ";
    msg += std::to_string(s->expired_leases) + " running job(s) lost their worker (lease expired)";
  }
  if (msg.empty()) return "";
  msg = "jobs look stuck: " + msg + " (see `visionsync jobs list`)";
  log_(msg);
  return msg;
}

}  // namespace vs::app
