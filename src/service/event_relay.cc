#include "service/event_relay.h"

#include <chrono>
#include <utility>

namespace vs::service {

namespace {
constexpr int kBatch = 500;         // events read per query
constexpr uint64_t kPruneEvery = 200;  // appends between prunes
}  // namespace

EventOutbox::EventOutbox(db::EventLog& log, EventBus& bus, const Clock& clock, std::string origin,
                         int64_t keep_ms)
    : log_(log), bus_(bus), clock_(clock), origin_(std::move(origin)), keep_ms_(keep_ms) {
  subscription_ = bus_.Subscribe([this](const Event& e) {
    (void)log_.Append(origin_, e);
    if (appended_++ % kPruneEvery == 0) (void)log_.Prune(clock_.NowMs() - keep_ms_);  // the first prunes too
  });
}

EventOutbox::~EventOutbox() { bus_.Unsubscribe(subscription_); }

EventRelay::EventRelay(db::EventLog& log, EventBus& bus, std::string origin, int interval_ms)
    : log_(log), bus_(bus), origin_(std::move(origin)), interval_ms_(interval_ms) {}

EventRelay::~EventRelay() { Stop(); }

void EventRelay::Start() {
  // Only what happens from now on: older events were for clients that have
  // the current state from the API anyway.
  {
    auto last = log_.LastId();
    std::lock_guard lock(poll_mu_);
    last_id_ = last.ok() ? *last : 0;
  }
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stop_) {
      lock.unlock();
      // A full batch means more may be waiting: no pause before the next.
      const bool more = PollOnce() >= kBatch;
      lock.lock();
      if (!more) cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [this] { return stop_; });
    }
  });
}

void EventRelay::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int EventRelay::PollOnce() {
  std::lock_guard lock(poll_mu_);
  auto batch = log_.After(last_id_, kBatch);
  if (!batch.ok()) return 0;  // e.g. the database is busy: next round
  for (const db::StoredEvent& e : *batch) {
    last_id_ = e.id;
    if (e.origin == origin_) continue;  // our own: published here already
    bus_.Publish(e.event);
  }
  return static_cast<int>(batch->size());
}

}  // namespace vs::service
