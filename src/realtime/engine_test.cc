#include "realtime/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "realtime/realtime.h"

namespace vs::realtime {
namespace {

namespace json = boost::json;

// Records what a polling GET would have been answered with.
struct Poller {
  std::vector<std::string> answers;
  PollAnswer Answer() {
    return [this](std::string body) { answers.push_back(std::move(body)); };
  }
};

class FakeLink : public WsLink {
 public:
  explicit FakeLink(std::shared_ptr<Session> s) : session(std::move(s)) {}
  void Wake() override {
    if (session) session->TakeQueued(&sent);
  }
  void Close(bool graceful) override { closed = graceful ? 1 : 2; }
  std::shared_ptr<Session> session;
  std::vector<Packet> sent;
  int closed = 0;  // 1 graceful, 2 cut
};

std::vector<std::string> Texts(const std::vector<Packet>& packets) {
  std::vector<std::string> out;
  for (const auto& p : packets) out.push_back(*p);
  return out;
}

class EngineTest : public ::testing::Test {
 protected:
  EngineTest() : engine_(Options(), clock_) {}

  static RealtimeOptions Options() {
    RealtimeOptions o;
    o.ping_interval_ms = 1000;
    o.ping_timeout_ms = 500;
    o.connect_timeout_ms = 3000;
    o.max_sockets_per_address = 3;
    o.max_rooms_per_socket = 2;
    o.max_payload = 1000;
    o.max_queued_bytes = 10000;
    return o;
  }

  std::shared_ptr<Session> Open(const std::string& address = "10.0.0.1") {
    auto s = engine_.Open(address, Transport::kPolling);
    EXPECT_TRUE(s.ok());
    return s.ok() ? *s : nullptr;
  }

  // Opens a session, connects the main namespace and drains the CONNECT reply.
  std::shared_ptr<Session> Connected(Poller* poller) {
    auto s = Open();
    EXPECT_EQ(engine_.Post(s, "40"), Engine::PostResult::kOk);
    EXPECT_EQ(engine_.Poll(s, poller->Answer()), Engine::PollResult::kAnswered);
    EXPECT_EQ(poller->answers.back().rfind("40{\"sid\":\"", 0), 0u) << poller->answers.back();
    return s;
  }

