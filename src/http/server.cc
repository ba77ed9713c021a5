// The Beast/Asio side of the HTTP server. Each connection is a coroutine on
// one of the per-thread io_contexts; handlers run there (they are short: database
// rows, small files), uploads stream through a BodySink, file bodies go out
// with sendfile(2).
#include <fcntl.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast.hpp>
#include <chrono>
#include <ctime>
#include <map>
#include <mutex>
#include <thread>

#include "core/ids.h"
#include "core/time_format.h"
#include "http/http.h"
#include "http/upgrade.h"

namespace vs::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using namespace asio::experimental::awaitable_operators;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr size_t kUploadChunk = 256 * 1024;

// Request ids need to be unique, not secret: a per-thread random prefix and
// a counter, without a system call per request.
std::string NextRequestId() {
  thread_local const std::string prefix = RandomHex(4);
  thread_local uint64_t counter = 0;
  char buf[32];
  snprintf(buf, sizeof(buf), "%s%08llx", prefix.c_str(), static_cast<unsigned long long>(++counter));
  return buf;
}

// The Date header changes once a second; format it once a second per thread.
const std::string& CachedHttpDate() {
  thread_local int64_t second = -1;
  thread_local std::string text;
  const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  if (ms / 1000 != second) {
    second = ms / 1000;
    text = vs::HttpDate(ms);
  }
  return text;
}

bool SaneRequestId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

using SteadyTime = std::chrono::steady_clock::time_point;

std::string DurationText(std::chrono::milliseconds d) {
  return d.count() % 1000 ? std::to_string(d.count()) + " ms" : std::to_string(d.count() / 1000) + " s";
}

// The pace a streamed body must keep (ServerOptions::upload_*): when it may
// next be given up, and the answer once it fell behind. Arithmetic only; the
// session's thread owns it.
class BodyPace {
 public:
  BodyPace(const ServerOptions& o, SteadyTime start)
      : idle_(o.upload_idle_timeout_ms),
        grace_(o.upload_rate_grace_ms),
        min_rate_(o.upload_min_bytes_per_s),
        start_(start),
        last_(start) {}

  void Received(size_t n, SteadyTime now) {
    if (n == 0) return;
    bytes_ += n;
    last_ = now;
  }
  SteadyTime Deadline() const { return std::min(IdleDeadline(), RateDeadline()); }
  // True when the body fell behind by `now`; `answer` is then its 408. (Not
  // an optional: a std::optional<Response> declared in an `if` inside the
  // reading coroutine was miscompiled by GCC 12 at -O2 and crashed.)
  bool FellBehind(SteadyTime now, Response* answer) const {
    if (now >= IdleDeadline()) {
      *answer = Response::Json(408, ErrorJson("body_timeout", "no part of the request body arrived for " +
                                                                  DurationText(idle_) + "; the request was abandoned"));
      return true;
    }
    if (now >= RateDeadline()) {
      *answer = Response::Json(408, ErrorJson("body_too_slow", "the request body arrived slower than " +
                                                                   std::to_string(min_rate_) +
                                                                   " bytes per second; the request was abandoned"));
      return true;
    }
    return false;
  }

 private:
  SteadyTime IdleDeadline() const { return idle_.count() > 0 ? last_ + idle_ : SteadyTime::max(); }
  // The average since the start falls under the minimum once the time
  // elapsed exceeds bytes / rate; not before the grace is over.
  SteadyTime RateDeadline() const {
    if (min_rate_ <= 0) return SteadyTime::max();
    const std::chrono::milliseconds earned(static_cast<int64_t>(bytes_ * 1000 / static_cast<uint64_t>(min_rate_)));
    return start_ + std::max(grace_, earned);
  }

  std::chrono::milliseconds idle_, grace_;
  int64_t min_rate_;
  SteadyTime start_, last_;
  uint64_t bytes_ = 0;
};

}  // namespace

struct Server::Impl {
  struct SessionEntry {
    std::function<void()> close_if_idle;
  };

