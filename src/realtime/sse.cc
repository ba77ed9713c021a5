#include "realtime/sse.h"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <mutex>
#include <unordered_map>

#include "core/ids.h"
#include "core/json_text.h"
#include "http/client_address.h"
#include "http/cors.h"

namespace vs::realtime {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using asio::awaitable;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kPrefix = "/api/videos/";
constexpr std::string_view kSuffix = "/events";
// A comment line this often keeps proxies and browsers from timing out an
// idle stream, and finds dead peers.
constexpr auto kKeepalive = std::chrono::seconds(15);
// Unsent bytes a slow reader may hold us to before its stream is dropped.
constexpr size_t kMaxPending = 1 << 20;

// The id from /api/videos/<id>/events, or "" when the path is not that.
std::string_view VideoIdOf(std::string_view path) {
  if (path.size() <= kPrefix.size() + kSuffix.size() || path.substr(0, kPrefix.size()) != kPrefix ||
      path.substr(path.size() - kSuffix.size()) != kSuffix)
    return {};
  std::string_view id = path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size());
  return id.find('/') == std::string_view::npos ? id : std::string_view();
}

// One open stream: a member of its video's room that turns room events into
// SSE frames and writes them on the connection's executor.
class Stream final : public Member, public std::enable_shared_from_this<Stream> {
 public:
  Stream(tcp::socket sock, uint64_t after_seq, std::string identity)
      : sock_(std::move(sock)), after_seq_(after_seq), identity_(std::move(identity)) {}

  // Re-checks of rights (a video made private): the stream is who it was
  // when it opened, and one refused is ended (the client's EventSource then
  // reconnects and gets the 404 of a video it may not see).
  std::shared_ptr<Member> Pin() override { return weak_from_this().lock(); }
  std::string identity() const override { return identity_; }
  void Refused(const std::string& /*message*/) override { Close(); }

  // Called by the hub with its lock held: only queues.
  void Deliver(const RoomEventPtr& event) override {
    if (!event || event->seq <= after_seq_) return;  // the client had it before it reconnected
    // The members of a room get the same event one after the other, under
    // the hub's lock: encode it once per thread, not once per stream.
    thread_local RoomEventPtr last;
    thread_local std::string frame;
    if (event != last) {
      last = event;
      frame = SseFrame(*event);
    }
    Send(frame);
  }

  void Send(std::string_view text) {
    std::lock_guard lock(mu_);
    if (closed_) return;
    if (pending_.size() + text.size() > kMaxPending) {
      CloseLocked();  // it does not read: do not grow our memory for it
      return;
    }
    pending_ += text;
    if (!writing_) {
      writing_ = true;
      asio::post(sock_.get_executor(), [self = shared_from_this()] { self->Flush(); });
    }
  }

  // Any thread; the socket is closed on its own executor.
  void Close() {
    std::lock_guard lock(mu_);
    CloseLocked();
  }

  tcp::socket& socket() { return sock_; }

 private:
  void CloseLocked() {
    if (closed_) return;
    closed_ = true;
    asio::post(sock_.get_executor(), [self = shared_from_this()] {
      boost::system::error_code ec;
      self->sock_.shutdown(tcp::socket::shutdown_both, ec);
      self->sock_.close(ec);
    });
  }

  // On the executor: writes what is pending, then looks again.
  void Flush() {
    {
      std::lock_guard lock(mu_);
      if (closed_ || pending_.empty()) {
        writing_ = false;
        return;
      }
      out_.swap(pending_);
      pending_.clear();
    }
    asio::async_write(sock_, asio::buffer(out_),
                      [self = shared_from_this()](boost::system::error_code ec, size_t) {
                        if (ec) {
                          self->Close();
                          std::lock_guard lock(self->mu_);
                          self->writing_ = false;
                          return;
                        }
                        self->Flush();
                      });
  }

  tcp::socket sock_;
  const uint64_t after_seq_;
  const std::string identity_;
  std::mutex mu_;
  std::string pending_;  // guarded by mu_
  std::string out_;      // being written; only the executor touches it
  bool writing_ = false;
  bool closed_ = false;
};

