#include "ratelimit/memory_rate_limiter.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <functional>
#include <limits>
#include <list>
#include <mutex>
#include <string_view>
#include <system_error>
#include <utility>

namespace vs::ratelimit {

namespace {

constexpr int64_t kMinuteMs = 60 * 1000;

// Upper bound on shards; with 2-16 cores this keeps contention low without
// fragmenting the per-shard LRU too much (see the eviction trade-off).
constexpr size_t kMaxShards = 16;

// A shard sweeps idle entries after max(this, its size) calls, so a sweep's
// O(size) walk costs at most one entry visit per call on average.
constexpr size_t kMinSweepInterval = 256;

std::string_view Trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Parses a whole string as a positive integer no larger than `max`.
template <typename Int>
bool ParsePositive(std::string_view s, Int max, Int* out) {
  Int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v <= 0 || v > max) {
    return false;
  }
  *out = v;
  return true;
}

Error InvalidSpec(std::string_view item, std::string_view why) {
  return MakeError("invalid_config", "rate limit entry \"" + std::string(item) + "\": " +
                                         std::string(why) + " (expected NAME=LIMIT/SECONDS)");
}

// Accepted timestamps of one (tier, client) in arrival order, as a ring that
// grows on demand up to `limit` slots: most clients send a few requests, so
// reserving `limit` slots up front would waste memory on every entry.
class TimestampLog {
 public:
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int64_t front() const { return buf_[head_]; }
  int64_t back() const { return buf_[(head_ + size_ - 1) % buf_.size()]; }

  void pop_front() {
    head_ = (head_ + 1) % buf_.size();
    --size_;
  }

  // Caller guarantees size() < max_size.
  void push_back(int64_t t, size_t max_size) {
    if (size_ == buf_.size()) Grow(max_size);
    buf_[(head_ + size_) % buf_.size()] = t;
    ++size_;
  }

  // Drops timestamps that are no longer inside (now - window, now].
  void Expire(int64_t now, int64_t window_ms) {
    while (!empty() && front() <= now - window_ms) pop_front();
  }

 private:
  void Grow(size_t max_size) {
    size_t cap = std::min(std::max<size_t>(4, buf_.size() * 2), max_size);
    std::vector<int64_t> next(cap);
    for (size_t i = 0; i < size_; ++i) next[i] = buf_[(head_ + i) % buf_.size()];
    buf_ = std::move(next);
    head_ = 0;
  }

  std::vector<int64_t> buf_;
  size_t head_ = 0;
  size_t size_ = 0;
};

}  // namespace

std::vector<Tier> DefaultTiers() {
  return {
      {"upload", 20, 15 * kMinuteMs}, {"general", 100, 15 * kMinuteMs},
      {"streaming", 300, kMinuteMs},  {"status", 60, kMinuteMs},
      {"search", 30, kMinuteMs},      {"webhook", 100, kMinuteMs},
      {"auth", 10, 15 * kMinuteMs},   {"transfer", 200, 15 * kMinuteMs},
  };
}

Result<std::vector<Tier>> ParseTiers(const std::string& spec, std::vector<Tier> base) {
  std::string_view rest = Trim(spec);
  if (rest.empty()) return base;

  // All entries are validated before any is applied, so a bad spec never
  // yields a half-applied configuration.
  std::vector<Tier> overrides;
  while (true) {
    size_t comma = rest.find(',');
    std::string_view item = Trim(rest.substr(0, comma));
    if (item.empty()) {
      return MakeError("invalid_config",
                       "rate limit spec \"" + spec + "\" has an empty entry (stray ',')");
    }
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) return InvalidSpec(item, "missing '='");
    std::string_view name = Trim(item.substr(0, eq));
    if (name.empty()) return InvalidSpec(item, "empty tier name");
    std::string_view value = Trim(item.substr(eq + 1));
    size_t slash = value.find('/');
    if (slash == std::string_view::npos) return InvalidSpec(item, "missing '/'");

    Tier tier;
    tier.name = std::string(name);
    if (!ParsePositive(Trim(value.substr(0, slash)), std::numeric_limits<int>::max(),
                       &tier.limit)) {
      return InvalidSpec(item, "LIMIT must be a positive integer");
    }
    int64_t seconds = 0;
    if (!ParsePositive(Trim(value.substr(slash + 1)), std::numeric_limits<int64_t>::max() / 1000,
                       &seconds)) {
      return InvalidSpec(item, "SECONDS must be a positive integer");
    }
    tier.window_ms = seconds * 1000;
    overrides.push_back(std::move(tier));

    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }

  for (Tier& o : overrides) {
    auto it =
        std::find_if(base.begin(), base.end(), [&](const Tier& t) { return t.name == o.name; });
    if (it != base.end()) {
      *it = std::move(o);
    } else {
      base.push_back(std::move(o));
    }
  }
  return base;
}

struct MemoryRateLimiter::Shard {
  struct Entry {
    std::string key;
    int64_t window_ms = 0;
    TimestampLog log;
  };