  FakeClock clock_;
  Engine engine_;
};

TEST_F(EngineTest, HeldPollIsAnsweredByTheNextPacket) {
  Poller p;
  auto s = Open();
  EXPECT_EQ(engine_.Poll(s, p.Answer()), Engine::PollResult::kHeld);
  EXPECT_TRUE(p.answers.empty());
  EXPECT_EQ(engine_.Post(s, "40"), Engine::PostResult::kOk);
  ASSERT_EQ(p.answers.size(), 1u);
  json::value reply = json::parse(std::string_view(p.answers[0]).substr(2));
  EXPECT_EQ(reply.at("sid").as_string().size(), 20u);
  EXPECT_NE(reply.at("sid").as_string(), s->sid());  // the socket id is not the engine sid
}

TEST_F(EngineTest, QueuedPacketsGoOutTogether) {
  Poller p;
  auto s = Connected(&p);
  ASSERT_EQ(engine_.Post(s,
                         "42[\"join-video\",\"v1\"]\x1e"
                         "421[\"join-video\",\"v2\"]"),
            Engine::PostResult::kOk);
  engine_.Publish(Event{"video-status", "v1", R"({"videoId":"v1","status":"READY"})"}, 77);
  ASSERT_EQ(engine_.Poll(s, p.Answer()), Engine::PollResult::kAnswered);
  EXPECT_EQ(p.answers.back(),
            "431[{\"ok\":true}]\x1e"
            R"(42["video-status",{"videoId":"v1","status":"READY","timestamp":77,"seq":1}])");
}

TEST_F(EngineTest, SecondConcurrentPollClosesTheSession) {
  Poller first, second;
  auto s = Open();
  EXPECT_EQ(engine_.Poll(s, first.Answer()), Engine::PollResult::kHeld);
  EXPECT_EQ(engine_.Poll(s, second.Answer()), Engine::PollResult::kOverlap);
  EXPECT_EQ(first.answers, std::vector<std::string>{"1"});  // the held one learns of the close
  EXPECT_TRUE(s->closed());
  EXPECT_EQ(engine_.Find(s->sid()), nullptr);
  EXPECT_EQ(engine_.connection_count(), 0);
}

TEST_F(EngineTest, MalformedPacketsCloseOnlyThatSession) {
  Poller pa, pb;
  auto good = Connected(&pa);
  for (const char* bad : {"42{}", "4x", "9", "2", "2probe", "5", "41234567890123456789[\"a\"]",
                          "3\x1e\x1e"
                          "3",
                          "0{}", "44{\"message\":\"x\"}"}) {
    auto s = Connected(&pb);
    const auto r = engine_.Post(s, bad);
    EXPECT_TRUE(r == Engine::PostResult::kBadPayload) << bad;
    EXPECT_TRUE(s->closed()) << bad;
  }
  EXPECT_FALSE(good->closed());
  EXPECT_EQ(engine_.connection_count(), 1);
}

TEST_F(EngineTest, FirstPacketMustBeConnect) {
  auto s = Open();
  EXPECT_EQ(engine_.Post(s, "42[\"join-video\",\"v1\"]"), Engine::PostResult::kBadPayload);
  EXPECT_TRUE(s->closed());
  auto t = Open();
  Poller p;
  EXPECT_EQ(engine_.Post(t, "40"), Engine::PostResult::kOk);
  EXPECT_EQ(engine_.Post(t, "40"), Engine::PostResult::kBadPayload);  // twice: invalid state
}

TEST_F(EngineTest, UnknownNamespaceGetsConnectError) {
  Poller p;
  auto s = Open();
  EXPECT_EQ(engine_.Post(s, "40/admin,"), Engine::PostResult::kOk);
  EXPECT_EQ(engine_.Poll(s, p.Answer()), Engine::PollResult::kAnswered);
  EXPECT_EQ(p.answers.back(), R"(44/admin,{"message":"Invalid namespace"})");
  EXPECT_FALSE(s->closed());
}

TEST_F(EngineTest, BinaryPacketsGetAnErrorEventThenClose) {
  Poller p;
  auto s = Connected(&p);
  EXPECT_EQ(engine_.Poll(s, p.Answer()), Engine::PollResult::kHeld);
  EXPECT_EQ(engine_.Post(s, R"(451-["x",{"_placeholder":true,"num":0}])"),
            Engine::PostResult::kBadPayload);
  EXPECT_EQ(p.answers.back(),
            "42[\"error\",{\"message\":\"binary packets are not supported\"}]\x1e"
            "1");
}

TEST_F(EngineTest, InvalidArgumentsGetErrorEventsAndFailedAcks) {
  Poller p;
  auto s = Connected(&p);
  ASSERT_EQ(engine_.Post(s, R"(425["join-video",{"id":1}])"), Engine::PostResult::kOk);
  ASSERT_EQ(engine_.Poll(s, p.Answer()), Engine::PollResult::kAnswered);
  EXPECT_NE(p.answers.back().find("42[\"error\",{\"message\":\"join-video expects an id"),
            std::string::npos);
  EXPECT_NE(p.answers.back().find("435[{\"ok\":false,\"error\":"), std::string::npos);
  for (
      const char* bad :
      {R"(42["join-video"])", R"(42["join-video",""])", R"(42["join-user","a/b"])",
       R"(42["leave-video","xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"])"}) {
    ASSERT_EQ(engine_.Post(s, bad), Engine::PostResult::kOk) << bad;
    ASSERT_EQ(engine_.Poll(s, p.Answer()), Engine::PollResult::kAnswered);
    EXPECT_EQ(p.answers.back().rfind("42[\"error\"", 0), 0u) << bad;
  }
  ASSERT_EQ(engine_.Post(s, R"(429["no-such-event"])"), Engine::PostResult::kOk);
  ASSERT_EQ(engine_.Poll(s, p.Answer()), Engine::PollResult::kAnswered);
  EXPECT_EQ(p.answers.back(), R"(439[{"ok":false,"error":"unknown event"}])");
  EXPECT_FALSE(s->closed());
}

TEST_F(EngineTest, RoomsPerSocketAreLimited) {
  Poller p;
  auto s = Connected(&p);
  ASSERT_EQ(engine_.Post(s,
                         "42[\"join-video\",\"a\"]\x1e"
                         "42[\"join-user\",\"u\"]\x1e"
                         "421[\"join-video\",\"c\"]"),
            Engine::PostResult::kOk);
  ASSERT_EQ(engine_.Poll(s, p.Answer()), Engine::PollResult::kAnswered);
  EXPECT_NE(p.answers.back().find("at most 2 rooms"), std::string::npos) << p.answers.back();
  EXPECT_EQ(engine_.hub().room_size("video-c"), 0u);
  EXPECT_EQ(engine_.hub().room_size("user-u"), 1u);
}

TEST_F(EngineTest, SocketsPerAddressAreLimited) {
  std::vector<std::shared_ptr<Session>> open;
  for (int i = 0; i < 3; ++i) open.push_back(Open("10.0.0.9"));
  auto refused = engine_.Open("10.0.0.9", Transport::kWebSocket);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "forbidden");
  EXPECT_TRUE(engine_.Open("10.0.0.10", Transport::kPolling).ok());  // others are fine
  engine_.Close(open[0], Engine::CloseKind::kClose);
  EXPECT_TRUE(engine_.Open("10.0.0.9", Transport::kPolling).ok());  // a slot was freed
}

TEST_F(EngineTest, PingsOnScheduleAndDropsSilentClients) {
  Poller p;
  auto s = Connected(&p);
  auto quiet = Connected(&p);
  clock_.Advance(999);
  engine_.Sweep();
  EXPECT_EQ(engine_.Poll(s, p.Answer()), Engine::PollResult::kHeld);
  clock_.Advance(1);
  engine_.Sweep();
  EXPECT_EQ(p.answers.back(), "2");  // the ping is the body of the held GET
  ASSERT_EQ(engine_.Post(s, "3"), Engine::PostResult::kOk);
  clock_.Advance(499);
  engine_.Sweep();
  EXPECT_FALSE(s->closed());
  EXPECT_FALSE(quiet->closed());
  clock_.Advance(1);
  engine_.Sweep();
  EXPECT_FALSE(s->closed());     // answered its ping
  EXPECT_TRUE(quiet->closed());  // did not
  EXPECT_EQ(engine_.connection_count(), 1);
}

TEST_F(EngineTest, ClientsThatNeverConnectAreDropped) {
  auto s = Open();
  for (int i = 0; i < 6; ++i) {  // keeps answering pings, never sends CONNECT
    clock_.Advance(500);
    engine_.Sweep();
    (void)engine_.Post(s, "3");
  }
  EXPECT_TRUE(s->closed());
}

TEST_F(EngineTest, ClientsThatDoNotReadAreDropped) {
  Poller p;
  auto s = Connected(&p);
  ASSERT_EQ(engine_.Post(s, R"(42["join-video","v1"])"), Engine::PostResult::kOk);
  const std::string big = R"({"videoId":"v1","blob":")" + std::string(3000, 'x') + "\"}";
  for (int i = 0; i < 5; ++i) engine_.Publish(Event{"video-status", "v1", big}, i);
  engine_.Sweep();
  EXPECT_TRUE(s->closed());
}

