// Status events between processes that share one database (db::EventLog):
// a `visionsync worker` process serves no live clients, so its events would
// otherwise never reach the browsers connected to the server.
//
//   worker process:  VideoService ─► EventBus ─► EventOutbox ─► events table
//   server process:  events table ─► EventRelay (polls) ─► EventBus ─► Socket.IO / SSE
//
// Latency across processes is the relay's polling interval (250 ms by
// default); events published inside the server still go out at once.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/event_bus.h"
#include "db/repository.h"

namespace vs::service {

// Appends every event published on `bus` to the log, and now and then
// removes rows older than `keep_ms`. Best effort: a failed append loses one
// live update, never a status (the database row is the truth).
class EventOutbox {
 public:
  EventOutbox(db::EventLog& log, EventBus& bus, const Clock& clock, std::string origin,
              int64_t keep_ms = 10 * 60 * 1000);
  ~EventOutbox();
  EventOutbox(const EventOutbox&) = delete;
  EventOutbox& operator=(const EventOutbox&) = delete;

 private:
  db::EventLog& log_;
  EventBus& bus_;
  const Clock& clock_;
  const std::string origin_;
  const int64_t keep_ms_;
  int subscription_ = -1;
  std::atomic<uint64_t> appended_{0};
};

// Publishes on `bus` the events other processes appended to the log since
// Start(), in order, checking every `interval_ms` on its own thread.
class EventRelay {
 public:
  EventRelay(db::EventLog& log, EventBus& bus, std::string origin, int interval_ms = 250);
  ~EventRelay();
  EventRelay(const EventRelay&) = delete;
  EventRelay& operator=(const EventRelay&) = delete;

  void Start();
  void Stop();  // idempotent
  // One round now (also what the thread does): returns how many log rows
  // it read, its own included.
  int PollOnce();

 private:
  db::EventLog& log_;
  EventBus& bus_;
  const std::string origin_;
  const int interval_ms_;
  std::mutex poll_mu_;  // one round at a time
  int64_t last_id_ = 0;  // guarded by poll_mu_
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace vs::service
