#include "redis/client.h"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string_view>
#include <system_error>
#include <utility>

#include "redis/connection.h"

namespace vs::redis {

namespace {

int64_t SteadyMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

Error BadUrl(const std::string& url, const std::string& why) {
  return MakeError("invalid_config", "redis URL \"" + url + "\": " + why +
                                         " (expected redis://[:password@]host[:port][/db])");
}

bool ParseInt(std::string_view s, int base, int min, int max, int* out) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < min || v > max) {
    return false;
  }
  *out = v;
  return true;
}

// %XX escapes, so that a password may contain '@', ':' or '/'.
bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    int byte = 0;
    if (i + 2 >= in.size() || !ParseInt(in.substr(i + 1, 2), 16, 0, 255, &byte)) return false;
    out->push_back(static_cast<char>(byte));
    i += 2;
  }
  return true;
}

std::string Sha1Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha1(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xf]);
  }
  return out;
}

}  // namespace

Result<RedisOptions> ParseRedisUrl(const std::string& url) {
  constexpr std::string_view kScheme = "redis://";
  std::string_view rest(url);
  if (rest.substr(0, kScheme.size()) != kScheme) return BadUrl(url, "scheme must be redis://");
  rest.remove_prefix(kScheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return BadUrl(url, "query parameters are not supported");
  }

  RedisOptions o;
  // The password may contain '@' only escaped, so the last '@' ends it.
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) return BadUrl(url, "user name without a password");
    if (!PercentDecode(userinfo.substr(colon + 1), &o.password)) {
      return BadUrl(url, "bad %-escape in the password");
    }
  }

  std::string_view hostport = rest.substr(0, rest.find('/'));
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && !ParseInt(db, 10, 0, 1 << 20, &o.db)) {
      return BadUrl(url, "database must be a number");
    }
  }

  std::string_view port;
  if (!hostport.empty() && hostport.front() == '[') {  // [IPv6]:port
    size_t close = hostport.find(']');
    if (close == std::string_view::npos) return BadUrl(url, "unterminated [IPv6 address]");
    o.host = std::string(hostport.substr(1, close - 1));
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return BadUrl(url, "junk after ]");
      port = after.substr(1);
      if (port.empty()) return BadUrl(url, "empty port");
    }
  } else {
    size_t colon = hostport.find(':');
    o.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = hostport.substr(colon + 1);
      if (port.empty()) return BadUrl(url, "empty port");
    }
  }
  if (o.host.empty()) return BadUrl(url, "missing host");
  if (!port.empty() && !ParseInt(port, 10, 1, 65535, &o.port)) {
    return BadUrl(url, "port must be 1-65535");
  }
  return o;
}

Script::Script(std::string source) : source_(std::move(source)), sha1_(Sha1Hex(source_)) {}

// Connections not in use wait in `idle_`; `open_` counts them plus the ones
// lent out, and never exceeds pool_size.
class RedisClient::Pool {
 public:
  explicit Pool(const RedisOptions& o) : options_(o) {
    options_.pool_size = std::max(options_.pool_size, 1);
  }

  Result<std::unique_ptr<Connection>> Acquire() {
    std::unique_lock lock(mu_);
    // A caller waits for a connection at most as long as one command can
    // take, then gives up rather than queueing behind a stuck server.
    const auto wait =
        std::chrono::milliseconds(options_.connect_timeout_ms + options_.command_timeout_ms);
    if (!cv_.wait_for(lock, wait, [&] { return !idle_.empty() || open_ < options_.pool_size; })) {
      return RedisError(Where() + ": all " + std::to_string(options_.pool_size) +
                        " connections busy");
    }
    while (!idle_.empty()) {
      std::unique_ptr<Connection> c = std::move(idle_.back());
      idle_.pop_back();
      if (c->LooksIdleAndOpen()) return c;
      --open_;  // closed by the server (restart, idle timeout): drop it
    }
    const int64_t now = SteadyMs();
    if (now < retry_at_ms_) {
      return RedisError(Where() + " unavailable (" + last_error_ + "); next attempt in " +
                        std::to_string(retry_at_ms_ - now) + " ms");
    }
    ++open_;
    lock.unlock();
    auto c = Connection::Open(options_);
    lock.lock();
    if (!c.ok()) {
      --open_;
      ++failed_connects_;
      last_error_ = c.error().message;
      retry_at_ms_ = SteadyMs() + ReconnectDelayMs(failed_connects_, options_.reconnect_backoff_ms,
                                                   options_.max_reconnect_backoff_ms);
      cv_.notify_one();
      return c.error();
    }
    failed_connects_ = 0;
    retry_at_ms_ = 0;
    return std::move(c).value();
  }

  void Release(std::unique_ptr<Connection> c) {
    std::lock_guard lock(mu_);
    if (c->broken()) {
      --open_;
      // Its siblings most likely broke the same way (server restart); drop
      // them now instead of letting each fail one more caller.
      open_ -= static_cast<int>(idle_.size());
      idle_.clear();
    } else {
      idle_.push_back(std::move(c));
    }
    cv_.notify_one();
  }

 private:
  std::string Where() const {
    return "redis " + options_.host + ":" + std::to_string(options_.port);
  }

  RedisOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int open_ = 0;
  int failed_connects_ = 0;
  int64_t retry_at_ms_ = 0;
  std::string last_error_;
};

RedisClient::RedisClient(RedisOptions options)
    : options_(std::move(options)), pool_(std::make_unique<Pool>(options_)) {}

RedisClient::~RedisClient() = default;

Result<Reply> RedisClient::Run(const std::vector<std::string>& argv) {
  if (argv.empty()) return RedisError("redis: empty command");
  VS_ASSIGN_OR_RETURN(std::unique_ptr<Connection> c, pool_->Acquire());
  Result<Reply> r = c->Exchange(argv);
  pool_->Release(std::move(c));
  return r;
}

Result<Reply> RedisClient::Command(const std::vector<std::string>& argv) {
  VS_ASSIGN_OR_RETURN(Reply r, Run(argv));
  if (r.type == Reply::Type::kError) return ReplyError(r, argv[0]);
  return r;
}

Result<Reply> RedisClient::Eval(const Script& script, const std::vector<std::string>& keys,
                                const std::vector<std::string>& args) {
  std::vector<std::string> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.push_back("EVALSHA");
  argv.push_back(script.sha1());
  argv.push_back(std::to_string(keys.size()));
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  VS_ASSIGN_OR_RETURN(Reply r, Run(argv));
  if (r.type == Reply::Type::kError && r.str.rfind("NOSCRIPT", 0) == 0) {
    // EVAL also caches the script, so later calls take the EVALSHA path.
    argv[0] = "EVAL";
    argv[1] = script.source();
    VS_ASSIGN_OR_RETURN(r, Run(argv));
  }
  if (r.type == Reply::Type::kError) return ReplyError(r, "EVALSHA");
  return r;
}

Status RedisClient::Ping() {
  VS_ASSIGN_OR_RETURN(Reply r, Command({"PING"}));
  (void)r;
  return {};
}

}  // namespace vs::redis
