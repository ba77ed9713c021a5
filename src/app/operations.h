// What operators watch: the gauges read at scrape time (the job queue, the
// circuit breakers), the readiness checks of /readyz, and a watch that logs
// jobs that have waited or run too long. Wired up by the serve, api and
// worker commands.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/api.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "db/database.h"
#include "redis/client.h"
#include "resilience/circuit_breaker.h"
#include "store/object_store.h"

namespace vs::app {

// visionsync_jobs{state}, the age of the oldest queued and running job, and
// running jobs whose lease ran out; read from `jobs` at every scrape.
void AddQueueMetrics(metrics::Registry& registry, db::JobQueue& jobs, const Clock& clock);
// visionsync_circuit_breaker_state{dependency,state}: 1 for the current state.
void AddBreakerMetrics(metrics::Registry& registry,
                       std::vector<std::shared_ptr<resilience::CircuitBreaker>> breakers);
// database, storage, and redis when `redis` is set; on the adapters
// themselves (not behind breakers), so /readyz tells what is true now.
std::vector<api::ReadinessCheck> ReadinessChecks(db::Database& db, store::ObjectStore& store,
                                                 redis::RedisClient* redis);

// Logs a warning (once a minute while it lasts) when the oldest queued or
// running job is older than `stuck_ms`. One thread; Stop() or the
// destructor ends it.
class StuckJobWatch {
 public:
  using Log = std::function<void(const std::string& message)>;
  StuckJobWatch(db::JobQueue& jobs, const Clock& clock, int64_t stuck_ms, Log log);
  ~StuckJobWatch();
  void Start(int64_t period_ms = 60000);
  void Stop();
  // One check now; returns the warning logged, "" when none (for tests).
  std::string CheckOnce();

 private:
  db::JobQueue& jobs_;
  const Clock& clock_;
  const int64_t stuck_ms_;
  Log log_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace vs::app
