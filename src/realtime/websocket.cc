// WebSocket connections: the Upgrade coroutine checks the request, writes
// the 101 and hands the raw socket to a WsConn, then returns. A WsConn is a
// callback state machine on the connection's strand: it waits for
// readability without a buffer, reads into a per-thread scratch area, and
// writes the session's queue with one gathered write. An idle connection
// thus costs its socket, one pending wait and a few hundred bytes of state,
// instead of coroutine frames and stream buffers (see ws_frame.h).
//
// Returning from Upgrade ends the HTTP server's bookkeeping of the
// connection: the engine owns it and closes it on Shutdown().
#include "realtime/websocket.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "http/client_address.h"
#include "http/cors.h"
#include "http/upgrade.h"
#include "realtime/ws_frame.h"

namespace vs::realtime {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using asio::awaitable;
using Socket = beast::tcp_stream::socket_type;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
// Writing the 101 or a refusal; waiting for the peer's close frame.
constexpr auto kHandshakeTimeout = std::chrono::seconds(5);
constexpr size_t kScratch = 64 * 1024;

// A WebSocket as the engine sees it. Reading, the upgrade and closing run
// on the socket's strand. Writing is different: whoever has packets for an
// idle socket (typically the thread fanning an event out to a room) writes
// them at once with a non-blocking sendmsg, under `wmu_`; only a full socket
// buffer defers the rest to a writability wait on the strand. That saves
// each recipient of an event two trips through the scheduler.
class WsConn final : public WsLink, public std::enable_shared_from_this<WsConn> {
 public:
  WsConn(Socket socket, Engine& engine, std::shared_ptr<Session> session, bool probe)
      : sock_(std::move(socket)),
        engine_(engine),
        session_(std::move(session)),
        probing_(probe),
        reader_(engine.options().max_payload) {}

  // Starts reading; `early` are bytes the client sent right behind its
  // request (it should not, but they would belong to the first frame).
  void Start(std::string early) {
    boost::system::error_code ec;
    sock_.non_blocking(true, ec);
    fd_ = sock_.native_handle();
    if (probing_) {
      if (!engine_.BeginProbe(session_, shared_from_this())) return Cut();  // a second probe
      // No "5" in time: drop this socket; the session keeps polling.
      ArmTimer(std::chrono::milliseconds(engine_.options().upgrade_timeout_ms));
    } else {
      const auto& o = engine_.options();
      session_->Deliver(MakePacket(OpenPacket(session_->sid(), false, o.ping_interval_ms,
                                              o.ping_timeout_ms, o.max_payload)));
      engine_.AttachWebSocket(session_, shared_from_this());
    }
    if (!early.empty() && !Consume(early.data(), early.size())) return;
    WaitReadable();
  }

  void Wake() override { Flush(); }

  void Close(bool graceful) override {
    asio::post(sock_.get_executor(), [self = shared_from_this(), graceful] {
      if (!graceful) return self->Cut();
      self->SendClose(kWsCloseNormal);
    });
  }

 private:
  // ---- reading (strand) ----

  void WaitReadable() {
    sock_.async_wait(Socket::wait_read, [self = shared_from_this()](boost::system::error_code ec) {
      self->OnReadable(ec);
    });
  }

  void OnReadable(boost::system::error_code ec) {
    if (ec || cut_) return Finish();
    thread_local std::unique_ptr<char[]> scratch(new char[kScratch]);
    for (int round = 0; round < 4; ++round) {
      const size_t n = sock_.read_some(asio::buffer(scratch.get(), kScratch), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) break;
      if (ec) return Finish();  // EOF or reset
      if (!discard_ && !Consume(scratch.get(), n)) return;
      if (n < kScratch) break;
    }
    WaitReadable();
  }

  // False when reading should stop (the connection was cut).
  bool Consume(char* data, size_t n) {
    const auto status = reader_.Feed(
        data, n, [this](WsOpcode op, std::string_view payload) { OnFrame(op, payload); });
    if (status == WsReader::Status::kOk) return !cut_;
    // 1009 for a message over maxPayload, 1002 for broken framing. What
    // follows cannot be parsed: it is read and dropped until the peer goes.
    discard_ = true;
    {
      // The peer's close frame cannot be found in what follows: end our
      // side after our close frame so that the client sees it, then EOF.
      std::lock_guard lock(wmu_);
      half_close_after_close_ = true;
    }
    SendClose(status == WsReader::Status::kTooBig ? kWsCloseTooBig : kWsCloseProtocolError);
    if (!probing_) engine_.Close(session_, Engine::CloseKind::kClose);
    return !cut_;
  }

