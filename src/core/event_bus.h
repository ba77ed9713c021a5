// In-process publish/subscribe for status events. The realtime module
// subscribes and fans events out to Socket.IO rooms; the Redis adapter comes
// with scale-out. Thread-safe; Publish calls subscribers synchronously on the
// publishing thread, so subscribers must be quick and must not block.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace vs {

// The bus event saying who may see a video may have changed (payload
// {"videoId":...,"visibility":...}), published by the video service: the
// realtime module re-checks the clients of the video's room and never sends
// it on to them.
inline constexpr const char* kVideoAccessEvent = "video-access";

struct Event {
  std::string name;      // "video-status" or "processing-progress"
  std::string video_id;  // room key
  std::string payload;   // JSON object: the event's argument
  // Set when the event crossed processes through a shared fan-out (Redis),
  // which numbers each video's events once for every process; 0 = the
  // receiving process numbers and stamps it itself.
  uint64_t seq = 0;
  int64_t timestamp_ms = 0;
};

class EventBus {
 public:
  using Subscriber = std::function<void(const Event&)>;
  int Subscribe(Subscriber fn) {
    std::lock_guard lock(mu_);
    subs_[next_] = std::move(fn);
    return next_++;
  }
  void Unsubscribe(int id) {
    std::lock_guard lock(mu_);
    subs_.erase(id);
  }
  void Publish(const Event& e) {
    std::map<int, Subscriber> copy;
    {
      std::lock_guard lock(mu_);
      copy = subs_;
    }
    for (auto& [id, fn] : copy) fn(e);
  }

 private:
  std::mutex mu_;
  int next_ = 0;
  std::map<int, Subscriber> subs_;
};

}  // namespace vs
