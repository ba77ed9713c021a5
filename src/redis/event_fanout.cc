#include "redis/event_fanout.h"

#include <algorithm>
#include <charconv>
#include <list>
#include <optional>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "redis/connection.h"

namespace vs::redis {

namespace {

// How long the subscriber waits for data before checking for Stop(), and
// how long a silent subscription may stay quiet before it is pinged. A
// subscription that does not answer the ping within the command timeout is
// treated as dead (the server may be gone without closing the socket).
constexpr int kPollMs = 100;
constexpr int64_t kPingIdleMs = 1000;

// A process without a delivery bus retries an event Redis refused this often.
constexpr int64_t kRepublishMs = 200;

// Videos whose last delivered seq is remembered for catch-up.
constexpr size_t kTrackedVideos = 1024;

// KEYS[1] the video's counter, KEYS[2] its replay list.
// ARGV[1] the framed event, ARGV[2] replay size, ARGV[3] TTL in ms,
// ARGV[4] the channel. Returns the event's seq.
//
// A missing counter starts at the server's clock in ms (see the header), so
// numbers stay increasing when the counter expired or Redis lost its data.
// Running INCR, RPUSH and PUBLISH in one script is what makes publish order
// equal seq order across publishers.
const Script& PublishScript() {
  static const Script script(R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then
  local t = redis.call('TIME')
  redis.call('SET', KEYS[1], string.format('%d', t[1] * 1000 + math.floor(t[2] / 1000)))
end
local seq = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local msg = string.format('%d', seq) .. ',' .. ARGV[1]
local keep = tonumber(ARGV[2])
if keep > 0 then
  redis.call('RPUSH', KEYS[2], msg)
  redis.call('LTRIM', KEYS[2], -keep, -1)
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
redis.call('PUBLISH', ARGV[4], msg)
return seq
)lua");
  return script;
}

// Wire format of one event: "<seq>," then four length-prefixed fields
// "<len>:<bytes>" (timestamp_ms, name, video_id, payload). Binary-safe and
// trivially parsed in C++; the script only prepends the seq.
void AppendField(std::string* out, std::string_view field) {
  out->append(std::to_string(field.size()));
  out->push_back(':');
  out->append(field);
}

std::string EncodeBody(const Event& e) {
  std::string out;
  out.reserve(e.name.size() + e.video_id.size() + e.payload.size() + 32);
  AppendField(&out, std::to_string(e.timestamp_ms));
  AppendField(&out, e.name);
  AppendField(&out, e.video_id);
  AppendField(&out, e.payload);
  return out;
}

template <typename Int>
bool ParseNumber(std::string_view s, Int* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

// Consumes "<n>:<n bytes>" from the front of `in`.
bool ReadField(std::string_view* in, std::string_view* field) {
  size_t colon = in->find(':');
  size_t len = 0;
  if (colon == std::string_view::npos || !ParseNumber(in->substr(0, colon), &len) ||
      len > in->size() - colon - 1) {
    return false;
  }
  *field = in->substr(colon + 1, len);
  in->remove_prefix(colon + 1 + len);
  return true;
}

std::optional<Event> Decode(std::string_view msg) {
  size_t comma = msg.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  Event e;
  std::string_view rest = msg.substr(comma + 1);
  std::string_view ts, name, video, payload;
  if (!ParseNumber(msg.substr(0, comma), &e.seq) || e.seq == 0 || !ReadField(&rest, &ts) ||
      !ParseNumber(ts, &e.timestamp_ms) || !ReadField(&rest, &name) || !ReadField(&rest, &video) ||
      !ReadField(&rest, &payload) || !rest.empty()) {
    return std::nullopt;
  }
  e.name = std::string(name);
  e.video_id = std::string(video);
  e.payload = std::string(payload);
  return e;
}

}  // namespace

class RedisEventFanout::Tracker {
 public:
  // True when `seq` is newer than anything delivered for the video (or the
  // video is not tracked); records it.
  bool Advance(const std::string& video_id, uint64_t seq) {
    auto it = index_.find(video_id);
    if (it == index_.end()) {
      if (lru_.size() >= kTrackedVideos) {
        index_.erase(lru_.back().video_id);
        lru_.pop_back();
      }
      lru_.push_front({video_id, seq});
      index_.emplace(video_id, lru_.begin());
      return true;
    }
    lru_.splice(lru_.begin(), lru_, it->second);
    if (seq <= it->second->last_seq) return false;
    it->second->last_seq = seq;
    return true;
  }

