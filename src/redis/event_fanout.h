// Live events across processes through Redis.
//
//   any process:  origin EventBus ─► publisher thread ─► one Lua script per event:
//                   seq = INCR <prefix>seq:<video>      (numbered once, for everyone)
//                   RPUSH/LTRIM <prefix>ev:<video>      (replay buffer, replay_size, TTL)
//                   PUBLISH <prefix>events              (publish order == seq order)
//   each server:  SUBSCRIBE <prefix>events ─► subscriber thread ─► delivery EventBus
//                   (Event::seq and Event::timestamp_ms set)
//
// A process's own events reach its delivery bus through Redis too, so every
// process delivers the same events with the same numbers in the same order.
//
// Sequence numbers: strictly increasing per video for as long as Redis keeps
// the counter. A counter that does not exist yet (first event, expired after
// replay_ttl_ms of silence, or lost in a Redis restart without persistence)
// starts at the Redis server's clock in epoch milliseconds, so numbers keep
// increasing across such resets as long as a video averages fewer than 1000
// events per second. They are large (13 digits) but exact in JSON/JavaScript.
//
// When Redis is unavailable at publish time the event is published directly
// on `delivery` with seq 0 (the receiving code numbers it itself) so this
// process's clients still see it. Trade-offs: other processes never see that
// event, it is missing from the shared replay buffer, and if the script did
// run but its reply was lost (timeout) this process delivers the event twice
// (once locally, once from Redis). A process without a delivery bus (a
// worker) instead keeps the event queued and retries it every 200 ms, in
// order, until Redis takes it, Stop() is called or the queue overflows.
//
// Pub/sub is fire-and-forget: while the subscriber is disconnected, messages
// are lost. After it reconnects it reads the replay buffers of the videos it
// delivered events for recently (up to 1024) and delivers what it missed.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/event_bus.h"
#include "core/result.h"
#include "redis/client.h"

namespace vs::redis {

class Connection;  // connection.h, internal

struct FanoutOptions {
  std::string key_prefix = "vs:";
  int replay_size = 20;               // events kept per video for Recent()
  int64_t replay_ttl_ms = 3'600'000;  // replay buffer and counter expire after this much silence
  size_t max_queued = 10000;          // events waiting for the publisher thread; more are dropped
  int64_t resubscribe_backoff_ms = 100;       // first delay before the subscriber reconnects...
  int64_t max_resubscribe_backoff_ms = 2000;  // ...doubling (jittered) up to this
};

// Counters, for tests and metrics.
struct FanoutStats {
  uint64_t published = 0;         // events that went through Redis
  uint64_t publish_failures = 0;  // script calls that failed (Redis away or timed out)
  uint64_t published_local = 0;   // events delivered locally because their call failed
  uint64_t dropped = 0;           // events refused because the queue was full
  uint64_t delivered = 0;         // events published on `delivery` from Redis (incl. catch-up)
  uint64_t caught_up = 0;         // ...of which read from replay buffers after a reconnect
  uint64_t subscriptions = 0;     // successful SUBSCRIBEs (1 + reconnects)
  uint64_t malformed = 0;         // messages on the channel that could not be decoded
};

// Thread-safe. Start/Stop from the owner's thread; Recent/stats/subscribed
// from any thread. `origin`, `delivery` (may be null: a process without live
// clients) and `clock` must outlive the fanout, and nothing may still be
// publishing on `origin` when it is destroyed (EventBus may call a
// subscriber that has just unsubscribed). Events are published on
// `delivery` from the fanout's subscriber thread (or, when Redis fails, its
// publisher thread), never from the thread that published on `origin`.
class RedisEventFanout {
 public:
  RedisEventFanout(RedisOptions redis, EventBus& origin, EventBus* delivery, const Clock& clock,
                   FanoutOptions options = {});
  ~RedisEventFanout();  // Stop()
  RedisEventFanout(const RedisEventFanout&) = delete;
  RedisEventFanout& operator=(const RedisEventFanout&) = delete;

  // Subscribes to `origin` and starts the publisher and (with a delivery
  // bus) the subscriber thread. Does not wait for Redis: the subscriber
  // connects in the background and keeps retrying. Once only: Start after
  // Stop does nothing.
  void Start();
  // Unsubscribes from `origin`, stops both threads and joins them; events
  // still queued are dropped. Idempotent; returns within about one command
  // timeout.
  void Stop();

  // The video's buffered events, oldest first, with seq and timestamp_ms.
  Result<std::vector<Event>> Recent(const std::string& video_id);

  // True while the subscriber holds a confirmed subscription (events
  // published from now on will be delivered).
  bool subscribed() const { return subscribed_.load(); }
  FanoutStats stats() const;

 private:
  // Last seq delivered per video, for the catch-up after a reconnect and to
  // drop what the catch-up and the live channel both carry. Subscriber
  // thread only.
  class Tracker;

  void Enqueue(const Event& e);
  void PublisherLoop();
  bool PublishOne(const Event& e);  // true when Redis took it
  void SubscriberLoop();
  // Reads one subscription until it breaks or Stop() is called.
  void RunSubscription(Connection& conn, bool reconnected);
  void CatchUp();
  void Deliver(Event e, bool from_catch_up);
  // Sleeps up to `ms`; true when Stop() was called meanwhile.
  bool SleepUnlessStopping(int64_t ms);

  const FanoutOptions options_;
  const RedisOptions redis_options_;
  EventBus& origin_;
  EventBus* const delivery_;
  const Clock& clock_;
  RedisClient client_;  // the publisher's script calls and Recent()
  const std::string channel_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> queue_;
  bool started_ = false;
  std::atomic<bool> stopping_{false};
  int origin_subscription_ = -1;
  std::thread publisher_;
  std::thread subscriber_;

  // The subscriber's live connection, so Stop() can cut it short.
  std::mutex conn_mu_;
  Connection* conn_ = nullptr;

  std::unique_ptr<Tracker> tracker_;
  std::atomic<bool> subscribed_{false};

  struct Counters {
    std::atomic<uint64_t> published{0}, publish_failures{0}, published_local{0}, dropped{0},
        delivered{0}, caught_up{0}, subscriptions{0}, malformed{0};
  };
  Counters counters_;
};

}  // namespace vs::redis