class SseHandlerImpl final : public SseHandler {
 public:
  explicit SseHandlerImpl(Engine& engine) : engine_(engine) {}

  bool MayTake(std::string_view target) const override {
    return target.substr(0, kPrefix.size()) == kPrefix &&
           target.substr(0, target.find('?')).ends_with(kSuffix);
  }

  bool Accepts(const http::Request& req) const override {
    return req.method == "GET" && !VideoIdOf(req.path).empty();
  }

  awaitable<void> Upgrade(beast::tcp_stream stream, beast::flat_buffer /*buffer*/,
                          bhttp::request<bhttp::empty_body> /*req*/, http::Request parsed) override {
    const RealtimeOptions& opt = engine_.options();
    const std::string id(VideoIdOf(parsed.path));
    const std::string address = http::ClientAddress(parsed, opt.trust_proxy);
    if (!IsValidId(id)) {
      co_await Refuse(stream, parsed, 400, "invalid_id", "video ids are 24 hexadecimal characters");
      co_return;
    }
    // A video the client may not see gets exactly the answer of one that
    // does not exist, so the stream is no oracle for private videos. It is
    // asked first, so a refusal does not wait for, or depend on, the check of
    // existence.
    std::string identity;
    if (opt.may_join) {
      identity = opt.identify ? opt.identify(parsed.headers, nullptr) : "";
      if (!opt.may_join(identity, "video", id)) {
        co_await RefuseNotFound(stream, parsed, id);
        co_return;
      }
    }
    if (opt.video_exists) {
      Result<bool> exists = opt.video_exists(id);
      if (exists.ok() && !*exists) {
        co_await RefuseNotFound(stream, parsed, id);
        co_return;
      }
    }
    if (!http::OriginAllowed(parsed, opt.cors_origin)) {
      co_await Refuse(stream, parsed, 403, "forbidden", "this origin may not use the server");
      co_return;
    }
    uint64_t after = 0;
    const std::string_view last = parsed.headers.Get("Last-Event-ID");
    if (!last.empty()) {
      const auto [p, ec] = std::from_chars(last.data(), last.data() + last.size(), after);
      if (ec != std::errc() || p != last.data() + last.size()) after = 0;  // not ours: replay all
    }
    if (!Admit(address)) {
      if (shut_down_) {
        co_await Refuse(stream, parsed, 503, "shutting_down", "the server is shutting down");
      } else {
        co_await Refuse(stream, parsed, 403, "forbidden", "too many streams from this address");
      }
      co_return;
    }

    std::string head =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
        "Cache-Control: no-store\r\nConnection: keep-alive\r\nX-Accel-Buffering: no\r\n";
    AppendCommonHeaders(head, parsed);
    head += "\r\n";
    head += "retry: 3000\n\n";  // EventSource reconnects after 3 s
    stream.expires_after(std::chrono::seconds(10));
    auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(head), kNoThrow);
    if (wec) {
      Leave(address, nullptr);
      co_return;
    }
    stream.expires_never();

    auto s = std::make_shared<Stream>(stream.release_socket(), after, std::move(identity));
    {
      std::lock_guard lock(mu_);
      streams_[s.get()] = s;
    }
    RoomHub& hub = engine_.hub();
    hub.AddMember(s.get());
    // Replays the buffered events (those after Last-Event-ID), then live.
    if (!hub.Join(s.get(), "video-" + id).ok() || shut_down_) s->Close();

