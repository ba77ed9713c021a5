// A small synchronous Redis client (hiredis underneath; hiredis types never
// leave this module) for the adapters that share state between processes:
// rate limits and live events.
//
// Failures are values: every call returns a Result whose error code is
// kRedisError ("redis_error", kind kUnavailable) with a message that says what failed (connect,
// timeout, I/O, or the server's own error reply).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace vs::redis {

inline constexpr const char* kRedisError = "redis_error";

// A failed Redis call: kRedisError, kUnavailable.
inline Error RedisError(std::string message) {
  return MakeError(ErrorKind::kUnavailable, kRedisError, std::move(message));
}

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string password;  // empty: no AUTH
  int connect_timeout_ms = 1000;
  int command_timeout_ms = 1000;
  // Connections the client may hold open at once; callers beyond that wait
  // for a free one.
  int pool_size = 4;
  // After a failed connect, further connects are refused without touching
  // the network for a jittered, doubling delay that starts here...
  int reconnect_backoff_ms = 100;
  // ...and stops growing here.
  int max_reconnect_backoff_ms = 2000;
};

// "redis://[:password@]host[:port][/db]". "redis://user:password@host" is
// accepted too (Redis 6 ACL form); the user name is ignored because
// RedisOptions carries only a password. Errors: "invalid_config".
Result<RedisOptions> ParseRedisUrl(const std::string& url);

// An owned copy of one reply. Status replies ("OK", "PONG") are strings.
// Error replies appear only inside arrays (e.g. a script's returned table):
// a top-level error reply is returned as a failed Result instead.
struct Reply {
  enum class Type { kNil, kInteger, kString, kArray, kError };

  Type type = Type::kNil;
  int64_t integer = 0;          // kInteger
  std::string str;              // kString, kError
  std::vector<Reply> elements;  // kArray

  bool is_nil() const { return type == Type::kNil; }
  bool is_integer() const { return type == Type::kInteger; }
  bool is_string() const { return type == Type::kString; }
  bool is_array() const { return type == Type::kArray; }
};

// A Lua script identified by its SHA-1, computed once, so callers can run it
// with EVALSHA and fall back to EVAL when the server does not know it yet
// (after a restart or SCRIPT FLUSH).
class Script {
 public:
  explicit Script(std::string source);
  const std::string& source() const { return source_; }
  const std::string& sha1() const { return sha1_; }  // lowercase hex

 private:
  std::string source_;
  std::string sha1_;
};

// Thread-safe: any thread may call any method; up to pool_size commands run
// at once, each on its own connection. A connection that fails (I/O error,
// timeout) is closed, and the next call that needs one connects again
// (subject to the reconnect backoff, so a dead server costs one connect
// timeout per backoff period, not one per call). Commands are never retried
// here: a command that timed out may or may not have run.
class RedisClient {
 public:
  explicit RedisClient(RedisOptions options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Sends one command (binary-safe arguments) and waits for its reply.
  Result<Reply> Command(const std::vector<std::string>& argv);

  // EVALSHA script.sha1 numkeys keys... args..., and EVAL on NOSCRIPT.
  Result<Reply> Eval(const Script& script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args);

  // PING; ok when the server answered.
  Status Ping();

  const RedisOptions& options() const { return options_; }

 private:
  class Pool;

  // Runs one command on a pooled connection; error replies stay replies.
  Result<Reply> Run(const std::vector<std::string>& argv);

  RedisOptions options_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace vs::redis
