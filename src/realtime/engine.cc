#include "realtime/engine.h"

#include <boost/json.hpp>

#include "core/ids.h"
#include "core/json_text.h"

namespace vs::realtime {
namespace {

namespace json = boost::json;

const Packet& PingPacket() {
  static const Packet p = MakePacket("2");
  return p;
}

Packet Ack(uint64_t id, const json::object& result) {
  return MakePacket(EncodeSio(SioType::kAck, "/", id, json_text::Serialize(json::array{result})));
}

Packet InvalidNamespace(std::string_view nsp) {
  return MakePacket(
      EncodeSio(SioType::kConnectError, nsp, std::nullopt, R"({"message":"Invalid namespace"})"));
}

thread_local WakeBatch* current_batch = nullptr;

}  // namespace

WakeBatch::WakeBatch(const FanOut* fan_out, int parts)
    : outer_(current_batch), fan_out_(fan_out), parts_(parts) {
  current_batch = this;
}

WakeBatch::~WakeBatch() {
  current_batch = outer_;
  // Large fan-outs are split over the realtime threads: each wake-up is a
  // socket write, and the writes to one socket stay ordered whichever
  // thread does them (they drain the same queue under its write lock).
  if (fan_out_ && *fan_out_ && parts_ > 1 && links_.size() >= kMinSplit) {
    const size_t per =
        (links_.size() + static_cast<size_t>(parts_) - 1) / static_cast<size_t>(parts_);
    for (size_t start = per; start < links_.size(); start += per) {
      std::vector<std::shared_ptr<WsLink>> chunk(
          std::make_move_iterator(links_.begin() + static_cast<std::ptrdiff_t>(start)),
          std::make_move_iterator(
              links_.begin() + static_cast<std::ptrdiff_t>(std::min(links_.size(), start + per))));
      (*fan_out_)([chunk = std::move(chunk)] {
        for (const auto& link : chunk) link->Wake();
      });
    }
    links_.resize(std::min(links_.size(), per));
  }
  for (auto& link : links_) link->Wake();
}

void WakeBatch::Wake(std::shared_ptr<WsLink> link) {
  if (current_batch) {
    current_batch->links_.push_back(std::move(link));
  } else {
    link->Wake();
  }
}

Packet ErrorEvent(std::string_view message) {
  return MakePacket(EncodeEvent("error", json_text::Serialize(json::object{{"message", message}})));
}

bool ValidRoomId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// ---- Session ----

Session::Session(std::string sid, std::string address, Transport transport, int64_t now_ms,
                 int ping_interval_ms, size_t max_queued_bytes, http::Headers handshake_headers)
    : sid_(std::move(sid)),
      address_(std::move(address)),
      created_ms_(now_ms),
      max_queued_bytes_(max_queued_bytes),
      handshake_headers_(std::move(handshake_headers)),
      transport_(transport),
      next_ping_ms_(now_ms + ping_interval_ms) {}

std::string Session::identity() const {
  std::lock_guard lock(mu);
  return identity_;
}

void Session::Refused(const std::string& message) { Deliver(ErrorEvent(message)); }

void Session::Deliver(const RoomEventPtr& event) {
  // The members of a room get the same event one after the other, under the
  // hub's lock: encode it once per thread, not once per socket.
  thread_local RoomEventPtr last;
  thread_local Packet packet;
  if (event != last) {
    last = event;
    packet = MakePacket(EncodeEvent(event->name, event->data));
  }
  Deliver(packet);
}

void Session::Deliver(const Packet& packet) {
  PollAnswer answer;
  std::string body;
  std::shared_ptr<WsLink> link;
  {
    std::lock_guard lock(mu);
    if (closed_ || overflowed_) return;
    if (queued_bytes_ + packet->size() > max_queued_bytes_) {
      overflowed_ = true;  // the sweep closes it; we may be under the hub's lock here
      return;
    }
    queue_.push_back(packet);
    queued_bytes_ += packet->size();
    if (transport_ == Transport::kPolling) {
      if (held_) {
        answer = std::move(held_);
        held_ = nullptr;
        body = DrainLocked();
      }
    } else {
      link = ws_.lock();
    }
  }
  if (answer) answer(std::move(body));
  if (link) WakeBatch::Wake(std::move(link));
}

void Session::TakeQueued(std::vector<Packet>* out) {
  std::lock_guard lock(mu);
  if (out->empty()) {
    out->swap(queue_);
  } else {
    out->insert(out->end(), queue_.begin(), queue_.end());
    queue_.clear();
  }
  queued_bytes_ = 0;
}

bool Session::closed() const {
  std::lock_guard lock(mu);
  return closed_;
}

Transport Session::transport() const {
  std::lock_guard lock(mu);
  return transport_;
}

std::string Session::DrainLocked() {
  std::string body = EncodePayload(queue_);
  queue_.clear();
  queued_bytes_ = 0;
  return body;
}

// ---- Engine ----

Engine::Engine(const RealtimeOptions& options, const Clock& clock)
    : options_(options),
      clock_(clock),
      hub_(RoomHubOptions{options.replay_size, options.max_replay_videos,
                          options.max_rooms_per_socket}) {
  if (options.history) {
    hub_.SetHistoryLoader([history = options.history](const std::string& room) {
      std::vector<RoomHub::HistoryEvent> out;
      constexpr std::string_view kPrefix = "video-";
      if (room.rfind(kPrefix, 0) != 0) return out;
      for (Event& e : history(room.substr(kPrefix.size())))
        if (e.name != kVideoAccessEvent)  // a shared buffer may hold them: never replayed
          out.push_back(RoomHub::HistoryEvent{std::move(e.name), std::move(e.payload), e.timestamp_ms, e.seq});
      return out;
    });
  }
}

Result<std::shared_ptr<Session>> Engine::Open(const std::string& address, Transport transport,
                                              http::Headers handshake_headers) {
  std::lock_guard lock(registry_mu_);
  if (shutting_down_)
    return MakeError(ErrorKind::kUnavailable, "shutting_down", "the server is shutting down");
  int& n = per_address_[address];
  if (n >= options_.max_sockets_per_address) {
    if (n == 0) per_address_.erase(address);
    return MakeError(ErrorKind::kForbidden, "forbidden", "too many connections from " + address);
  }
  std::string sid;
  do {
    sid = RandomHex(10);
  } while (sessions_.contains(sid));
  auto s =
      std::make_shared<Session>(sid, address, transport, clock_.NowMs(), options_.ping_interval_ms,
                                options_.max_queued_bytes, std::move(handshake_headers));
  sessions_.emplace(sid, s);
  ++n;
  ++count_;
  hub_.AddMember(s.get());
  return s;
}

std::shared_ptr<Session> Engine::Find(std::string_view sid) const {
  std::lock_guard lock(registry_mu_);
  auto it = sessions_.find(std::string(sid));
  return it == sessions_.end() ? nullptr : it->second;
}

Engine::PollResult Engine::Poll(const std::shared_ptr<Session>& s, PollAnswer answer) {
  std::string body;
  bool overlap = false;
  {
    std::lock_guard lock(s->mu);
    if (s->closed_) return PollResult::kUnknownSid;
    if (s->transport_ != Transport::kPolling) return PollResult::kWrongTransport;
    if (s->held_) {
      overlap = true;
    } else if (!s->queue_.empty()) {
      body = s->DrainLocked();
    } else if (s->upgrading_) {
      body = "6";
    } else {
      s->held_ = std::move(answer);
      return PollResult::kHeld;
    }
  }
  if (overlap) {
    Close(s, CloseKind::kClose);
    return PollResult::kOverlap;
  }
  answer(std::move(body));
  return PollResult::kAnswered;
}

Engine::PostResult Engine::Post(const std::shared_ptr<Session>& s, std::string_view body) {
  PostResult refused = PostResult::kOk;
  {
    std::lock_guard lock(s->mu);
    if (s->closed_) return PostResult::kUnknownSid;
    if (s->transport_ != Transport::kPolling) return PostResult::kWrongTransport;
    if (s->post_busy_) {
      refused = PostResult::kOverlap;
    } else if (body.size() > options_.max_payload) {
      refused = PostResult::kTooLarge;
    } else {
      s->post_busy_ = true;
    }
  }
  if (refused != PostResult::kOk) {
    Close(s, CloseKind::kClose);
    return refused;
  }
  auto packets = DecodePayload(body);
  if (!packets.ok()) {
    if (packets.error().code == "binary_unsupported") {
      Close(s, CloseKind::kClose, ErrorEvent(packets.error().message));
    } else {
      Close(s, CloseKind::kClose);
    }
    return PostResult::kBadPayload;
  }
  PostResult result = PostResult::kOk;
  for (const EnginePacket& p : *packets) {
    const Verdict v = OnPacket(s, p);
    if (v == Verdict::kProtocolError) result = PostResult::kBadPayload;
    if (v != Verdict::kOk) break;
  }
  std::lock_guard lock(s->mu);
  s->post_busy_ = false;
  return result;
}

Engine::Verdict Engine::OnPacket(const std::shared_ptr<Session>& s, const EnginePacket& p) {
  switch (p.type) {
    case EngineType::kMessage:
      return OnMessage(s, p.data);
    case EngineType::kPong: {
      std::lock_guard lock(s->mu);
      s->pong_deadline_ms_ = 0;
      s->next_ping_ms_ = clock_.NowMs() + options_.ping_interval_ms;
      return Verdict::kOk;
    }
    case EngineType::kClose:
      Close(s, CloseKind::kCut);
      return Verdict::kClosedByClient;
    case EngineType::kNoop:
      return Verdict::kOk;
    case EngineType::kPing:     // v4: only the server pings ("2probe" is handled by the probe)
    case EngineType::kOpen:     // server -> client only
    case EngineType::kUpgrade:  // only on a probe WebSocket
      break;
  }
  Close(s, CloseKind::kClose);
  return Verdict::kProtocolError;
}

Engine::Verdict Engine::OnMessage(const std::shared_ptr<Session>& s, std::string_view text) {
  auto decoded = DecodeSioPacket(text);
  if (!decoded.ok()) {
    if (decoded.error().code == "binary_unsupported") {
      // Tell the client why before it goes: it would not guess from a close.
      Close(s, CloseKind::kClose, ErrorEvent(decoded.error().message));
    } else {
      Close(s, CloseKind::kClose);
    }
    return Verdict::kProtocolError;
  }
  const SioPacket& p = *decoded;
  Session::SioState state;
  {
    std::lock_guard lock(s->mu);
    state = s->sio_;
  }
  if (state != Session::SioState::kConnected) {
    if (p.type != SioType::kConnect) {
      Close(s, CloseKind::kClose);
      return Verdict::kProtocolError;
    }
    if (p.nsp != "/") {
      s->Deliver(InvalidNamespace(p.nsp));
      return Verdict::kOk;
    }
    // Asked once per Socket.IO connection, with no lock held (it may look
    // the session up in a database). A session's packets are handled one at
    // a time, so nothing else can connect it meanwhile.
    std::string identity;
    if (options_.identify) {
      const json::object* auth = p.data ? p.data->if_object() : nullptr;
      identity = options_.identify(s->handshake_headers(), auth);
    }
    std::string socket_id = RandomHex(10);
    {
      std::lock_guard lock(s->mu);
      s->sio_ = Session::SioState::kConnected;
      s->socket_id_ = socket_id;
      s->identity_ = std::move(identity);
    }
    s->Deliver(MakePacket(EncodeSio(SioType::kConnect, "/", std::nullopt,
                                    json_text::Serialize(json::object{{"sid", socket_id}}))));
    return Verdict::kOk;
  }
  switch (p.type) {
    case SioType::kConnect:
      if (p.nsp != "/") {
        s->Deliver(InvalidNamespace(p.nsp));
        return Verdict::kOk;
      }
      break;  // connecting twice is a protocol error, as in the reference server
    case SioType::kDisconnect:
      if (p.nsp != "/") break;
      {
        std::lock_guard lock(s->mu);
        s->sio_ = Session::SioState::kDisconnected;
        s->identity_.clear();  // a later CONNECT may bring other credentials
      }
      hub_.LeaveAll(s.get());
      return Verdict::kOk;
    case SioType::kEvent:
      if (p.nsp != "/") break;
      return OnEvent(s, p);
    case SioType::kAck:
      if (p.nsp != "/") break;
      return Verdict::kOk;  // we never ask the client for acks
    default:
      break;
  }
  Close(s, CloseKind::kClose);
  return Verdict::kProtocolError;
}

Engine::Verdict Engine::OnEvent(const std::shared_ptr<Session>& s, const SioPacket& p) {
  const json::array& args = p.data->as_array();
  auto fail = [&](std::string_view message) {
    s->Deliver(ErrorEvent(message));
    if (p.ack_id) s->Deliver(Ack(*p.ack_id, json::object{{"ok", false}, {"error", message}}));
    return Verdict::kOk;
  };
  const std::string_view name = args[0].is_string() ? std::string_view(args[0].as_string()) : "";
  std::string prefix;
  if (name == "join-video" || name == "leave-video") {
    prefix = "video-";
  } else if (name == "join-user") {
    prefix = "user-";
  } else {
    // Unknown events are ignored, as a Socket.IO server without a listener does.
    if (p.ack_id)
      s->Deliver(Ack(*p.ack_id, json::object{{"ok", false}, {"error", "unknown event"}}));
    return Verdict::kOk;
  }
  const std::string_view id =
      args.size() >= 2 && args[1].is_string() ? std::string_view(args[1].as_string()) : "";
  if (!ValidRoomId(id)) {
    return fail(std::string(name) + " expects an id of 1 to 64 letters, digits, '-' or '_'");
  }
  const std::string room = prefix + std::string(id);
  if (name == "leave-video") {
    hub_.Leave(s.get(), room);
    if (p.ack_id) s->Deliver(Ack(*p.ack_id, json::object{{"ok", true}}));
    return Verdict::kOk;
  }
  if (options_.may_join) {
    const std::string_view kind = std::string_view(prefix).substr(0, prefix.size() - 1);
    // No lock held: may_join may ask a database.
    if (!options_.may_join(s->identity(), kind, id)) {
      // Rights can shrink (a video made private): a refused socket is not
      // left in a room it joined before. The message is the same whether or
      // not the video exists.
      hub_.Leave(s.get(), room);
      return fail("not allowed to join " + std::string(kind) + " " + std::string(id));
    }
  }
  std::function<void()> ack;
  if (p.ack_id) {
    ack = [s, packet = Ack(*p.ack_id, json::object{{"ok", true}})] { s->Deliver(packet); };
  }
  WakeBatch batch;  // write the replay after the hub's lock is released
  auto joined = hub_.Join(s.get(), room, ack);
  if (!joined.ok()) {
    if (joined.error().code == "not_a_member") return Verdict::kOk;  // closing meanwhile
    return fail(joined.error().message);
  }
  return Verdict::kOk;
}

void Engine::AttachWebSocket(const std::shared_ptr<Session>& s,
                             const std::shared_ptr<WsLink>& link) {
  {
    std::lock_guard lock(s->mu);
    if (s->closed_) return;
    s->ws_ = link;
  }
  link->Wake();
}

bool Engine::BeginProbe(const std::shared_ptr<Session>& s, const std::shared_ptr<WsLink>& probe) {
  std::lock_guard lock(s->mu);
  if (s->closed_ || s->transport_ != Transport::kPolling || !s->probe_.expired()) return false;
  s->probe_ = probe;
  return true;
}

void Engine::ProbeAnswered(const std::shared_ptr<Session>& s) {
  PollAnswer answer;
  {
    std::lock_guard lock(s->mu);
    if (s->closed_) return;
    s->upgrading_ = true;
    answer = std::move(s->held_);
    s->held_ = nullptr;
  }
  if (answer) answer("6");
}

bool Engine::CompleteUpgrade(const std::shared_ptr<Session>& s,
                             const std::shared_ptr<WsLink>& link) {
  PollAnswer answer;
  {
    std::lock_guard lock(s->mu);
    if (s->closed_ || !s->upgrading_) return false;
    s->transport_ = Transport::kWebSocket;
    s->upgrading_ = false;
    s->ws_ = link;
    s->probe_.reset();
    answer = std::move(s->held_);  // a GET the client sent after all: release it
    s->held_ = nullptr;
  }
  if (answer) answer("6");
  link->Wake();
  return true;
}

void Engine::AbandonProbe(const std::shared_ptr<Session>& s, const std::shared_ptr<WsLink>& probe) {
  std::lock_guard lock(s->mu);
  if (s->probe_.lock() != probe) return;
  s->probe_.reset();
  s->upgrading_ = false;
}

void Engine::Close(const std::shared_ptr<Session>& s, CloseKind kind, Packet farewell) {
  {
    std::lock_guard lock(registry_mu_);
    auto it = sessions_.find(s->sid());
    if (it != sessions_.end() && it->second == s) {
      sessions_.erase(it);
      if (auto a = per_address_.find(s->address()); a != per_address_.end() && --a->second <= 0)
        per_address_.erase(a);
      --count_;
    }
  }
  hub_.RemoveMember(s.get());
  PollAnswer answer;
  std::string body;
  std::shared_ptr<WsLink> link, probe;
  {
    std::lock_guard lock(s->mu);
    if (s->closed_) return;
    s->closed_ = true;
    s->queue_.clear();
    s->queued_bytes_ = 0;
    if (farewell && kind != CloseKind::kCut) s->queue_.push_back(std::move(farewell));
    if (s->held_) {
      answer = std::move(s->held_);
      s->held_ = nullptr;
      body = s->queue_.empty() ? std::string("1") : s->DrainLocked() + "\x1e" + "1";
    }
    link = s->ws_.lock();
    probe = s->probe_.lock();
  }
  if (answer) answer(std::move(body));
  if (link) link->Close(kind != CloseKind::kCut);
  if (probe) probe->Close(false);
}

std::pair<int, int> Engine::CountByTransport() const {
  std::vector<std::shared_ptr<Session>> all;
  {
    std::lock_guard lock(registry_mu_);
    all.reserve(sessions_.size());
    for (const auto& [sid, s] : sessions_) all.push_back(s);
  }
  int ws = 0;
  for (const auto& s : all)
    if (s->transport() == Transport::kWebSocket) ++ws;
  return {static_cast<int>(all.size()) - ws, ws};
}

void Engine::Sweep() {
  const int64_t now = clock_.NowMs();
  std::vector<std::shared_ptr<Session>> ping, cut;
  {
    std::lock_guard lock(registry_mu_);
    for (auto& [sid, s] : sessions_) {
      std::lock_guard sl(s->mu);
      if (s->closed_) continue;
      if (s->overflowed_ || (s->pong_deadline_ms_ != 0 && now >= s->pong_deadline_ms_) ||
          (s->sio_ == Session::SioState::kAwaitingConnect &&
           now >= s->created_ms_ + options_.connect_timeout_ms)) {
        cut.push_back(s);
      } else if (s->pong_deadline_ms_ == 0 && now >= s->next_ping_ms_) {
        s->pong_deadline_ms_ = now + options_.ping_timeout_ms;
        ping.push_back(s);
      }
    }
  }
  for (auto& s : ping) s->Deliver(PingPacket());
  for (auto& s : cut) Close(s, CloseKind::kCut);
}

void Engine::Publish(const Event& e, int64_t timestamp_ms) {
  if (e.video_id.empty()) return;
  if (e.name == kVideoAccessEvent) {
    // Run here, on the thread that orders the bus events: the video's later
    // events wait until the refused members are out of its room.
    (void)Recheck(e.video_id);
    return;
  }
  // A payload that is not a JSON object cannot carry seq: it is dropped
  // rather than sent in a shape clients do not expect.
  // The fan-out writes happen after the hub's lock is released.
  WakeBatch batch(&fan_out_, fan_out_parts_);
  (void)hub_.Publish("video-" + e.video_id, e.name, e.payload, timestamp_ms, e.seq);
}

int Engine::Recheck(const std::string& video_id) {
  if (!options_.may_join || !ValidRoomId(video_id)) return 0;
  const std::string room = "video-" + video_id;
  const std::string message = "not allowed to join video " + video_id;
  // Pinned under the hub's lock; asked with no lock held (may_join may ask a
  // database), once per identity (all anonymous members are one question).
  std::vector<std::shared_ptr<Member>> members = hub_.Members(room);
  std::unordered_map<std::string, bool> allowed;
  int removed = 0;
  for (const auto& m : members) {
    const std::string who = m->identity();
    auto [it, fresh] = allowed.try_emplace(who, true);
    if (fresh) it->second = options_.may_join(who, "video", video_id);
    if (it->second) continue;
    // A socket that connected again as someone else meanwhile had its new
    // join checked against the rights as they are now: leave it be.
    if (m->identity() != who) continue;
    if (!hub_.Leave(m.get(), room)) continue;  // it left (or closed) meanwhile
    m->Refused(message);
    ++removed;
  }
  return removed;
}

void Engine::Shutdown() {
  std::vector<std::shared_ptr<Session>> all;
  {
    std::lock_guard lock(registry_mu_);
    shutting_down_ = true;
    for (auto& [sid, s] : sessions_) all.push_back(s);
  }
  for (auto& s : all) Close(s, CloseKind::kClose);
}

}  // namespace vs::realtime