TEST_F(EngineTest, OversizedAndOverlappingPostsCloseTheSession) {
  Poller p;
  auto s = Connected(&p);
  EXPECT_EQ(engine_.Post(s, "4" + std::string(1000, 'x')), Engine::PostResult::kTooLarge);
  EXPECT_TRUE(s->closed());
  EXPECT_EQ(engine_.Post(s, "3"), Engine::PostResult::kUnknownSid);
}

TEST_F(EngineTest, ClientCloseFreesTheSession) {
  Poller p;
  auto s = Connected(&p);
  ASSERT_EQ(engine_.Poll(s, p.Answer()), Engine::PollResult::kHeld);
  EXPECT_EQ(engine_.Post(s,
                         "41\x1e"
                         "1"),
            Engine::PostResult::kOk);
  EXPECT_EQ(p.answers.back(), "1");
  EXPECT_TRUE(s->closed());
  EXPECT_EQ(engine_.connection_count(), 0);
}

TEST_F(EngineTest, UpgradeReleasesThePollAndMovesTheQueue) {
  Poller p;
  auto s = Connected(&p);
  ASSERT_EQ(engine_.Poll(s, p.Answer()), Engine::PollResult::kHeld);
  auto probe = std::make_shared<FakeLink>(nullptr);
  ASSERT_TRUE(engine_.BeginProbe(s, probe));
  EXPECT_FALSE(engine_.BeginProbe(s, std::make_shared<FakeLink>(nullptr)));  // one at a time
  engine_.ProbeAnswered(s);
  EXPECT_EQ(p.answers.back(), "6");
  ASSERT_EQ(engine_.Poll(s, p.Answer()), Engine::PollResult::kAnswered);  // noop while upgrading
  EXPECT_EQ(p.answers.back(), "6");
  // An event published before "5" waits in the queue for the new transport.
  ASSERT_EQ(engine_.Post(s, R"(42["join-video","v1"])"), Engine::PostResult::kOk);
  engine_.Publish(Event{"video-status", "v1", R"({"status":"PROCESSING"})"}, 5);
  probe->session = s;
  ASSERT_TRUE(engine_.CompleteUpgrade(s, probe));
  EXPECT_EQ(Texts(probe->sent),
            std::vector<std::string>{
                R"(42["video-status",{"status":"PROCESSING","timestamp":5,"seq":1}])"});
  EXPECT_EQ(engine_.Poll(s, p.Answer()), Engine::PollResult::kWrongTransport);
  EXPECT_EQ(engine_.Post(s, "3"), Engine::PostResult::kWrongTransport);
  EXPECT_EQ(engine_.OnPacket(s, *DecodeEnginePacket(R"(42["join-user","u"])")),
            Engine::Verdict::kOk);
  EXPECT_EQ(engine_.hub().room_size("user-u"), 1u);
  engine_.Close(s, Engine::CloseKind::kClose);
  EXPECT_EQ(probe->closed, 1);
}