  std::vector<std::string> Videos() const {
    std::vector<std::string> out;
    out.reserve(lru_.size());
    for (const auto& v : lru_) out.push_back(v.video_id);
    return out;
  }

 private:
  struct Video {
    std::string video_id;
    uint64_t last_seq = 0;
  };
  std::list<Video> lru_;  // most recently delivered first
  std::unordered_map<std::string, std::list<Video>::iterator> index_;
};

RedisEventFanout::RedisEventFanout(RedisOptions redis, EventBus& origin, EventBus* delivery,
                                   const Clock& clock, FanoutOptions options)
    : options_(std::move(options)),
      redis_options_(std::move(redis)),
      origin_(origin),
      delivery_(delivery),
      clock_(clock),
      client_([this] {
        // The publisher thread, the subscriber's catch-up and Recent() callers.
        RedisOptions o = redis_options_;
        o.pool_size = 3;
        // Events go local (or wait) while the client backs off, so it
        // should notice a returning Redis soon; a connect attempt every
        // half second costs the publisher thread, not a caller.
        o.max_reconnect_backoff_ms = std::min(o.max_reconnect_backoff_ms, 500);
        return o;
      }()),
      channel_(options_.key_prefix + "events"),
      tracker_(std::make_unique<Tracker>()) {}

RedisEventFanout::~RedisEventFanout() { Stop(); }

void RedisEventFanout::Start() {
  std::lock_guard lock(mu_);
  if (started_) return;
  started_ = true;
  origin_subscription_ = origin_.Subscribe([this](const Event& e) { Enqueue(e); });
  publisher_ = std::thread([this] { PublisherLoop(); });
  if (delivery_ != nullptr) subscriber_ = std::thread([this] { SubscriberLoop(); });
}

void RedisEventFanout::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
  }
  origin_.Unsubscribe(origin_subscription_);
  cv_.notify_all();
  {
    std::lock_guard lock(conn_mu_);
    if (conn_ != nullptr) conn_->Shutdown();
  }
  if (publisher_.joinable()) publisher_.join();
  if (subscriber_.joinable()) subscriber_.join();
  subscribed_ = false;
}

FanoutStats RedisEventFanout::stats() const {
  FanoutStats s;
  s.published = counters_.published.load();
  s.published_local = counters_.published_local.load();
  s.dropped = counters_.dropped.load();
  s.delivered = counters_.delivered.load();
  s.caught_up = counters_.caught_up.load();
  s.subscriptions = counters_.subscriptions.load();
  s.malformed = counters_.malformed.load();
  s.publish_failures = counters_.publish_failures.load();
  return s;
}

void RedisEventFanout::Enqueue(const Event& e) {
  Event copy = e;
  // Stamped when it happened, not when the publisher thread gets to it.
  if (copy.timestamp_ms == 0) copy.timestamp_ms = clock_.NowMs();
  copy.seq = 0;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    if (queue_.size() >= std::max<size_t>(options_.max_queued, 1)) {
      ++counters_.dropped;
      return;
    }
    queue_.push_back(std::move(copy));
  }
  cv_.notify_all();
}

void RedisEventFanout::PublisherLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Event e = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    const bool sent = PublishOne(e);
    lock.lock();
    if (sent) continue;
    ++counters_.publish_failures;
    if (delivery_ != nullptr) {
      // This process's clients still get the event, numbered locally.
      ++counters_.published_local;
      lock.unlock();
      delivery_->Publish(e);
      lock.lock();
    } else {
      // Nobody here could show it: keep it (first, to keep the order) and
      // try again shortly, unless Stop() comes first.
      queue_.push_front(std::move(e));
      cv_.wait_for(lock, std::chrono::milliseconds(kRepublishMs), [&] { return stopping_.load(); });
    }
  }
}

bool RedisEventFanout::PublishOne(const Event& e) {
  const std::string& p = options_.key_prefix;
  Result<Reply> r =
      client_.Eval(PublishScript(), {p + "seq:" + e.video_id, p + "ev:" + e.video_id},
                   {EncodeBody(e), std::to_string(std::max(options_.replay_size, 0)),
                    std::to_string(std::max<int64_t>(options_.replay_ttl_ms, 1)), channel_});
  if (r.ok()) ++counters_.published;
  return r.ok();
}

