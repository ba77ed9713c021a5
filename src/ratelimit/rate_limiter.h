// Sliding-window rate limiting per client and tier (the original's seven
// tiers). Only accepted requests count against the window. Adapters: memory
// (this file) and, with scale-out, Redis.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace vs::ratelimit {

struct Tier {
  std::string name;  // "upload", "general", "streaming", "status", "search", "webhook", "auth"
  int limit = 0;     // requests per window
  int64_t window_ms = 0;
};

// upload 20/15 min, general 100/15 min, streaming 300/min, status 60/min,
// search 30/min, webhook 100/min, auth 10/15 min.
std::vector<Tier> DefaultTiers();

// Overrides on top of `base` from "name=LIMIT/SECONDS,..." e.g.
// "upload=50/900,streaming=1000/60". Unknown names add a tier.
Result<std::vector<Tier>> ParseTiers(const std::string& spec, std::vector<Tier> base);

struct Decision {
  bool allowed = false;
  int limit = 0;
  int remaining = 0;         // after this request
  int64_t reset_ms = 0;      // epoch ms when the oldest counted request leaves the window
  int64_t retry_after_ms = 0;  // when refused: wait this long
};

// Thread-safe.
class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // Counts the request if allowed. An unknown tier name uses "general".
  virtual Decision Check(const std::string& tier, const std::string& client) = 0;
};

// Exact sliding window (a log of accepted timestamps per tier and client;
// at most `limit` entries each). Idle clients are forgotten, and the number
// of tracked clients is capped (oldest-idle evicted), so memory stays bounded
// under an address-spraying attack.
std::unique_ptr<RateLimiter> NewMemoryRateLimiter(std::vector<Tier> tiers, const Clock& clock,
                                                  size_t max_clients = 100000);

}  // namespace vs::ratelimit
