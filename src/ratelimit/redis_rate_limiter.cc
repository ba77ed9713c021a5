#include "ratelimit/redis_rate_limiter.h"

#include <algorithm>
#include <atomic>
#include <string>
#include <unordered_map>
#include <utility>

#include "core/ids.h"
#include "ratelimit/memory_rate_limiter.h"

namespace vs::ratelimit {

namespace {

// Idle keys expire this long after their newest entry left the window.
// Redis counts a TTL on its own clock while entries carry the callers'
// times; the slack keeps entries that still count for a process whose clock
// runs behind (or that stalled, or runs on a FakeClock in tests) from
// vanishing early. It costs one idle key per client for a minute.
constexpr int64_t kExpirySlackMs = 60'000;

// KEYS[1]: the (tier, client) sorted set. ARGV: now, window, limit (ms,
// ms, count), a member name never used before, and the expiry slack (ms).
// Returns {allowed (0/1), requests counted in the window, reset time}.
//
// Mirrors MemoryRateLimiter::Check: an entry leaves the window when its time
// is <= now - window; only accepted requests are added; if the clock stepped
// backwards a new entry is recorded no earlier than the newest one, so
// slots are never freed early. The key expires (plus the slack) when its
// newest entry leaves the window, so idle clients cost no memory.
const redis::Script& CheckScript() {
  static const redis::Script script(R"lua(
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < limit then
  local at = now
  local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  if newest[2] and tonumber(newest[2]) > at then at = tonumber(newest[2]) end
  redis.call('ZADD', KEYS[1], at, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], at - now + window + tonumber(ARGV[5]))
  count = count + 1
  allowed = 1
end
local reset = now + window
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if oldest[2] then reset = tonumber(oldest[2]) + window end
return {allowed, count, reset}
)lua");
  return script;
}

class RedisRateLimiter final : public RateLimiter {
 public:
  RedisRateLimiter(redis::RedisClient& client, std::vector<Tier> tiers, const Clock& clock,
                   std::unique_ptr<RateLimiter> fallback,
                   std::shared_ptr<resilience::CircuitBreaker> breaker)
      : client_(client),
        clock_(clock),
        breaker_(std::move(breaker)),
        member_prefix_(RandomHex(8) + ":") {
    // The same tier table as the memory limiter builds, so that both decide
    // alike: "general" always exists, windows are at least 1 ms, a later
    // duplicate name wins.
    if (std::none_of(tiers.begin(), tiers.end(),
                     [](const Tier& t) { return t.name == "general"; })) {
      for (const Tier& t : DefaultTiers()) {
        if (t.name == "general") tiers.push_back(t);
      }
    }
    fallback_ = fallback ? std::move(fallback) : NewMemoryRateLimiter(tiers, clock);
    for (Tier& t : tiers) {
      t.window_ms = std::max<int64_t>(t.window_ms, 1);
      tiers_[t.name] = t;
    }
  }

  Decision Check(const std::string& tier_name, const std::string& client) override {
    if (breaker_ && !breaker_->Allow()) return fallback_->Check(tier_name, client);
    Result<Decision> d = CheckInRedis(Resolve(tier_name), client);
    if (!d.ok()) {
      if (breaker_) breaker_->RecordFailure();
      return fallback_->Check(tier_name, client);
    }
    if (breaker_) breaker_->RecordSuccess();
    return *d;
  }

 private:
  const Tier& Resolve(const std::string& name) const {
    auto it = tiers_.find(name);
    return it != tiers_.end() ? it->second : tiers_.at("general");
  }

  Result<Decision> CheckInRedis(const Tier& tier, const std::string& client) {
    const int64_t now = clock_.NowMs();
    Decision d;
    d.limit = std::max(tier.limit, 0);
    // The tier name is length-prefixed: names and client keys (IPv6
    // addresses) may both contain ':'.
    std::string key = "vs:rl:" + std::to_string(tier.name.size()) + ":" + tier.name + ":" + client;
    std::string member = member_prefix_ + std::to_string(next_member_++);
    VS_ASSIGN_OR_RETURN(
        redis::Reply r,
        client_.Eval(CheckScript(), {std::move(key)},
                     {std::to_string(now), std::to_string(tier.window_ms), std::to_string(d.limit),
                      std::move(member), std::to_string(kExpirySlackMs)}));
    if (!r.is_array() || r.elements.size() != 3 ||
        !std::all_of(r.elements.begin(), r.elements.end(),
                     [](const redis::Reply& e) { return e.is_integer(); })) {
      return redis::RedisError("redis rate limit script: unexpected reply");
    }
    d.allowed = r.elements[0].integer == 1;
    d.reset_ms = r.elements[2].integer;
    if (d.allowed) {
      d.remaining = std::max(d.limit - static_cast<int>(r.elements[1].integer), 0);
    } else {
      d.retry_after_ms = std::max<int64_t>(d.reset_ms - now, 1);
    }
    return d;
  }

  redis::RedisClient& client_;
  const Clock& clock_;
  std::unique_ptr<RateLimiter> fallback_;
  std::shared_ptr<resilience::CircuitBreaker> breaker_;
  std::unordered_map<std::string, Tier> tiers_;
  // Members must be unique across processes: a random prefix per limiter
  // and a counter.
  const std::string member_prefix_;
  std::atomic<uint64_t> next_member_{0};
};

}  // namespace

std::unique_ptr<RateLimiter> NewRedisRateLimiter(
    redis::RedisClient& client, std::vector<Tier> tiers, const Clock& clock,
    std::unique_ptr<RateLimiter> fallback, std::shared_ptr<resilience::CircuitBreaker> breaker) {
  return std::make_unique<RedisRateLimiter>(client, std::move(tiers), clock, std::move(fallback),
                                            std::move(breaker));
}

}  // namespace vs::ratelimit