TEST_F(EngineTest, AbandonedProbeKeepsPolling) {
  Poller p;
  auto s = Connected(&p);
  auto probe = std::make_shared<FakeLink>(nullptr);
  ASSERT_TRUE(engine_.BeginProbe(s, probe));
  engine_.ProbeAnswered(s);
  engine_.AbandonProbe(s, probe);
  EXPECT_EQ(engine_.Poll(s, p.Answer()), Engine::PollResult::kHeld);
  EXPECT_FALSE(engine_.CompleteUpgrade(s, probe));  // "5" after the timeout: refused
  EXPECT_EQ(s->transport(), Transport::kPolling);
}

TEST_F(EngineTest, UpgradeWithoutProbeIsRefused) {
  Poller p;
  auto s = Connected(&p);
  auto link = std::make_shared<FakeLink>(s);
  ASSERT_TRUE(engine_.BeginProbe(s, link));
  EXPECT_FALSE(engine_.CompleteUpgrade(s, link));  // "5" before "2probe"
}

TEST_F(EngineTest, ShutdownClosesEverythingAndRefusesNewSessions) {
  Poller p;
  auto polling = Connected(&p);
  ASSERT_EQ(engine_.Poll(polling, p.Answer()), Engine::PollResult::kHeld);
  auto ws = engine_.Open("10.0.0.2", Transport::kWebSocket);
  ASSERT_TRUE(ws.ok());
  auto link = std::make_shared<FakeLink>(*ws);
  engine_.AttachWebSocket(*ws, link);
  engine_.Shutdown();
  EXPECT_EQ(p.answers.back(), "1");
  EXPECT_EQ(link->closed, 1);
  EXPECT_EQ(engine_.connection_count(), 0);
  auto refused = engine_.Open("10.0.0.3", Transport::kPolling);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "shutting_down");
}

TEST_F(EngineTest, DisconnectLeavesRoomsButKeepsTheSession) {
  Poller p;
  auto s = Connected(&p);
  ASSERT_EQ(engine_.Post(s, R"(42["join-video","v1"])"), Engine::PostResult::kOk);
  EXPECT_EQ(engine_.hub().room_size("video-v1"), 1u);
  ASSERT_EQ(engine_.Post(s, "41"), Engine::PostResult::kOk);
  EXPECT_EQ(engine_.hub().room_size("video-v1"), 0u);
  EXPECT_FALSE(s->closed());
  ASSERT_EQ(engine_.Post(s, "40"), Engine::PostResult::kOk);  // may connect again
}

TEST_F(EngineTest, AccessEventsAreNeitherDeliveredNorKeptAndWithoutMayJoinDoNothing) {
  Poller p;
  auto s = Connected(&p);
  ASSERT_EQ(engine_.Post(s, R"(42["join-video","v1"])"), Engine::PostResult::kOk);
  ASSERT_EQ(engine_.Poll(s, p.Answer()), Engine::PollResult::kHeld);
  engine_.Publish(Event{std::string(kVideoAccessEvent), "v1", R"({"videoId":"v1","visibility":"private"})"}, 5);
  EXPECT_EQ(p.answers.size(), 1u);  // still held: nothing went out
  EXPECT_EQ(engine_.hub().room_size("video-v1"), 1u);
  EXPECT_TRUE(engine_.hub().replay_buffer("video-v1").empty());
  EXPECT_EQ(engine_.Recheck("v1"), 0);
  // The next real event is the room's first.
  engine_.Publish(Event{"video-status", "v1", R"({"videoId":"v1","status":"READY"})"}, 6);
  ASSERT_EQ(p.answers.size(), 2u);
  EXPECT_EQ(p.answers.back(),
            R"(42["video-status",{"videoId":"v1","status":"READY","timestamp":6,"seq":1}])");
}

