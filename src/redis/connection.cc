#include "redis/connection.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "resilience/circuit_breaker.h"

namespace vs::redis {

namespace {

timeval ToTimeval(int ms) {
  timeval tv{};
  tv.tv_sec = ms / 1000;
  tv.tv_usec = static_cast<suseconds_t>(ms % 1000) * 1000;
  return tv;
}

Reply Convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(Convert(r->element[i]));
      break;
    default:
      out.type = Reply::Type::kNil;
      break;
  }
  return out;
}

struct ReplyDeleter {
  void operator()(void* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<void, ReplyDeleter>;

}  // namespace

int64_t ReconnectDelayMs(int attempt, int64_t base_ms, int64_t max_ms) {
  base_ms = std::max<int64_t>(base_ms, 2);
  max_ms = std::max(max_ms, base_ms);
  const int64_t delay = std::min(max_ms, base_ms << std::clamp(attempt - 1, 0, 20));
  return delay / 2 + resilience::BackoffMs(1, delay / 2, delay / 2);  // + [0, delay/2]
}

Error ReplyError(const Reply& reply, const std::string& command) {
  return RedisError("redis " + command + ": " + reply.str);
}

Connection::Connection(redisContext* ctx, std::string where, int timeout_ms)
    : ctx_(ctx), where_(std::move(where)), timeout_ms_(timeout_ms) {}

Connection::~Connection() { redisFree(ctx_); }

Result<std::unique_ptr<Connection>> Connection::Open(const RedisOptions& o) {
  const std::string where = "redis " + o.host + ":" + std::to_string(o.port);
  redisContext* ctx =
      redisConnectWithTimeout(o.host.c_str(), o.port, ToTimeval(std::max(o.connect_timeout_ms, 1)));
  if (ctx == nullptr) return RedisError(where + ": connect failed: out of memory");
  if (ctx->err) {
    std::string why = ctx->errstr;
    redisFree(ctx);
    return RedisError(where + ": connect failed: " + why);
  }
  std::unique_ptr<Connection> c(new Connection(ctx, where, std::max(o.command_timeout_ms, 1)));
  if (redisSetTimeout(ctx, ToTimeval(c->timeout_ms_)) != REDIS_OK ||
      redisEnableKeepAlive(ctx) != REDIS_OK) {
    return c->Fail("socket setup");
  }
  if (!o.password.empty()) {
    VS_ASSIGN_OR_RETURN(Reply r, c->Exchange({"AUTH", o.password}));
    if (r.type == Reply::Type::kError) return ReplyError(r, "AUTH");
  }
  if (o.db != 0) {
    VS_ASSIGN_OR_RETURN(Reply r, c->Exchange({"SELECT", std::to_string(o.db)}));
    if (r.type == Reply::Type::kError) return ReplyError(r, "SELECT");
  }
  return c;
}

Error Connection::Fail(const std::string& what) {
  broken_ = true;
  std::string why;
  // hiredis reports a read/write timeout as EAGAIN on the blocking socket.
  if (ctx_->err == REDIS_ERR_IO &&
      (errno == EAGAIN || std::strstr(ctx_->errstr, "temporarily unavailable") != nullptr)) {
    why = "timed out after " + std::to_string(timeout_ms_) + " ms";
  } else if (ctx_->err == REDIS_ERR_EOF) {
    why = "connection closed by server";
  } else if (ctx_->err != 0) {
    why = ctx_->errstr;
  } else {
    why = "connection lost";
  }
  return RedisError(where_ + ": " + what + ": " + why);
}

Result<Reply> Connection::Exchange(const std::vector<std::string>& argv) {
  VS_TRY(Send(argv));
  void* raw = nullptr;
  if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) return Fail(argv[0]);
  ReplyPtr reply(raw);
  return Convert(static_cast<redisReply*>(reply.get()));
}

Status Connection::Send(const std::vector<std::string>& argv) {
  if (broken_) return RedisError(where_ + ": connection is broken");
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  ptrs.reserve(argv.size());
  lens.reserve(argv.size());
  for (const std::string& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  if (redisAppendCommandArgv(ctx_, static_cast<int>(argv.size()), ptrs.data(), lens.data()) !=
      REDIS_OK) {
    return Fail(argv.empty() ? "command" : argv[0]);
  }
  // The blocking write loop; redisGetReply would also flush, but pub/sub
  // callers read through Poll() and need the command on the wire now.
  int done = 0;
  while (!done) {
    if (redisBufferWrite(ctx_, &done) != REDIS_OK) return Fail(argv[0]);
  }
  return {};
}

Result<bool> Connection::Poll(int timeout_ms) {
  if (broken_) return RedisError(where_ + ": connection is broken");
  pollfd p{};
  p.fd = ctx_->fd;
  p.events = POLLIN;
  int n = ::poll(&p, 1, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return false;
    return Fail("poll");
  }
  if (n == 0) return false;
  if (redisBufferRead(ctx_) != REDIS_OK) return Fail("read");
  return true;
}

Result<std::unique_ptr<Reply>> Connection::Next() {
  void* raw = nullptr;
  if (redisGetReplyFromReader(ctx_, &raw) != REDIS_OK) return Fail("protocol");
  if (raw == nullptr) return std::unique_ptr<Reply>();
  ReplyPtr reply(raw);
  return std::make_unique<Reply>(Convert(static_cast<redisReply*>(reply.get())));
}

bool Connection::LooksIdleAndOpen() const {
  if (broken_) return false;
  pollfd p{};
  p.fd = ctx_->fd;
  p.events = POLLIN;
  // An idle connection has nothing to read; readable means EOF, an error,
  // or a stray message, and in each case it is not fit for a new command.
  return ::poll(&p, 1, 0) == 0;
}

void Connection::Shutdown() { ::shutdown(ctx_->fd, SHUT_RDWR); }

}  // namespace vs::redis