  void OnFrame(WsOpcode op, std::string_view payload) {
    switch (op) {
      case WsOpcode::kPing:
        return SendControl(WsFrame(WsOpcode::kPong, payload));
      case WsOpcode::kPong:
        return;
      case WsOpcode::kClose: {
        bool answered;
        {
          std::lock_guard lock(wmu_);
          close_received_ = true;
          answered = close_sent_;
        }
        if (answered) return Cut();  // our close was answered: done
        if (!probing_) engine_.Close(session_, Engine::CloseKind::kCut);
        return SendClose(payload.size() >= 2 ? (uint8_t(payload[0]) << 8 | uint8_t(payload[1]))
                                             : kWsCloseNormal);
      }
      case WsOpcode::kBinary:
        if (probing_) return Cut();
        return engine_.Close(session_, Engine::CloseKind::kClose,
                             ErrorEvent("binary packets are not supported"));
      case WsOpcode::kText:
        if (probing_) return OnProbeText(payload);
        if (session_->closed()) return;  // closing: ignore the rest
        if (auto p = DecodeEnginePacket(payload); p.ok()) {
          engine_.OnPacket(session_, *p);
        } else {
          engine_.Close(session_, Engine::CloseKind::kClose);
        }
        return;
      case WsOpcode::kContinuation:
        return;  // never reported by the reader
    }
  }

  // The upgrade of a polling session: 2probe -> 3probe (the held GET gets a
  // noop), then 5 hands the session over. Anything else drops this socket.
  void OnProbeText(std::string_view text) {
    if (text == "2probe") {
      {
        std::lock_guard lock(wmu_);
        direct_.push_back(ProbeReply());
      }
      Flush();
      engine_.ProbeAnswered(session_);
      return;
    }
    if (text != "5") return Cut();
    timer_.reset();
    {
      std::lock_guard lock(wmu_);
      probing_ = false;
    }
    if (!engine_.CompleteUpgrade(session_, shared_from_this())) return Cut();
  }

  static const Packet& ProbeReply() {
    static const Packet p = MakePacket("3probe");
    return p;
  }

  // ---- writing (any thread, under wmu_) ----

  struct Out {
    Packet bytes;
    std::array<uint8_t, 10> header;  // frame header; empty for ready-made frames
    uint8_t header_size;
  };

  void SendControl(std::string frame) {
    {
      std::lock_guard lock(wmu_);
      if (close_sent_) return;
      control_.push_back(MakePacket(std::move(frame)));
    }
    Flush();
  }

  void SendClose(uint16_t code) {
    {
      std::lock_guard lock(wmu_);
      if (close_due_ || cut_) return;
      close_due_ = true;
      close_code_ = code;
    }
    Flush();
  }

  // Moves what is due into out_: control frames, then packets (none once our
  // close frame is out), then the close frame. Called with wmu_ held.
  void RefillLocked() {
    for (auto& c : control_) out_.push_back(Out{std::move(c), {}, 0});
    control_.clear();
    if (close_sent_) return;
    std::vector<Packet>& packets = refill_;
    packets.swap(direct_);
    if (!probing_ && session_) session_->TakeQueued(&packets);
    for (auto& p : packets) {
      Out o{std::move(p), {}, 0};
      o.header_size =
          static_cast<uint8_t>(WsFrameHeader(WsOpcode::kText, o.bytes->size(), o.header.data()));
      out_.push_back(std::move(o));
    }
    packets.clear();
    if (close_due_) {
      out_.push_back(Out{MakePacket(WsCloseFrame(close_code_)), {}, 0});
      close_sent_ = true;
    }
  }

