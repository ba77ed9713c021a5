// RateLimiter shared by every process that talks to one Redis: the exact
// sliding window of the memory limiter (same tiers, same Decision values),
// kept in Redis so that N server processes together allow `limit` requests
// per window, not N * limit.
#pragma once

#include <memory>
#include <vector>

#include "core/clock.h"
#include "ratelimit/rate_limiter.h"
#include "redis/client.h"
#include "resilience/circuit_breaker.h"

namespace vs::ratelimit {

// Each check is one atomic Lua script on a sorted set per (tier, client)
// (members are accepted requests, scores their times): drop entries that
// left the window, count, add when below the limit, expire the key a minute
// after the window (idle clients cost nothing). `now` comes from `clock`,
// not from the Redis server, so all processes must run synchronized clocks
// (as the windows are seconds to minutes, NTP is plenty).
//
// Degradation: when Redis fails or `breaker` is open, the decision comes
// from `fallback` (normally a memory limiter with the same tiers), so limits
// become per process (N * limit overall) instead of failing open or closed.
// The breaker's half-open trial sends one request to Redis after its open
// period; success brings every later check back to Redis. Counts made in the
// fallback are not copied to Redis and vice versa.
//
// `breaker` may be null (every check tries Redis; the client's reconnect
// backoff keeps a dead server cheap); `fallback` may be null (a memory
// limiter with `tiers` is made). `client` and `clock` must outlive the
// limiter. Thread-safe.
std::unique_ptr<RateLimiter> NewRedisRateLimiter(
    redis::RedisClient& client, std::vector<Tier> tiers, const Clock& clock,
    std::unique_ptr<RateLimiter> fallback, std::shared_ptr<resilience::CircuitBreaker> breaker);

}  // namespace vs::ratelimit