TEST(EngineHistoryTest, AccessEventsInASharedHistoryAreNotReplayed) {
  RealtimeOptions o;
  o.history = [](const std::string& id) {
    std::vector<Event> out;
    out.push_back(Event{"video-status", id, R"({"status":"PROCESSING"})", 10, 1000});
    out.push_back(Event{std::string(kVideoAccessEvent), id, R"({"visibility":"public"})", 11, 1001});
    out.push_back(Event{"video-status", id, R"({"status":"READY"})", 12, 1002});
    return out;
  };
  FakeClock clock;
  Engine engine(o, clock);
  auto s = engine.Open("10.0.0.1", Transport::kPolling);
  ASSERT_TRUE(s.ok());
  Poller p;
  ASSERT_EQ(engine.Post(*s, "40"), Engine::PostResult::kOk);
  ASSERT_EQ(engine.Poll(*s, p.Answer()), Engine::PollResult::kAnswered);
  ASSERT_EQ(engine.Post(*s, R"(42["join-video","v1"])"), Engine::PostResult::kOk);
  ASSERT_EQ(engine.Poll(*s, p.Answer()), Engine::PollResult::kAnswered);
  EXPECT_EQ(p.answers.back(),
            R"(42["video-status",{"status":"PROCESSING","timestamp":1000,"seq":10}])"
            "\x1e"
            R"(42["video-status",{"status":"READY","timestamp":1002,"seq":12}])");
  EXPECT_EQ(engine.hub().replay_buffer("video-v1").size(), 2u);
}

// Who a socket is and which rooms it may join: fakes of the server's wiring.
// A token in the CONNECT auth object wins over the handshake's cookie, as a
// script's explicit credentials would.
class EngineAccessTest : public ::testing::Test {
 protected:
  EngineAccessTest() : engine_(Options(this), clock_) {}

  static RealtimeOptions Options(EngineAccessTest* t) {
    RealtimeOptions o;
    o.max_payload = 1000;
    o.max_queued_bytes = 10000;
    o.identify = [t](const http::Headers& headers, const json::object* auth) {
      // Locks would deadlock here if the engine held any (registry, hub).
      (void)t->engine_.connection_count();
      (void)t->engine_.hub().replay_rooms();
      ++t->identify_calls_;
      t->last_auth_ = auth ? std::optional<std::string>(json::serialize(*auth)) : std::nullopt;
      if (auth && auth->contains("token")) return std::string(auth->at("token").as_string());
      const std::string_view cookie = headers.Get("Cookie");
      constexpr std::string_view kName = "vs_session=";
      if (auto at = cookie.find(kName); at != std::string_view::npos)
        return std::string(
            cookie.substr(at + kName.size(), cookie.find(';', at) - at - kName.size()));
      return std::string();
    };
    o.may_join = [t](const std::string& identity, std::string_view kind, std::string_view id) {
      (void)t->engine_.hub().room_size("video-" + std::string(id));  // no hub lock held
      t->asked_.push_back(identity + " " + std::string(kind) + " " + std::string(id));
      if (kind == "user") return id == identity;
      if (id == "public") return true;
      if (id == "shared") return t->shared_viewers_.contains(identity);
      return id == "private" && identity == "alice" &&
             !t->alice_revoked_;  // "missing" exists for none
    };
    return o;
  }

  // A polling session connected with `connect` ("40", "40{...}"), its CONNECT
  // reply drained.
  std::shared_ptr<Session> Connect(Poller* poller, const std::string& connect,
                                   http::Headers headers = {}) {
    auto s = engine_.Open("10.0.0.1", Transport::kPolling, std::move(headers));
    EXPECT_TRUE(s.ok());
    if (!s.ok()) return nullptr;
    EXPECT_EQ(engine_.Post(*s, connect), Engine::PostResult::kOk);
    EXPECT_EQ(engine_.Poll(*s, poller->Answer()), Engine::PollResult::kAnswered);
    EXPECT_EQ(poller->answers.back().rfind("40{\"sid\":\"", 0), 0u) << poller->answers.back();
    return *s;
  }

  FakeClock clock_;
  Engine engine_;
  int identify_calls_ = 0;
  std::optional<std::string> last_auth_;
  std::vector<std::string> asked_;
  bool alice_revoked_ = false;
  std::set<std::string> shared_viewers_{"alice", "bob"};  // who may see video "shared"
};

TEST_F(EngineAccessTest, IdentityComesFromTheConnectAuthObject) {
  Poller p;
  auto s = Connect(&p, R"(40{"token":"alice"})");
  EXPECT_EQ(identify_calls_, 1);
  EXPECT_EQ(last_auth_, std::optional<std::string>(R"({"token":"alice"})"));
  EXPECT_EQ(s->identity(), "alice");
  // Without auth the hook gets null, not an empty object.
  auto anon = Connect(&p, "40");
  EXPECT_EQ(identify_calls_, 2);
  EXPECT_EQ(last_auth_, std::nullopt);
  EXPECT_EQ(anon->identity(), "");
  // Pings, pongs and joins do not ask again: once per Socket.IO connection.
  ASSERT_EQ(engine_.Post(s, R"(42["join-video","public"])"), Engine::PostResult::kOk);
  EXPECT_EQ(identify_calls_, 2);
}