Result<std::vector<Event>> RedisEventFanout::Recent(const std::string& video_id) {
  VS_ASSIGN_OR_RETURN(
      Reply r, client_.Command({"LRANGE", options_.key_prefix + "ev:" + video_id, "0", "-1"}));
  std::vector<Event> out;
  out.reserve(r.elements.size());
  for (const Reply& item : r.elements) {
    std::optional<Event> e = item.is_string() ? Decode(item.str) : std::nullopt;
    if (e) {
      out.push_back(std::move(*e));
    } else {
      ++counters_.malformed;
    }
  }
  return out;
}

bool RedisEventFanout::SleepUnlessStopping(int64_t ms) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping_.load(); });
}

void RedisEventFanout::SubscriberLoop() {
  int failures = 0;
  bool reconnected = false;
  while (!stopping_) {
    Result<std::unique_ptr<Connection>> conn = Connection::Open(redis_options_);
    if (conn.ok()) {
      {
        std::lock_guard lock(conn_mu_);
        conn_ = conn->get();
      }
      // Stop() may have run between the check above and the registration.
      if (!stopping_) RunSubscription(**conn, reconnected);
      {
        std::lock_guard lock(conn_mu_);
        conn_ = nullptr;
      }
      if (subscribed_.exchange(false)) {
        failures = 0;
        reconnected = true;
      }
    }
    if (stopping_) return;
    ++failures;
    if (SleepUnlessStopping(ReconnectDelayMs(failures, options_.resubscribe_backoff_ms,
                                             options_.max_resubscribe_backoff_ms))) {
      return;
    }
  }
}

void RedisEventFanout::RunSubscription(Connection& conn, bool reconnected) {
  if (!conn.Send({"SUBSCRIBE", channel_}).ok()) return;
  const int64_t ping_timeout_ms = std::max(redis_options_.command_timeout_ms, 1);
  auto now_ms = [] {
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
  };
  int64_t last_heard = now_ms();
  int64_t ping_sent = 0;  // 0: no ping outstanding
  while (!stopping_) {
    Result<bool> readable = conn.Poll(kPollMs);
    if (!readable.ok()) return;
    const int64_t now = now_ms();
    if (*readable) {
      last_heard = now;
      ping_sent = 0;
    } else if (ping_sent == 0 && now - last_heard >= kPingIdleMs) {
      if (!conn.Send({"PING"}).ok()) return;
      ping_sent = now;
    } else if (ping_sent != 0 && now - ping_sent > ping_timeout_ms) {
      return;  // silent server: reconnect
    }
    while (true) {
      Result<std::unique_ptr<Reply>> next = conn.Next();
      if (!next.ok()) return;
      if (*next == nullptr) break;
      const Reply& reply = **next;
      if (!reply.is_array() || reply.elements.empty()) continue;
      const std::string& kind = reply.elements[0].str;
      if (kind == "message" && reply.elements.size() == 3) {
        std::optional<Event> e = Decode(reply.elements[2].str);
        if (e) {
          Deliver(std::move(*e), false);
        } else {
          ++counters_.malformed;
        }
      } else if (kind == "subscribe") {
        subscribed_ = true;
        ++counters_.subscriptions;
        // Messages published while the subscriber was away are gone; the
        // replay buffers hold the recent ones. Live messages wait in the
        // socket meanwhile, and the tracker drops the ones read twice.
        if (reconnected) CatchUp();
      }
      // "pong" (our keepalive) needs nothing beyond last_heard.
    }
  }
}

void RedisEventFanout::CatchUp() {
  for (const std::string& video : tracker_->Videos()) {
    if (stopping_) return;
    Result<std::vector<Event>> events = Recent(video);
    if (!events.ok()) return;  // the subscription will notice the outage too
    for (Event& e : *events) Deliver(std::move(e), true);
  }
}

void RedisEventFanout::Deliver(Event e, bool from_catch_up) {
  if (!tracker_->Advance(e.video_id, e.seq)) return;
  ++counters_.delivered;
  if (from_catch_up) ++counters_.caught_up;
  delivery_->Publish(e);
}

}  // namespace vs::redis
