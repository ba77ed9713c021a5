// The transport-independent core of the Socket.IO server: the session
// registry, per-session send queues, the Engine.IO and Socket.IO state
// machines, heartbeats and the room hub. The HTTP polling handlers
// (realtime.cc) and the WebSocket side (websocket.cc) are thin adapters that
// feed it client packets and drain its queues.
//
// Thread-safe: polling requests arrive on the HTTP server's threads,
// WebSocket frames on their connections' threads, events and timers on the
// realtime thread. Lock order: registry -> hub -> session; nothing calls out
// (answers a poll, wakes a WebSocket) while holding a session's lock, and
// the options' identify and may_join (which may block on a database) are
// called with no lock held at all.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/event_bus.h"
#include "core/result.h"
#include "realtime/protocol.h"
#include "realtime/realtime.h"
#include "realtime/room_hub.h"

namespace vs::realtime {

// The WebSocket carrying a session, as the engine sees it (websocket.cc).
class WsLink {
 public:
  virtual ~WsLink() = default;
  // Packets are queued on the session: write them. Any thread.
  virtual void Wake() = 0;
  // Graceful: write what is queued, then a close frame. Otherwise drop the
  // TCP connection at once. Any thread.
  virtual void Close(bool graceful) = 0;
};

// Runs a task on another thread (the realtime pool).
using FanOut = std::function<void(std::function<void()>)>;

// Wake-ups of WebSockets (which write to the socket at once) requested on
// this thread while a WakeBatch is open are run when it closes: the engine
// opens one around hub calls, so that fan-out writes happen after the hub's
// lock is released. With `fan_out`, a large batch is split into `parts`
// shares, all but one run there. Without an open batch, Wake runs at once.
class WakeBatch {
 public:
  explicit WakeBatch(const FanOut* fan_out = nullptr, int parts = 1);
  ~WakeBatch();
  WakeBatch(const WakeBatch&) = delete;
  WakeBatch& operator=(const WakeBatch&) = delete;
  static void Wake(std::shared_ptr<WsLink> link);

 private:
  static constexpr size_t kMinSplit = 64;  // smaller batches: not worth a thread hop
  WakeBatch* outer_;
  const FanOut* fan_out_;
  int parts_;
  std::vector<std::shared_ptr<WsLink>> links_;
};

// Completes a held polling GET with a response body.
using PollAnswer = std::function<void(std::string body)>;

enum class Transport : uint8_t { kPolling, kWebSocket };

// One Engine.IO session with its (main namespace) Socket.IO socket. The
// engine owns the state; the fields are guarded by `mu`.
class Session final : public Member, public std::enable_shared_from_this<Session> {
 public:
  Session(std::string sid, std::string address, Transport transport, int64_t now_ms,
          int ping_interval_ms, size_t max_queued_bytes, http::Headers handshake_headers = {});

  const std::string& sid() const { return sid_; }
  const std::string& address() const { return address_; }
  // The headers of the request that opened the session (the first polling
  // GET or the WebSocket upgrade): its cookies identify the client.
  const http::Headers& handshake_headers() const { return handshake_headers_; }
  // Who RealtimeOptions::identify said the socket is at its last CONNECT;
  // "" = anonymous or not connected.
  std::string identity() const override;
  std::shared_ptr<Member> Pin() override { return weak_from_this().lock(); }
  // Taken out of a room by a re-check: the error event of a refused join.
  void Refused(const std::string& message) override;

  // Queues a packet and kicks the active transport. Dropped once closed; a
  // queue over its byte limit marks the session for closing (a client that
  // does not read must not grow our memory).
  void Deliver(const Packet& packet);
  // A room event, as the Socket.IO EVENT packet 42["<name>",{...}].
  void Deliver(const RoomEventPtr& event) override;
  // Moves the queued packets to the end of `out` (the WebSocket writer).
  void TakeQueued(std::vector<Packet>* out);
  bool closed() const;
  Transport transport() const;

 private:
  friend class Engine;
  enum class SioState : uint8_t { kAwaitingConnect, kConnected, kDisconnected };

  std::string DrainLocked();  // queued packets as a polling body

  const std::string sid_;
  const std::string address_;
  const int64_t created_ms_;
  const size_t max_queued_bytes_;
  const http::Headers handshake_headers_;

  mutable std::mutex mu;
  bool closed_ = false;
  bool overflowed_ = false;
  bool upgrading_ = false;  // the probe WebSocket answered 3probe
  bool post_busy_ = false;
  Transport transport_;
  SioState sio_ = SioState::kAwaitingConnect;
  std::vector<Packet> queue_;
  size_t queued_bytes_ = 0;
  PollAnswer held_;  // the held polling GET, if any
  std::weak_ptr<WsLink> ws_;
  std::weak_ptr<WsLink> probe_;
  int64_t next_ping_ms_;
  int64_t pong_deadline_ms_ = 0;  // 0 = no ping outstanding
  std::string socket_id_;
  std::string identity_;
};

class Engine {
 public:
  Engine(const RealtimeOptions& options, const Clock& clock);