  ServerOptions opt;
  const Router& router;
  Middleware mw;
  UpgradeHandler* upgrade = nullptr;
  // One single-threaded io_context per server thread: a connection lives on
  // one of them from accept to close, so its handlers never hop threads and
  // need no strand, and the threads share no scheduler queue.
  std::vector<std::unique_ptr<asio::io_context>> iocs;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
  size_t next_ioc = 0;
  asio::io_context& ioc;  // the first one: acceptor, Stop(), grace timer
  tcp::acceptor acceptor{ioc};
  int bound_port = 0;
  std::atomic<int> connections{0};
  std::atomic<bool> stopping{false};
  std::mutex mu;
  uint64_t next_session = 0;
  std::map<uint64_t, SessionEntry> sessions;
  std::unique_ptr<asio::steady_timer> grace_timer;
  // Blocking reads of streamed bodies (BodyStream). Declared after the
  // io_contexts so it is joined before they (and the coroutine frames whose
  // buffers a read may still be filling) go away.
  std::unique_ptr<asio::thread_pool> blocking_pool = MakeQuietPool();

  Impl(ServerOptions o, const Router& r, Middleware m)
      : opt(std::move(o)), router(r), mw(std::move(m)), iocs(MakeContexts(opt.threads)), ioc(*iocs[0]) {
    for (auto& c : iocs) work.emplace_back(c->get_executor());
  }

  // Its threads start at once, possibly before the application blocks
  // SIGTERM for its signal-watcher thread: they must never be the thread a
  // process-directed signal is delivered to.
  static std::unique_ptr<asio::thread_pool> MakeQuietPool() {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    auto pool = std::make_unique<asio::thread_pool>(4);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return pool;
  }

  static std::vector<std::unique_ptr<asio::io_context>> MakeContexts(int threads) {
    std::vector<std::unique_ptr<asio::io_context>> v;
    for (int i = 0; i < std::max(threads, 1); ++i) v.push_back(std::make_unique<asio::io_context>(1));
    return v;
  }

  void StopAll() {
    for (auto& c : iocs) c->stop();
  }

  awaitable<void> Accept() {
    for (;;) {
      asio::io_context& home = *iocs[next_ioc++ % iocs.size()];
      auto [ec, sock] = co_await acceptor.async_accept(home, kNoThrow);
      if (ec) {
        if (stopping || ec == asio::error::operation_aborted) co_return;
        continue;  // e.g. EMFILE: keep serving the connections we have
      }
      asio::co_spawn(home, Session(std::move(sock)), asio::detached);
    }
  }

  void SessionEnded() {
    if (--connections == 0 && stopping) StopAll();
  }

  Request ToRequest(const bhttp::request_header<>& h, const std::string& remote, bool* bad) {
    Request req;
    req.method = std::string(h.method_string());
    req.version = static_cast<int>(h.version());
    req.target = std::string(h.target());
    const size_t q = req.target.find('?');
    auto path = PercentDecode(std::string_view(req.target).substr(0, q), false);
    if (!path || path->empty() || (*path)[0] != '/') {
      *bad = true;
      path = "/";
    }
    req.path = *path;
    if (q != std::string::npos) req.raw_query = req.target.substr(q + 1);
    for (const auto& f : h) req.headers.Add(std::string(f.name_string()), std::string(f.value()));
    req.remote_addr = remote;
    std::string_view rid = req.headers.Get("X-Request-Id");
    req.request_id = SaneRequestId(rid) ? std::string(rid) : NextRequestId();
    return req;
  }