TEST_F(EngineAccessTest, IdentityComesFromTheHandshakeCookie) {
  Poller p;
  http::Headers h;
  h.Set("Cookie", "theme=dark; vs_session=alice; lang=en");
  auto s = Connect(&p, "40", h);
  EXPECT_EQ(s->handshake_headers().Get("Cookie"), "theme=dark; vs_session=alice; lang=en");
  EXPECT_EQ(s->identity(), "alice");
  ASSERT_EQ(engine_.Post(s, R"(421["join-video","private"])"), Engine::PostResult::kOk);
  ASSERT_EQ(engine_.Poll(s, p.Answer()), Engine::PollResult::kAnswered);
  EXPECT_EQ(p.answers.back(), R"(431[{"ok":true}])");
  ASSERT_FALSE(asked_.empty());
  EXPECT_EQ(asked_.back(), "alice video private");
  // A DISCONNECT forgets the identity; the next CONNECT asks again (here
  // with a token, which the fake prefers to the cookie).
  ASSERT_EQ(engine_.Post(s, "41"), Engine::PostResult::kOk);
  EXPECT_EQ(s->identity(), "");
  ASSERT_EQ(engine_.Post(s, R"(40{"token":"bob"})"), Engine::PostResult::kOk);
  EXPECT_EQ(s->identity(), "bob");
  EXPECT_EQ(identify_calls_, 2);
}

TEST_F(EngineAccessTest, RefusedJoinGetsAnErrorNoReplayAndNoEvents) {
  Poller pa, pb;
  engine_.Publish(
      Event{"video-status", "private", R"({"videoId":"private","status":"PROCESSING"})"}, 1);
  auto alice = Connect(&pa, R"(40{"token":"alice"})");
  auto bob = Connect(&pb, R"(40{"token":"bob"})");
  ASSERT_EQ(engine_.Post(alice, R"(421["join-video","private"])"), Engine::PostResult::kOk);
  ASSERT_EQ(engine_.Post(bob, R"(427["join-video","private"])"), Engine::PostResult::kOk);
  ASSERT_EQ(engine_.Poll(alice, pa.Answer()), Engine::PollResult::kAnswered);
  ASSERT_EQ(engine_.Poll(bob, pb.Answer()), Engine::PollResult::kAnswered);
  // Alice gets the replay, then her ack.
  EXPECT_EQ(
      pa.answers.back(),
      R"(42["video-status",{"videoId":"private","status":"PROCESSING","timestamp":1,"seq":1}])"
      "\x1e"
      R"(431[{"ok":true}])");
  // Bob: the error event and a failed ack, and no replay.
  EXPECT_EQ(pb.answers.back(), R"(42["error",{"message":"not allowed to join video private"}])"
                               "\x1e"
                               R"(437[{"ok":false,"error":"not allowed to join video private"}])");
  EXPECT_EQ(engine_.hub().room_size("video-private"), 1u);  // Alice only

  // A live event reaches Alice and not Bob, whose next packet is the event of
  // a room he may join.
  ASSERT_EQ(engine_.Poll(alice, pa.Answer()), Engine::PollResult::kHeld);
  ASSERT_EQ(engine_.Poll(bob, pb.Answer()), Engine::PollResult::kHeld);
  ASSERT_EQ(engine_.Post(bob, R"(42["join-video","public"])"), Engine::PostResult::kOk);
  engine_.Publish(Event{"video-status", "private", R"({"videoId":"private","status":"READY"})"}, 2);
  EXPECT_EQ(pa.answers.back(),
            R"(42["video-status",{"videoId":"private","status":"READY","timestamp":2,"seq":2}])");
  EXPECT_EQ(pb.answers.size(), 2u);  // still held
  engine_.Publish(Event{"video-status", "public", R"({"videoId":"public","status":"READY"})"}, 3);
  ASSERT_EQ(pb.answers.size(), 3u);
  EXPECT_EQ(pb.answers.back(),
            R"(42["video-status",{"videoId":"public","status":"READY","timestamp":3,"seq":1}])");
  EXPECT_FALSE(bob->closed());  // a refusal is not a protocol error
}

TEST_F(EngineAccessTest, MissingAndForbiddenVideosGetTheSameRefusal) {
  Poller p;
  auto bob = Connect(&p, R"(40{"token":"bob"})");
  engine_.Publish(Event{"video-status", "private", R"({"status":"READY"})"}, 1);
  ASSERT_EQ(engine_.Post(bob, R"(421["join-video","private"])"), Engine::PostResult::kOk);
  ASSERT_EQ(engine_.Poll(bob, p.Answer()), Engine::PollResult::kAnswered);
  const std::string forbidden = p.answers.back();
  ASSERT_EQ(engine_.Post(bob, R"(421["join-video","missing"])"), Engine::PostResult::kOk);
  ASSERT_EQ(engine_.Poll(bob, p.Answer()), Engine::PollResult::kAnswered);
  const std::string missing = p.answers.back();
  EXPECT_EQ(forbidden.substr(0, forbidden.find("private")),
            missing.substr(0, missing.find("missing")));
  EXPECT_EQ(missing, R"(42["error",{"message":"not allowed to join video missing"}])"
                     "\x1e"
                     R"(431[{"ok":false,"error":"not allowed to join video missing"}])");
}