  void Flush() {
    bool cut = false, close_done = false, arm_close_timer = false, blocked = false;
    {
      std::lock_guard lock(wmu_);
      if (cut_ || blocked_) return;  // a writability wait will flush
      const bool close_was_sent = close_sent_;
      for (;;) {
        if (next_ == out_.size()) {
          out_.clear();
          next_ = 0;
          offset_ = 0;
          RefillLocked();
          if (out_.empty()) break;
        }
        iovec iov[kMaxIov];
        int n_iov = 0;
        size_t skip = offset_;
        for (size_t i = next_; i < out_.size() && n_iov + 2 <= kMaxIov; ++i) {
          const Out& o = out_[i];
          const char* parts[2] = {reinterpret_cast<const char*>(o.header.data()), o.bytes->data()};
          const size_t sizes[2] = {o.header_size, o.bytes->size()};
          for (int k = 0; k < 2; ++k) {
            if (skip >= sizes[k]) {
              skip -= sizes[k];
              continue;
            }
            iov[n_iov].iov_base = const_cast<char*>(parts[k] + skip);
            iov[n_iov].iov_len = sizes[k] - skip;
            skip = 0;
            ++n_iov;
          }
        }
        msghdr msg{};
        msg.msg_iov = iov;
        msg.msg_iovlen = static_cast<size_t>(n_iov);
        const ssize_t sent = ::sendmsg(fd_, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent < 0) {
          if (errno == EINTR) continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK) {
            blocked_ = true;
            break;
          }
          cut = true;  // reset by the peer, or similar
          break;
        }
        Advance(static_cast<size_t>(sent));
      }
      if (!close_was_sent && close_sent_ && !close_received_) arm_close_timer = true;
      if (half_close_after_close_ && close_sent_ && next_ == out_.size() && !cut) {
        half_close_after_close_ = false;
        ::shutdown(fd_, SHUT_WR);
      }
      close_done = close_sent_ && close_received_ && next_ == out_.size();
      blocked = blocked_;
    }
    if (cut || close_done || arm_close_timer || blocked) {
      // Socket operations other than the writes belong to the strand.
      asio::post(sock_.get_executor(),
                 [self = shared_from_this(), cut, close_done, arm_close_timer] {
                   if (cut) return self->Finish();
                   if (close_done) return self->Cut();  // the close handshake is complete
                   // A peer that never answers our close frame is cut after a while.
                   if (arm_close_timer) self->ArmTimer(kHandshakeTimeout);
                   self->MaybeWaitWritable();
                 });
    }
  }

  // Consumes `n` written bytes from the front of out_.
  void Advance(size_t n) {
    while (n > 0 && next_ < out_.size()) {
      const size_t total = out_[next_].header_size + out_[next_].bytes->size();
      const size_t left = total - offset_;
      if (n < left) {
        offset_ += n;
        return;
      }
      n -= left;
      out_[next_].bytes.reset();  // the packet may be freed now
      ++next_;
      offset_ = 0;
    }
  }

  // Strand. The socket buffer was full: resume once it drains.
  void MaybeWaitWritable() {
    {
      std::lock_guard lock(wmu_);
      if (!blocked_ || waiting_writable_ || cut_) return;
      waiting_writable_ = true;
    }
    sock_.async_wait(Socket::wait_write, [self = shared_from_this()](boost::system::error_code ec) {
      {
        std::lock_guard lock(self->wmu_);
        self->waiting_writable_ = false;
        self->blocked_ = false;
      }
      if (ec) return self->Finish();
      self->Flush();
    });
  }

  // ---- lifetime (strand) ----

  void ArmTimer(std::chrono::steady_clock::duration d) {
    timer_ = std::make_unique<asio::steady_timer>(sock_.get_executor(), d);
    timer_->async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->Cut();
    });
  }

  // The transport is gone (read or write error, EOF, cut).
  void Finish() {
    if (probing_) {
      engine_.AbandonProbe(session_, shared_from_this());
    } else if (session_) {
      engine_.Close(session_, Engine::CloseKind::kCut);
    }
    Cut();
  }

  void Cut() {
    timer_.reset();
    // Under wmu_: no writer may use the descriptor once it is closed (its
    // number could already belong to another connection).
    std::lock_guard lock(wmu_);
    if (cut_) return;
    cut_ = true;
    boost::system::error_code ec;
    sock_.shutdown(Socket::shutdown_both, ec);
    sock_.close(ec);  // pending waits complete with an error and call Finish
    out_.clear();
    next_ = 0;
  }

  static constexpr int kMaxIov = 512;

  Socket sock_;
  int fd_ = -1;
  Engine& engine_;
  const std::shared_ptr<Session> session_;
  bool probing_;  // strand; read under wmu_ by writers (changed under it)
  WsReader reader_;
  bool discard_ = false;  // strand: the input is no longer parsed (framing error)
  std::unique_ptr<asio::steady_timer> timer_;  // strand; only while upgrading or closing

  std::mutex wmu_;
  std::vector<Packet> direct_;   // packets that are not the session's (3probe)
  std::vector<Packet> control_;  // pong frames to write next
  std::vector<Packet> refill_;   // scratch of RefillLocked
  std::vector<Out> out_;         // being written: out_[next_] from byte offset_
  size_t next_ = 0;
  size_t offset_ = 0;
  bool half_close_after_close_ = false;
  bool blocked_ = false;  // the socket buffer is full
  bool waiting_writable_ = false;
  bool close_due_ = false;
  bool close_sent_ = false;
  bool close_received_ = false;
  bool cut_ = false;
  uint16_t close_code_ = kWsCloseNormal;
};