  awaitable<void> Session(tcp::socket sock) {
    ++connections;
    beast::tcp_stream stream(std::move(sock));
    beast::error_code ec0;
    auto ep = stream.socket().remote_endpoint(ec0);
    const std::string remote = ec0 ? "unknown" : ep.address().to_string();
    stream.socket().set_option(tcp::no_delay(true), ec0);
    beast::flat_buffer buffer;
    auto idle = std::make_shared<bool>(true);
    uint64_t id;
    {
      std::lock_guard lock(mu);
      id = next_session++;
      auto exec = stream.get_executor();
      sessions[id].close_if_idle = [exec, idle, s = &stream] {
        asio::post(exec, [idle, s] {
          if (*idle) s->socket().close();
        });
      };
    }
    bool first = true;
    for (;;) {
      if (stopping) break;
      *idle = true;
      stream.expires_after(std::chrono::seconds(first ? opt.header_timeout_s : opt.idle_timeout_s));
      first = false;
      bhttp::request_parser<bhttp::empty_body> hp;
      hp.header_limit(32 * 1024);
      hp.body_limit(boost::none);  // limits depend on the route; applied below
      auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, hp, kNoThrow);
      *idle = false;
      if (ec) {
        if (ec != bhttp::error::end_of_stream && ec != beast::error::timeout &&
            ec != asio::error::operation_aborted && ec != asio::error::connection_reset &&
            ec != asio::error::eof && ec != asio::error::bad_descriptor) {
          Response bad = Response::Json(400, ErrorJson("bad_request", "malformed HTTP request"));
          bad.close_connection = true;
          Request none;
          co_await Write(stream, none, bad, false, false);
        }
        break;
      }
      if (upgrade && (beast::websocket::is_upgrade(hp.get()) || upgrade->MayTake(hp.get().target()))) {
        bool bad = false;
        Request req = ToRequest(hp.get(), remote, &bad);
        if (!bad && upgrade->Accepts(req)) {
          std::optional<Response> refused;
          if (mw.before) refused = mw.before(req, Router::Match{});
          if (!refused) {
            // The upgrade handler owns the connection from here on.
            {
              std::lock_guard lock(mu);
              sessions.erase(id);
            }
            co_await upgrade->Upgrade(std::move(stream), std::move(buffer), hp.release(), std::move(req));
            SessionEnded();
            co_return;
          }
          refused->close_connection = true;
          co_await Write(stream, req, *refused, false, false);
          break;
        }
      }
      const Next next = co_await HandleOne(stream, buffer, hp, remote);
      if (next == Next::kKeepAlive) continue;
      if (next == Next::kLinger) co_await LingeringClose(stream);
      break;
    }
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.socket().close(ec);
    {
      std::lock_guard lock(mu);
      sessions.erase(id);
    }
    SessionEnded();
  }

  enum class Next { kKeepAlive, kClose, kLinger };

  // After answering a request whose body we did not read, closing at once
  // would make the kernel reset the connection and the client could lose the
  // answer. Stop sending, swallow what the client still sends for a moment,
  // then close.
  awaitable<void> LingeringClose(beast::tcp_stream& stream) {
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.expires_after(std::chrono::seconds(2));
    std::unique_ptr<char[]> sink(new char[65536]);
    size_t drained = 0;
    while (drained < (8u << 20)) {
      auto [rec, n] = co_await stream.async_read_some(asio::buffer(sink.get(), 65536), kNoThrow);
      if (rec) break;
      drained += n;
    }
  }

  // Handles one request whose headers are in `hp`; says what becomes of the
  // connection.
  awaitable<Next> HandleOne(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                            bhttp::request_parser<bhttp::empty_body>& hp, const std::string& remote) {
    const auto t0 = std::chrono::steady_clock::now();
    bool bad_target = false;
    Request req = ToRequest(hp.get(), remote, &bad_target);
    const bool head = hp.get().method() == bhttp::verb::head;
    const bool client_keep_alive = hp.get().keep_alive();
    const bool has_body = hp.chunked() || (hp.content_length() && *hp.content_length() > 0);
    const bool expect_continue =
        beast::iequals(hp.get()[bhttp::field::expect], "100-continue");
    bool close_after = false;
    Response resp;
    Router::Match m;
    if (!bad_target) m = router.Find(req.method, req.path);
    req.params = m.params;
    req.route = m.pattern;

    std::optional<Response> early;
    if (bad_target) {
      early = Response::Json(400, ErrorJson("bad_request", "malformed request path"));
    } else if (mw.before) {
      early = mw.before(req, m);
    }
    if (!early && !m.target) {
      if (m.path_matched) {
        early = Response::Json(405, ErrorJson("method_not_allowed", "method not allowed for this path"));
        early->headers.Set("Allow", m.allowed);
      } else {
        early = Response::Json(404, ErrorJson("not_found", "no such route"));
      }
    }
    if (early) {
      resp = std::move(*early);
      close_after = has_body;  // the unread body cannot be skipped reliably
    } else if (auto* sh = std::get_if<StreamHandler>(m.target)) {
      auto v = CallSafely([&] { return (*sh)(req); });
      if (auto* r = std::get_if<Response>(&v)) {
        resp = std::move(*r);
        close_after = has_body;
      } else {
        // The sink goes at the end of this block, before the answer is sent:
        // a refused body has left nothing behind by then.
        auto sink = std::move(std::get<std::unique_ptr<BodySink>>(v));
        if (expect_continue) co_await SendContinue(stream);
        bhttp::request_parser<bhttp::buffer_body> bp(std::move(hp));
        bp.body_limit(boost::none);  // the sink enforces the declared size
        const BodyEnd end = co_await ReadStreamedBody(stream, buffer, bp, *sink, resp);
        if (end == BodyEnd::kGone) {
          sink->OnDisconnect();
          co_return Next::kClose;
        }
        if (end == BodyEnd::kDone) {
          resp = sink->Finish();
        } else {
          close_after = true;
        }
      }
    } else {
      if (hp.content_length() && *hp.content_length() > opt.max_body_bytes) {
        resp = Response::Json(413, ErrorJson("payload_too_large", "request body is too large"));
        close_after = true;
      } else {
        bool too_large = false;
        // Most requests (GETs) have no body: the header parser is already
        // done and a body read would only cost an extra trip through the
        // executor.
        if (!hp.is_done()) {
          if (expect_continue && has_body) co_await SendContinue(stream);
          bhttp::request_parser<bhttp::string_body> sp(std::move(hp));
          sp.body_limit(opt.max_body_bytes);
          stream.expires_after(std::chrono::seconds(opt.body_timeout_s));
          auto [ec, n] = co_await bhttp::async_read(stream, buffer, sp, kNoThrow);
          if (ec == bhttp::error::body_limit) {
            too_large = true;
          } else if (ec) {
            co_return Next::kClose;
          } else {
            req.body = std::move(sp.get().body());
          }
        }
        if (too_large) {
          resp = Response::Json(413, ErrorJson("payload_too_large", "request body is too large"));
          close_after = true;
        } else {
          if (auto* h = std::get_if<Handler>(m.target)) {
            resp = CallSafely([&] { return (*h)(req); });
          } else if (auto* ah = std::get_if<AsyncHandler>(m.target)) {
            resp = co_await CallAsync(stream, *ah, req);
          }
        }
      }
    }
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    resp.headers.Set("X-Request-Id", req.request_id);
    for (const auto& [k, v] : req.response_headers.items())
      if (!resp.headers.Has(k)) resp.headers.Set(k, v);
    if (mw.after) mw.after(req, resp, ms);
    const bool keep = client_keep_alive && !close_after && !resp.close_connection && !stopping;
    const bool ok = co_await Write(stream, req, resp, keep, head);
    if (!ok) co_return Next::kClose;
    if (keep) co_return Next::kKeepAlive;
    co_return close_after ? Next::kLinger : Next::kClose;
  }

  enum class BodyEnd { kDone, kRefused, kGone };

  // Streams a body into `sink` in chunks of kUploadChunk while it keeps its
  // pace. kRefused: the sink refused a chunk or the body fell behind (`resp`
  // holds the answer); kGone: the client went away.
  awaitable<BodyEnd> ReadStreamedBody(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                      bhttp::request_parser<bhttp::buffer_body>& bp, BodySink& sink,
                                      Response& resp) {
    std::unique_ptr<char[]> chunk(new char[kUploadChunk]);
    size_t filled = 0;
    BodyPace pace(opt, std::chrono::steady_clock::now());
    // Beast's own timeout would close the socket, leaving no way to answer:
    // this timer only cancels the pending read when the pace's deadline
    // passes, and the pace decides. A wake-up that lost the race against its
    // read (a stale round) touches nothing.
    asio::steady_timer timer(stream.get_executor());
    auto round = std::make_shared<uint64_t>(0);
    stream.expires_never();
    while (!bp.is_done()) {
      bp.get().body().data = chunk.get() + filled;
      bp.get().body().size = kUploadChunk - filled;
      WakeAt(timer, pace.Deadline(), round, stream);
      auto [ec, n] = co_await bhttp::async_read_some(stream, buffer, bp, kNoThrow);
      ++*round;
      timer.cancel();
      const SteadyTime now = std::chrono::steady_clock::now();
      const size_t got = kUploadChunk - filled - bp.get().body().size;
      filled += got;
      pace.Received(got, now);
      const bool broken = ec && ec != bhttp::error::need_buffer;  // our cancel included
      if (!broken && (filled == kUploadChunk || (bp.is_done() && filled > 0))) {
        Status s = sink.Write(chunk.get(), filled);
        filled = 0;
        if (!s.ok()) {
          resp = sink.OnError(s.error());
          co_return BodyEnd::kRefused;
        }
      }
      if (!broken && bp.is_done()) break;
      if (pace.FellBehind(now, &resp)) co_return BodyEnd::kRefused;
      if (broken) co_return BodyEnd::kGone;
    }
    co_return BodyEnd::kDone;
  }

  // Cancels the stream's pending read at `when`, unless the round has moved
  // on by then.
  static void WakeAt(asio::steady_timer& timer, SteadyTime when, const std::shared_ptr<uint64_t>& round,
                     beast::tcp_stream& stream) {
    timer.expires_at(when);
    timer.async_wait([round, mine = ++*round, s = &stream](beast::error_code ec) {
      if (!ec && *round == mine) s->socket().cancel(ec);
    });
  }

  template <typename F>
  auto CallSafely(F&& f) -> decltype(f()) {
    try {
      return f();
    } catch (const std::exception&) {
      return Response::Json(500, ErrorJson("internal", "internal server error"));
    }
  }

  awaitable<Response> CallAsync(beast::tcp_stream& stream, const AsyncHandler& h, Request& req) {
    auto exec = stream.get_executor();
    auto timer = std::make_shared<asio::steady_timer>(exec, std::chrono::seconds(opt.async_timeout_s));
    auto slot = std::make_shared<std::optional<Response>>();
    Responder respond = [exec, timer, slot](Response r) {
      asio::post(exec, [timer, slot, r = std::move(r)]() mutable {
        if (*slot) return;  // timed out already, or answered twice
        *slot = std::move(r);
        timer->cancel();
      });
    };
    try {
      h(req, std::move(respond));
    } catch (const std::exception&) {
      co_return Response::Json(500, ErrorJson("internal", "internal server error"));
    }
    co_await timer->async_wait(kNoThrow);
    if (!*slot) *slot = Response::Json(504, ErrorJson("timeout", "the request timed out"));
    Response r = std::move(**slot);
    co_return r;
  }

  awaitable<void> SendContinue(beast::tcp_stream& stream) {
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    co_await asio::async_write(stream, asio::buffer(kContinue), kNoThrow);
  }

  // Writes the response; false when the connection broke.
  awaitable<bool> Write(beast::tcp_stream& stream, const Request& req, Response& resp, bool keep_alive,
                        bool head_only) {
    stream.expires_after(std::chrono::seconds(opt.body_timeout_s));
    int fd = -1;
    uint64_t length = resp.body.size();
    if (resp.stream) {
      length = resp.stream_length;
    } else if (!resp.file_path.empty()) {
      fd = ::open(resp.file_path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        resp = Response::Json(404, ErrorJson("not_found", "file not found"));
        length = resp.body.size();
      } else {
        length = resp.file_length;
      }
    }
    const bool no_body = resp.status == 204 || resp.status == 304 || resp.status < 200;
    // The header block is assembled by hand into one buffer: cheaper than
    // Beast's field container for the few headers a response carries.
    std::string head;
    head.reserve(384 + resp.headers.items().size() * 48);
    head += "HTTP/1.1 ";
    head += std::to_string(resp.status);
    head += ' ';
    head += StatusReason(resp.status);
    head += "\r\n";
    for (const auto& [k, v] : resp.headers.items()) AppendField(head, k, v);
    AppendSafetyFields(head);
    AppendField(head, "Date", CachedHttpDate());
    if (!no_body) AppendField(head, "Content-Length", std::to_string(length));
    if (!keep_alive) {
      AppendField(head, "Connection", "close");
    } else if (req.version == 10) {
      AppendField(head, "Connection", "keep-alive");  // HTTP/1.0 closes unless told otherwise
    }
    head += "\r\n";
    if (resp.stream && !head_only && !no_body) {
      auto [ec, n] = co_await asio::async_write(stream, asio::buffer(head), kNoThrow);
      if (ec) co_return false;
      co_return co_await SendStream(stream, *resp.stream, length);
    }
    if (fd < 0 && !head_only && !no_body && !resp.body.empty()) {
      const std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(resp.body)};
      auto [ec, n] = co_await asio::async_write(stream, bufs, kNoThrow);
      co_return !ec;
    }
    {
      auto [ec, n] = co_await asio::async_write(stream, asio::buffer(head), kNoThrow);
      if (ec) {
        if (fd >= 0) ::close(fd);
        co_return false;
      }
    }
    if (fd < 0 || head_only) {
      if (fd >= 0) ::close(fd);
      co_return true;
    }
    bool ok = co_await SendFile(stream, fd, resp.file_offset, length);
    ::close(fd);
    co_return ok;
  }

  // Reads run on the blocking pool (they may wait on a remote store); the
  // coroutine resumes on its connection's thread to write each chunk.
  awaitable<bool> SendStream(beast::tcp_stream& stream, BodyStream& source, uint64_t length) {
    std::vector<char> buf(256 * 1024);
    uint64_t remaining = length;
    while (remaining > 0) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(remaining, buf.size()));
      // nullopt: the read failed (co_spawn needs a default-constructible result).
      std::optional<size_t> got = co_await asio::co_spawn(
          blocking_pool->get_executor(),
          [&source, &buf, want]() -> awaitable<std::optional<size_t>> {
            Result<size_t> n = source.Read(buf.data(), want);
            co_return n.ok() ? std::optional<size_t>(*n) : std::nullopt;
          },
          asio::use_awaitable);
      if (!got || *got == 0) co_return false;  // the promised length cannot be kept: close
      stream.expires_after(std::chrono::seconds(opt.body_timeout_s));
      auto [ec, n] = co_await asio::async_write(stream, asio::buffer(buf.data(), *got), kNoThrow);
      if (ec) co_return false;
      remaining -= *got;
    }
    co_return true;
  }

  awaitable<bool> SendFile(beast::tcp_stream& stream, int fd, uint64_t offset, uint64_t length) {
    auto& sock = stream.socket();
    beast::error_code ec;
    sock.native_non_blocking(true, ec);
    off_t off = static_cast<off_t>(offset);
    uint64_t remaining = length;
    asio::steady_timer timer(stream.get_executor());
    while (remaining > 0) {
      ssize_t n = ::sendfile(sock.native_handle(), fd, &off, std::min<uint64_t>(remaining, 1 << 20));
      if (n > 0) {
        remaining -= static_cast<uint64_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        timer.expires_after(std::chrono::seconds(opt.body_timeout_s));
        auto r = co_await (sock.async_wait(tcp::socket::wait_write, kNoThrow) ||
                           timer.async_wait(kNoThrow));
        if (r.index() == 1) co_return false;  // the client stopped reading
        if (std::get<0>(std::get<0>(r))) co_return false;
        continue;
      }
      co_return false;  // error, or the file shrank under us
    }
    co_return true;
  }
};