TEST_F(EngineAccessTest, JoinUserOnlyForOneselfAndAnonymousForNone) {
  Poller p;
  auto alice = Connect(&p, R"(40{"token":"alice"})");
  ASSERT_EQ(engine_.Post(alice, R"(421["join-user","alice"])"), Engine::PostResult::kOk);
  ASSERT_EQ(engine_.Poll(alice, p.Answer()), Engine::PollResult::kAnswered);
  EXPECT_EQ(p.answers.back(), R"(431[{"ok":true}])");
  ASSERT_EQ(engine_.Post(alice, R"(422["join-user","bob"])"), Engine::PostResult::kOk);
  ASSERT_EQ(engine_.Poll(alice, p.Answer()), Engine::PollResult::kAnswered);
  EXPECT_EQ(p.answers.back(), R"(42["error",{"message":"not allowed to join user bob"}])"
                              "\x1e"
                              R"(432[{"ok":false,"error":"not allowed to join user bob"}])");
  ASSERT_FALSE(asked_.empty());
  EXPECT_EQ(asked_.back(), "alice user bob");
  auto anon = Connect(&p, "40");
  ASSERT_EQ(engine_.Post(anon, R"(42["join-video","private"])"), Engine::PostResult::kOk);
  ASSERT_FALSE(asked_.empty());
  EXPECT_EQ(asked_.back(), " video private");
  EXPECT_EQ(engine_.hub().room_size("user-alice"), 1u);
  EXPECT_EQ(engine_.hub().room_size("user-bob"), 0u);
  EXPECT_EQ(engine_.hub().room_size("video-private"), 0u);
}

TEST_F(EngineAccessTest, ARefusedJoinLeavesTheRoomJoinedBefore) {
  Poller p;
  auto alice = Connect(&p, R"(40{"token":"alice"})");
  ASSERT_EQ(engine_.Post(alice, R"(42["join-video","private"])"), Engine::PostResult::kOk);
  EXPECT_EQ(engine_.hub().room_size("video-private"), 1u);
  alice_revoked_ = true;  // e.g. an admin took the video away
  ASSERT_EQ(engine_.Post(alice, R"(42["join-video","private"])"), Engine::PostResult::kOk);
  EXPECT_EQ(engine_.hub().room_size("video-private"), 0u);
}

