// In-process RateLimiter (see rate_limiter.h for the contract). Declared here,
// rather than only behind NewMemoryRateLimiter, so tests can observe how many
// clients are tracked and prove that memory stays bounded.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "ratelimit/rate_limiter.h"

namespace vs::ratelimit {

// Exact sliding log per (tier, client), sharded by key hash so that
// concurrent requests for different clients rarely contend on one mutex.
//
// Memory bound: an entry whose log holds no timestamp inside its window is
// equivalent to no entry at all, so periodic sweeps drop such entries without
// changing any decision. On top of that each shard holds a fixed share of
// `max_clients` and, when full, evicts its least-recently-used entry (refused
// requests count as use). Trade-off: an evicted client starts with an empty
// log, so it could get up to `limit` extra requests. LRU makes that cost the
// attacker: to evict a client that keeps sending requests, about max_clients
// other keys (max_clients / shard count landing in its shard) must arrive
// between two of its requests.
//
// Thread-safe: Check() and TrackedClients() may be called from any thread.
class MemoryRateLimiter final : public RateLimiter {
 public:
  MemoryRateLimiter(std::vector<Tier> tiers, const Clock& clock, size_t max_clients);
  ~MemoryRateLimiter() override;

  Decision Check(const std::string& tier, const std::string& client) override;

  // Number of (tier, client) entries currently held; at most max_clients.
  size_t TrackedClients() const;

 private:
  struct Shard;

  const Tier& FindTier(const std::string& name, size_t* index) const;

  std::vector<Tier> tiers_;
  std::unordered_map<std::string, size_t> tier_index_;
  size_t general_index_ = 0;
  const Clock& clock_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace vs::ratelimit