Server::Server(ServerOptions options, const Router& router, Middleware middleware)
    : impl_(std::make_unique<Impl>(std::move(options), router, std::move(middleware))) {}

Server::~Server() = default;

Status Server::Listen() {
  // sendfile(2) on a socket the client has closed raises SIGPIPE, which would
  // kill the process; Asio's own sends already suppress it.
  ::signal(SIGPIPE, SIG_IGN);
  beast::error_code ec;
  auto addr = asio::ip::make_address(impl_->opt.host, ec);
  if (ec) return MakeError("invalid_config", "HOST is not an IP address: " + impl_->opt.host);
  tcp::endpoint ep(addr, static_cast<unsigned short>(impl_->opt.port));
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return MakeError("listen_failed", "cannot listen on " + impl_->opt.host + ":" +
                                          std::to_string(impl_->opt.port) + ": " + ec.message());
  }
  impl_->bound_port = a.local_endpoint().port();
  return {};
}

int Server::port() const { return impl_->bound_port; }

void Server::Run() {
  asio::co_spawn(impl_->ioc, impl_->Accept(), asio::detached);
  std::vector<std::thread> threads;
  for (size_t i = 1; i < impl_->iocs.size(); ++i) threads.emplace_back([this, i] { impl_->iocs[i]->run(); });
  impl_->ioc.run();
  for (auto& t : threads) t.join();
}

void Server::Stop() {
  asio::post(impl_->ioc, [impl = impl_.get()] {
    if (impl->stopping.exchange(true)) return;
    beast::error_code ec;
    impl->acceptor.close(ec);
    {
      std::lock_guard lock(impl->mu);
      for (auto& [id, s] : impl->sessions) s.close_if_idle();
    }
    if (impl->connections == 0) {
      impl->StopAll();
      return;
    }
    impl->grace_timer = std::make_unique<asio::steady_timer>(
        impl->ioc, std::chrono::seconds(impl->opt.shutdown_grace_s));
    impl->grace_timer->async_wait([impl](beast::error_code) { impl->StopAll(); });
  });
}

void Server::SetUpgradeHandler(UpgradeHandler* handler) { impl_->upgrade = handler; }

int Server::active_connections() const { return impl_->connections.load(); }

}  // namespace vs::http