    co_await WaitForTheEnd(*s);
    hub.RemoveMember(s.get());
    s->Close();
    Leave(address, s.get());
  }

  // The client sends nothing; reading only tells us when it goes away (or
  // when we closed the stream). Idle streams get a comment line now and then.
  static awaitable<void> WaitForTheEnd(Stream& s) {
    tcp::socket& sock = s.socket();
    asio::steady_timer timer(sock.get_executor());
    auto sink = std::make_unique<char[]>(512);
    for (;;) {
      timer.expires_after(kKeepalive);
      auto r = co_await (sock.async_read_some(asio::buffer(sink.get(), 512), kNoThrow) ||
                         timer.async_wait(kNoThrow));
      if (r.index() == 1) {
        s.Send(": keepalive\n\n");
        continue;
      }
      if (std::get<0>(std::get<0>(r))) co_return;  // closed, reset, or closed by us
    }
  }

  void Shutdown() override {
    std::vector<std::shared_ptr<Stream>> all;
    {
      std::lock_guard lock(mu_);
      shut_down_ = true;
      for (auto& [p, w] : streams_)
        if (auto s = w.lock()) all.push_back(std::move(s));
    }
    for (auto& s : all) s->Close();
  }

  int stream_count() const override {
    std::lock_guard lock(mu_);
    return static_cast<int>(streams_.size());
  }

 private:
  bool Admit(const std::string& address) {
    std::lock_guard lock(mu_);
    if (shut_down_) return false;
    int& n = per_address_[address];
    if (n >= engine_.options().max_sockets_per_address) {
      if (n == 0) per_address_.erase(address);
      return false;
    }
    ++n;
    return true;
  }

  void Leave(const std::string& address, Stream* s) {
    std::lock_guard lock(mu_);
    if (s != nullptr) streams_.erase(s);
    auto it = per_address_.find(address);
    if (it != per_address_.end() && --it->second <= 0) per_address_.erase(it);
  }

  // CORS (EventSource from the web UI's origin), the request id and the rate
  // limit counters the middleware put on the request.
  void AppendCommonHeaders(std::string& head, const http::Request& parsed) const {
    const http::Headers cors = http::CorsHeaders(engine_.options().cors_origin);
    for (const auto& [k, v] : cors.items()) http::AppendField(head, k, v);
    http::AppendField(head, "X-Request-Id", parsed.request_id);
    http::AppendSafetyFields(head);
    for (const auto& [k, v] : parsed.response_headers.items()) http::AppendField(head, k, v);
  }

  // One answer for "no such video" and "not yours to see".
  static awaitable<void> RefuseNotFound(beast::tcp_stream& stream, const http::Request& parsed,
                                        const std::string& id) {
    co_await Refuse(stream, parsed, 404, "not_found", "no video with id " + id);
  }

  static awaitable<void> Refuse(beast::tcp_stream& stream, const http::Request& parsed, int status,
                                std::string_view code, std::string_view message) {
    const std::string body = http::ErrorJson(code, message);
    std::string res = "HTTP/1.1 " + std::to_string(status) + " " + std::string(http::StatusReason(status)) + "\r\n";
    http::AppendField(res, "Content-Type", "application/json; charset=utf-8");
    http::AppendField(res, "Cache-Control", "no-store");
    http::AppendField(res, "Connection", "close");
    http::AppendField(res, "X-Request-Id", parsed.request_id);
    http::AppendSafetyFields(res);
    http::AppendField(res, "Content-Length", std::to_string(body.size()));
    res += "\r\n";
    res += body;
    stream.expires_after(std::chrono::seconds(10));
    co_await asio::async_write(stream, asio::buffer(res), kNoThrow);
    boost::system::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.socket().close(ec);
  }

  Engine& engine_;
  mutable std::mutex mu_;
  std::atomic<bool> shut_down_{false};
  std::unordered_map<Stream*, std::weak_ptr<Stream>> streams_;
  std::unordered_map<std::string, int> per_address_;
};

}  // namespace

std::string SseFrame(const RoomEvent& e) {
  // JSON text never holds a raw newline (they are escaped in strings), so the
  // data is one line.
  std::string frame;
  frame.reserve(e.name.size() + e.data.size() + 40);
  frame += "id: ";
  frame += std::to_string(e.seq);
  frame += "\nevent: ";
  frame += e.name;
  frame += "\ndata: ";
  frame += e.data;
  frame += "\n\n";
  return frame;
}

std::unique_ptr<SseHandler> NewSseHandler(Engine& engine) { return std::make_unique<SseHandlerImpl>(engine); }

}  // namespace vs::realtime