class WebSocketHandler final : public http::UpgradeHandler {
 public:
  explicit WebSocketHandler(Engine& engine) : engine_(engine) {}

  bool Accepts(const http::Request& req) const override {
    return req.path == "/socket.io" || req.path == "/socket.io/";
  }

  awaitable<void> Upgrade(beast::tcp_stream stream, beast::flat_buffer buffer,
                          bhttp::request<bhttp::empty_body> req, http::Request parsed) override {
    const RealtimeOptions& opt = engine_.options();
    const auto transport = parsed.Query("transport");
    const auto sid = parsed.Query("sid");
    const std::string key(req[bhttp::field::sec_websocket_key]);
    std::optional<EngineError> refusal;
    std::shared_ptr<Session> session;
    if (transport != "websocket") {
      refusal = transport == "polling" ? EngineError::kBadRequest : EngineError::kUnknownTransport;
    } else if (req.method() != bhttp::verb::get || key.size() != 24 ||
               req[bhttp::field::sec_websocket_version] != "13") {
      refusal = EngineError::kBadRequest;
    } else if (!sid && parsed.Query("EIO") != "4") {
      refusal = EngineError::kUnsupportedProtocolVersion;
    } else if (!http::OriginAllowed(parsed, opt.cors_origin)) {
      // Browsers apply no CORS to WebSockets: this check is the only one.
      refusal = EngineError::kForbidden;
    } else if (sid) {
      session = engine_.Find(*sid);
      if (!session) {
        refusal = EngineError::kUnknownSid;
      } else if (session->transport() != Transport::kPolling) {
        refusal = EngineError::kBadRequest;  // already upgraded
      }
    } else {
      // An upgraded polling session keeps its own handshake's headers; a
      // WebSocket-only one keeps these (RealtimeOptions::identify).
      auto opened = engine_.Open(http::ClientAddress(parsed, opt.trust_proxy),
                                 Transport::kWebSocket, parsed.headers);
      if (opened.ok()) {
        session = *opened;
      } else {
        refusal = opened.error().kind == ErrorKind::kForbidden ? EngineError::kForbidden
                                                               : EngineError::kBadRequest;
      }
    }
    if (refusal) {
      co_await Refuse(stream, *refusal);
      co_return;
    }

    const std::string accept =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Accept: " +
        WsAcceptKey(key) + "\r\n\r\n";
    stream.expires_after(kHandshakeTimeout);
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(accept), kNoThrow);
    if (ec) {
      if (!sid) engine_.Close(session, Engine::CloseKind::kCut);
      co_return;
    }
    stream.expires_never();
    std::string early(static_cast<const char*>(buffer.data().data()), buffer.size());
    auto conn = std::make_shared<WsConn>(stream.release_socket(), engine_, std::move(session),
                                         sid.has_value());
    conn->Start(std::move(early));
  }

 private:
  // The reference server's answer to a refused upgrade: a plain HTTP error.
  static awaitable<void> Refuse(beast::tcp_stream& stream, EngineError e) {
    bhttp::response<bhttp::string_body> res{
        EngineErrorStatus(e) == 403 ? bhttp::status::forbidden : bhttp::status::bad_request, 11};
    res.set(bhttp::field::content_type, "application/json");
    res.body() = EngineErrorBody(e);
    res.keep_alive(false);
    res.prepare_payload();
    stream.expires_after(kHandshakeTimeout);
    co_await bhttp::async_write(stream, res, kNoThrow);
    beast::error_code ec;
    stream.socket().shutdown(Socket::shutdown_send, ec);
    stream.socket().close(ec);
  }

  Engine& engine_;
};

}  // namespace

std::unique_ptr<http::UpgradeHandler> NewWebSocketHandler(Engine& engine) {
  return std::make_unique<WebSocketHandler>(engine);
}

}  // namespace vs::realtime