TEST_F(EngineAccessTest, AnAccessEventTakesSocketsThatMayNoLongerSeeTheVideoOutOfItsRoom) {
  Poller pa, pb1, pb2;
  auto alice = Connect(&pa, R"(40{"token":"alice"})");
  auto bob1 = Connect(&pb1, R"(40{"token":"bob"})");
  auto bob2 = Connect(&pb2, R"(40{"token":"bob"})");
  for (const auto& s : {alice, bob1, bob2})
    ASSERT_EQ(engine_.Post(s, R"(42["join-video","shared"])"), Engine::PostResult::kOk);
  ASSERT_EQ(engine_.Post(bob1, R"(42["join-video","public"])"), Engine::PostResult::kOk);
  EXPECT_EQ(engine_.hub().room_size("video-shared"), 3u);
  engine_.Publish(Event{"video-status", "shared", R"({"videoId":"shared","status":"READY"})"}, 1);
  for (auto* p : {&pa, &pb1, &pb2}) p->answers.clear();
  for (const auto& [s, p] : {std::pair{alice, &pa}, std::pair{bob1, &pb1}, std::pair{bob2, &pb2}}) {
    ASSERT_EQ(engine_.Poll(s, p->Answer()), Engine::PollResult::kAnswered);
    EXPECT_EQ(p->answers.back(),
              R"(42["video-status",{"videoId":"shared","status":"READY","timestamp":1,"seq":1}])");
  }
  for (const auto& [s, p] : {std::pair{alice, &pa}, std::pair{bob1, &pb1}, std::pair{bob2, &pb2}})
    ASSERT_EQ(engine_.Poll(s, p->Answer()), Engine::PollResult::kHeld);

  // The owner makes it private: bob may no longer see it.
  shared_viewers_.erase("bob");
  asked_.clear();
  engine_.Publish(
      Event{std::string(kVideoAccessEvent), "shared", R"({"videoId":"shared","visibility":"private"})"}, 2);
  // Asked once per identity (bob has two sockets), with no lock held (the
  // fake looks at the hub).
  std::sort(asked_.begin(), asked_.end());
  EXPECT_EQ(asked_, (std::vector<std::string>{"alice video shared", "bob video shared"}));
  // Both of bob's sockets get the error of a refused join; alice gets nothing.
  for (auto* p : {&pb1, &pb2}) {
    ASSERT_EQ(p->answers.size(), 2u);
    EXPECT_EQ(p->answers.back(), R"(42["error",{"message":"not allowed to join video shared"}])");
  }
  EXPECT_EQ(pa.answers.size(), 1u);  // still held: the access event is not sent on
  EXPECT_EQ(engine_.hub().room_size("video-shared"), 1u);
  EXPECT_EQ(engine_.hub().room_size("video-public"), 1u);  // other rooms are untouched
  EXPECT_FALSE(bob1->closed());

  // Later events of the video reach alice only; bob1 still gets his other room's.
  ASSERT_EQ(engine_.Poll(bob1, pb1.Answer()), Engine::PollResult::kHeld);
  ASSERT_EQ(engine_.Poll(bob2, pb2.Answer()), Engine::PollResult::kHeld);
  engine_.Publish(Event{"video-status", "shared", R"({"videoId":"shared","status":"DELETED"})"}, 3);
  ASSERT_EQ(pa.answers.size(), 2u);
  EXPECT_EQ(pa.answers.back(),
            R"(42["video-status",{"videoId":"shared","status":"DELETED","timestamp":3,"seq":2}])");
  EXPECT_EQ(pb1.answers.size(), 2u);  // held
  EXPECT_EQ(pb2.answers.size(), 2u);
  engine_.Publish(Event{"video-status", "public", R"({"videoId":"public","status":"READY"})"}, 4);
  ASSERT_EQ(pb1.answers.size(), 3u);
  EXPECT_EQ(pb1.answers.back(),
            R"(42["video-status",{"videoId":"public","status":"READY","timestamp":4,"seq":1}])");
  EXPECT_EQ(pb2.answers.size(), 2u);
  // The replay buffer never held the access event.
  for (const auto& e : engine_.hub().replay_buffer("video-shared")) EXPECT_EQ(e->name, "video-status");

  // A second access event finds nobody to take out and sends nothing.
  EXPECT_EQ(engine_.Recheck("shared"), 0);
  EXPECT_EQ(pb1.answers.size(), 3u);
  // Joining again is refused as any join would be.
  ASSERT_EQ(engine_.Post(bob1, R"(421["join-video","shared"])"), Engine::PostResult::kOk);
  ASSERT_EQ(engine_.Poll(bob1, pb1.Answer()), Engine::PollResult::kAnswered);
  EXPECT_EQ(pb1.answers.back(), R"(42["error",{"message":"not allowed to join video shared"}])"
                                "\x1e"
                                R"(431[{"ok":false,"error":"not allowed to join video shared"}])");
}

TEST_F(EngineAccessTest, ARecheckLeavesSocketsThatLeftOrDisconnectedAlone) {
  Poller pa, pb;
  auto alice = Connect(&pa, R"(40{"token":"alice"})");
  auto bob = Connect(&pb, R"(40{"token":"bob"})");
  ASSERT_EQ(engine_.Post(bob, R"(42["join-video","shared"])"), Engine::PostResult::kOk);
  ASSERT_EQ(engine_.Post(bob, R"(42["leave-video","shared"])"), Engine::PostResult::kOk);
  ASSERT_EQ(engine_.Post(alice, R"(42["join-video","shared"])"), Engine::PostResult::kOk);
  ASSERT_EQ(engine_.Post(alice, "41"), Engine::PostResult::kOk);  // leaves every room
  shared_viewers_.clear();
  asked_.clear();
  EXPECT_EQ(engine_.Recheck("shared"), 0);
  EXPECT_TRUE(asked_.empty());  // an empty room asks nobody
  ASSERT_EQ(engine_.Poll(bob, pb.Answer()), Engine::PollResult::kHeld);
  ASSERT_EQ(engine_.Poll(alice, pa.Answer()), Engine::PollResult::kHeld);
}

TEST_F(EngineAccessTest, LeavingNeedsNoPermission) {
  Poller p;
  auto bob = Connect(&p, R"(40{"token":"bob"})");
  const size_t asked = asked_.size();
  ASSERT_EQ(engine_.Post(bob, R"(421["leave-video","private"])"), Engine::PostResult::kOk);
  ASSERT_EQ(engine_.Poll(bob, p.Answer()), Engine::PollResult::kAnswered);
  EXPECT_EQ(p.answers.back(), R"(431[{"ok":true}])");
  EXPECT_EQ(asked_.size(), asked);
}

}  // namespace
}  // namespace vs::realtime