  // Drops entries with no timestamp inside their window. Such an entry
  // decides exactly like a missing one, so this never changes a decision.
  void Sweep(int64_t now) {
    for (auto it = lru.begin(); it != lru.end();) {
      if (it->log.empty() || it->log.back() <= now - it->window_ms) {
        index.erase(it->key);
        it = lru.erase(it);
      } else {
        ++it;
      }
    }
    calls_since_sweep = 0;
  }

  std::mutex mu;
  // Most recently used first. std::list keeps nodes in place, so `index` can
  // key on views of Entry::key instead of storing every key twice.
  std::list<Entry> lru;
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index;
  size_t capacity = 1;
  size_t calls_since_sweep = 0;
};

MemoryRateLimiter::MemoryRateLimiter(std::vector<Tier> tiers, const Clock& clock,
                                     size_t max_clients)
    : tiers_(std::move(tiers)), clock_(clock) {
  // Check() falls back to "general"; guarantee it exists even when a caller
  // passes a hand-built tier list without it.
  const bool has_general =
      std::any_of(tiers_.begin(), tiers_.end(), [](const Tier& t) { return t.name == "general"; });
  if (!has_general) {
    for (const Tier& t : DefaultTiers()) {
      if (t.name == "general") tiers_.push_back(t);
    }
  }
  for (size_t i = 0; i < tiers_.size(); ++i) {
    // A non-positive window would make every timestamp expire at once; one
    // millisecond is the smallest window the log can represent.
    tiers_[i].window_ms = std::max<int64_t>(tiers_[i].window_ms, 1);
    tier_index_[tiers_[i].name] = i;  // later duplicates win, as in ParseTiers
  }
  general_index_ = tier_index_.at("general");

  max_clients = std::max<size_t>(max_clients, 1);
  const size_t n = std::min(kMaxShards, max_clients);
  for (size_t i = 0; i < n; ++i) {
    auto shard = std::make_unique<Shard>();
    // Shares add up to exactly max_clients.
    shard->capacity = max_clients / n + (i < max_clients % n ? 1 : 0);
    shards_.push_back(std::move(shard));
  }
}

MemoryRateLimiter::~MemoryRateLimiter() = default;

const Tier& MemoryRateLimiter::FindTier(const std::string& name, size_t* index) const {
  auto it = tier_index_.find(name);
  *index = it != tier_index_.end() ? it->second : general_index_;
  return tiers_[*index];
}

Decision MemoryRateLimiter::Check(const std::string& tier_name, const std::string& client) {
  size_t tier_index = 0;
  const Tier& tier = FindTier(tier_name, &tier_index);
  // The numeric prefix cannot contain '|', so keys of different tiers never collide.
  std::string key = std::to_string(tier_index) + '|' + client;
  Shard& shard = *shards_[std::hash<std::string>{}(key) % shards_.size()];

  std::lock_guard<std::mutex> lock(shard.mu);
  // Read under the lock so that timestamps appended to one log are ordered.
  const int64_t now = clock_.NowMs();

  if (++shard.calls_since_sweep >= std::max(kMinSweepInterval, shard.lru.size())) {
    shard.Sweep(now);
  }

  auto found = shard.index.find(key);
  if (found != shard.index.end()) {
    shard.lru.splice(shard.lru.begin(), shard.lru, found->second);
  } else {
    if (shard.lru.size() >= shard.capacity) {
      shard.index.erase(shard.lru.back().key);
      shard.lru.pop_back();
    }
    shard.lru.push_front(Shard::Entry{std::move(key), tier.window_ms, {}});
    shard.index.emplace(shard.lru.front().key, shard.lru.begin());
  }
  TimestampLog& log = shard.lru.front().log;
  log.Expire(now, tier.window_ms);

  Decision d;
  d.limit = std::max(tier.limit, 0);
  if (log.size() < static_cast<size_t>(d.limit)) {
    // If the clock stepped backwards, keep the log ordered (and expiry
    // conservative) by never recording a time before the newest entry.
    log.push_back(log.empty() ? now : std::max(now, log.back()), d.limit);
    d.allowed = true;
    d.remaining = d.limit - static_cast<int>(log.size());
  }
  d.reset_ms = log.empty() ? now + tier.window_ms : log.front() + tier.window_ms;
  if (!d.allowed) d.retry_after_ms = std::max<int64_t>(d.reset_ms - now, 1);
  return d;
}

size_t MemoryRateLimiter::TrackedClients() const {
  size_t total = 0;
  for (const auto& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard->mu);
    total += shard->lru.size();
  }
  return total;
}

std::unique_ptr<RateLimiter> NewMemoryRateLimiter(std::vector<Tier> tiers, const Clock& clock,
                                                  size_t max_clients) {
  return std::make_unique<MemoryRateLimiter>(std::move(tiers), clock, max_clients);
}

}  // namespace vs::ratelimit
