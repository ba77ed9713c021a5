// One blocking hiredis connection, owned by one thread at a time. Internal
// to the redis module: RedisClient pools these, the event fan-out's
// subscriber keeps one of its own.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "redis/client.h"

struct redisContext;

namespace vs::redis {

// Thread-compatible, except Shutdown(), which another thread may call to
// wake one blocked in Poll() or a read.
class Connection {
 public:
  // Connects, sets the command timeout and keepalive, sends AUTH/SELECT.
  static Result<std::unique_ptr<Connection>> Open(const RedisOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends one command and reads its reply. Error replies come back as a
  // Reply of Type::kError; a failed Result means the connection is broken
  // (I/O error, timeout, protocol error) and must be discarded.
  Result<Reply> Exchange(const std::vector<std::string>& argv);

  // Pipelined use (pub/sub): queue a command and write it out; replies are
  // read with Poll() + Next().
  Status Send(const std::vector<std::string>& argv);
  // Waits up to timeout_ms for something to read and reads it. Returns
  // false on timeout; an error when the connection broke.
  Result<bool> Poll(int timeout_ms);
  // The next complete reply already read, if any.
  Result<std::unique_ptr<Reply>> Next();

  // False when the server closed this idle connection (or sent something
  // unasked), e.g. after a restart: cheaper to notice than a failed command.
  bool LooksIdleAndOpen() const;

  // Shuts the socket down (without closing it) so that a blocked Poll or
  // read on another thread returns an error at once.
  void Shutdown();

  bool broken() const { return broken_; }

 private:
  Connection(redisContext* ctx, std::string where, int timeout_ms);
  Error Fail(const std::string& what);

  redisContext* ctx_;
  const std::string where_;  // "redis 127.0.0.1:6379", for messages
  const int timeout_ms_;
  bool broken_ = false;
};

// Delay before reconnect attempt `attempt` (from 1): the doubling delay
// base * 2^(attempt-1), capped at max, half of it fixed and half random
// ("equal jitter"). Processes that lost Redis together spread out, and the
// fixed half guarantees a real pause (full jitter may pick ~0).
int64_t ReconnectDelayMs(int attempt, int64_t base_ms, int64_t max_ms);

// Converts an error reply (Type::kError) to an Error for callers.
Error ReplyError(const Reply& reply, const std::string& command);

}  // namespace vs::redis