  const RealtimeOptions& options() const { return options_; }

  // A new session; `handshake_headers` are those of the request that opens
  // it, kept for RealtimeOptions::identify. Errors: "forbidden" (too many
  // sessions from the address), "shutting_down".
  Result<std::shared_ptr<Session>> Open(const std::string& address, Transport transport,
                                        http::Headers handshake_headers = {});
  std::shared_ptr<Session> Find(std::string_view sid) const;

  enum class PollResult { kAnswered, kHeld, kUnknownSid, kWrongTransport, kOverlap };
  // A polling GET: answers at once when packets are queued (or a noop while
  // upgrading), else holds `answer` until there are. A second concurrent GET
  // closes the session (kOverlap). `answer` is not called for the errors.
  PollResult Poll(const std::shared_ptr<Session>& s, PollAnswer answer);

  enum class PostResult { kOk, kUnknownSid, kWrongTransport, kOverlap, kBadPayload, kTooLarge };
  // A polling POST body. Everything but kOk/kUnknownSid/kWrongTransport
  // closes the session.
  PostResult Post(const std::shared_ptr<Session>& s, std::string_view body);

  enum class Verdict { kOk, kClosedByClient, kProtocolError };
  // One client packet from the active transport. On kProtocolError the
  // session has been closed. A CONNECT calls options().identify and a join
  // options().may_join on this thread: either may block briefly.
  Verdict OnPacket(const std::shared_ptr<Session>& s, const EnginePacket& packet);

  // WebSocket transport. A WebSocket-only session gets its link once the
  // open packet is queued.
  void AttachWebSocket(const std::shared_ptr<Session>& s, const std::shared_ptr<WsLink>& link);
  // Upgrade of a polling session: false when it cannot be upgraded (closed,
  // not polling, or another probe is under way).
  bool BeginProbe(const std::shared_ptr<Session>& s, const std::shared_ptr<WsLink>& probe);
  // "3probe" went out: release the held GET with a noop so the client can
  // pause polling, and answer further GETs the same way.
  void ProbeAnswered(const std::shared_ptr<Session>& s);
  // "5" arrived: the WebSocket becomes the transport and gets the queue.
  bool CompleteUpgrade(const std::shared_ptr<Session>& s, const std::shared_ptr<WsLink>& link);
  // The probe failed or timed out: keep polling.
  void AbandonProbe(const std::shared_ptr<Session>& s, const std::shared_ptr<WsLink>& probe);

  enum class CloseKind {
    kCut,    // drop the transport (timeouts, errors)
    kClose,  // polling: answer "1"; WebSocket: close frame
  };
  // Frees the session: leaves its rooms, answers a held poll, closes the
  // WebSocket. Unsent packets are dropped; `farewell` (e.g. an error event
  // saying why) goes out just before the close. Idempotent.
  void Close(const std::shared_ptr<Session>& s, CloseKind kind, Packet farewell = nullptr);

  // Pings due sessions, closes those whose pong, CONNECT or queue limit
  // failed. Called every 200 ms by the realtime thread.
  void Sweep();
  // A bus event: to room "video-<id>" with replay. A kVideoAccessEvent is
  // not delivered: it re-checks the room's members instead (Recheck).
  void Publish(const Event& e, int64_t timestamp_ms);
  // Asks options().may_join again for every member of room "video-<id>"
  // (once per distinct identity, with no lock held) and takes the refused
  // ones out of the room (Member::Refused). Nothing without may_join.
  // Returns how many were taken out.
  int Recheck(const std::string& video_id);
  // Closes every session and refuses new ones.
  void Shutdown();

  // Lets Publish split large fan-outs into `parts` shares run by `fan_out`.
  // Set before the engine is used.
  void SetFanOut(FanOut fan_out, int parts) {
    fan_out_ = std::move(fan_out);
    fan_out_parts_ = parts;
  }

  int connection_count() const { return count_.load(); }
  // Open sessions by their current transport: {polling, websocket}.
  std::pair<int, int> CountByTransport() const;
  RoomHub& hub() { return hub_; }

 private:
  Verdict OnMessage(const std::shared_ptr<Session>& s, std::string_view text);
  Verdict OnEvent(const std::shared_ptr<Session>& s, const SioPacket& p);

  const RealtimeOptions options_;
  const Clock& clock_;
  RoomHub hub_;
  mutable std::mutex registry_mu_;
  bool shutting_down_ = false;
  std::unordered_map<std::string, std::shared_ptr<Session>> sessions_;
  std::unordered_map<std::string, int> per_address_;
  std::atomic<int> count_{0};
  FanOut fan_out_;
  int fan_out_parts_ = 1;
};

// 42["error",{"message":...}]
Packet ErrorEvent(std::string_view message);
// Room ids from clients: 1-64 of [A-Za-z0-9_-].
bool ValidRoomId(std::string_view id);

}  // namespace vs::realtime
