#include "realtime/polling.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "realtime/realtime.h"

namespace vs::realtime {
namespace {

namespace json = boost::json;

// Drives the registered /socket.io handlers the way the HTTP server does.
class PollingTest : public ::testing::Test {
 protected:
  explicit PollingTest(RealtimeOptions options = Options())
      : rt_(std::move(options), bus_, clock_) {
    rt_.Register(router_);
  }
  ~PollingTest() override { rt_.Shutdown(); }

  static RealtimeOptions Options() {
    RealtimeOptions o;
    o.max_payload = 100;
    o.max_sockets_per_address = 2;
    o.cors_origin = "http://app.example";
    return o;
  }

  http::Request Req(const std::string& method, const std::string& query, std::string body = "") {
    http::Request r;
    r.method = method;
    r.path = "/socket.io";
    r.raw_query = query;
    r.body = std::move(body);
    r.remote_addr = "127.0.0.1";
    return r;
  }

  // Where a held GET's answer lands; filled from the realtime thread.
  struct Slot {
    std::optional<http::Response> Take() {
      std::lock_guard lock(mu);
      return response;
    }
    std::mutex mu;
    std::optional<http::Response> response;
  };

  // Calls the GET handler; nullopt while the request is held.
  std::optional<http::Response> Get(http::Request r, std::shared_ptr<Slot> slot = nullptr) {
    auto m = router_.Find("GET", "/socket.io");
    EXPECT_NE(m.target, nullptr);
    if (!slot) slot = std::make_shared<Slot>();
    std::get<http::AsyncHandler> (*m.target)(r, [slot](http::Response resp) {
      std::lock_guard lock(slot->mu);
      slot->response = std::move(resp);
    });
    return slot->Take();
  }

  http::Response Post(http::Request r) {
    auto m = router_.Find("POST", "/socket.io");
    EXPECT_NE(m.target, nullptr);
    return std::get<http::Handler>(*m.target)(r);
  }

  // A handshake; returns the sid.
  std::string Handshake(const http::Headers& headers = {}) {
    auto req = Req("GET", "EIO=4&transport=polling&t=abc");
    req.headers = headers;
    auto r = Get(req);
    EXPECT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    json::value open = json::parse(std::string_view(r->body).substr(1));
    return std::string(open.at("sid").as_string());
  }

  FakeClock clock_;
  EventBus bus_;
  RealtimeServer rt_;
  http::Router router_;
};

TEST_F(PollingTest, HandshakeAdvertisesWebSocketWithPollingHeaders) {
  auto r = Get(Req("GET", "EIO=4&transport=polling&t=PZ1aBcD"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->headers.Get("Content-Type"), "text/plain; charset=UTF-8");
  EXPECT_EQ(r->headers.Get("Cache-Control"), "no-store");
  EXPECT_EQ(r->headers.Get("Access-Control-Allow-Origin"), "http://app.example");
  ASSERT_EQ(r->body[0], '0');
  json::value open = json::parse(std::string_view(r->body).substr(1));
  EXPECT_EQ(open.at("upgrades"), json::value(json::array{"websocket"}));
  EXPECT_EQ(open.at("pingInterval").as_int64(), 25000);
  EXPECT_EQ(open.at("pingTimeout").as_int64(), 20000);
  EXPECT_EQ(open.at("maxPayload").as_int64(), 100);
  EXPECT_EQ(rt_.connection_count(), 1);
}

TEST_F(PollingTest, CorsEchoesTheFrontendOriginWithCredentials) {
  auto req = Req("GET", "EIO=4&transport=polling");
  req.headers.Set("Origin", "http://app.example");
  auto r = Get(req);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->headers.Get("Access-Control-Allow-Origin"), "http://app.example");
  EXPECT_EQ(r->headers.Get("Access-Control-Allow-Credentials"), "true");
  EXPECT_EQ(r->headers.Get("Vary"), "Origin");
}

TEST_F(PollingTest, ForeignOriginsAreRefusedAndOwnOriginAllowed) {
  auto req = Req("GET", "EIO=4&transport=polling");
  req.headers.Set("Origin", "http://evil.example");
  auto r = Get(req);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->body, R"({"code":4,"message":"Forbidden"})");
  EXPECT_EQ(r->headers.Get("Access-Control-Allow-Credentials"), "");

  req.headers.Set("Origin", "http://localhost:8080");
  req.headers.Set("Host", "localhost:8080");
  r = Get(req);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(PollingTest, RequestErrorsUseEngineIoCodes) {
  struct Case {
    const char* method;
    const char* query;
    int status;
    const char* body;
  };
  for (const Case& c : {
           Case{"GET", "EIO=4&transport=carrier-pigeon", 400,
                R"({"code":0,"message":"Transport unknown"})"},
           Case{"GET", "EIO=4", 400, R"({"code":0,"message":"Transport unknown"})"},
           Case{"GET", "EIO=4&transport=polling&sid=nope", 400,
                R"({"code":1,"message":"Session ID unknown"})"},
           Case{"POST", "EIO=4&transport=polling&sid=nope", 400,
                R"({"code":1,"message":"Session ID unknown"})"},
           Case{"POST", "EIO=4&transport=polling", 400,
                R"({"code":2,"message":"Bad handshake method"})"},
           Case{"GET", "EIO=4&transport=websocket", 400, R"({"code":3,"message":"Bad request"})"},
           Case{"GET", "EIO=3&transport=polling", 400,
                R"({"code":5,"message":"Unsupported protocol version"})"},
           Case{"GET", "transport=polling", 400,
                R"({"code":5,"message":"Unsupported protocol version"})"},
       }) {
    auto req = Req(c.method, c.query, "40");
    http::Response r = std::string(c.method) == "GET" ? *Get(req) : Post(req);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.query;
    EXPECT_EQ(r.body, c.body) << c.method << " " << c.query;
    EXPECT_EQ(r.headers.Get("Access-Control-Allow-Origin"), "http://app.example");
  }
  EXPECT_EQ(rt_.connection_count(), 0);
}

TEST_F(PollingTest, PostAnswersOkAndTheHeldGetGetsTheReply) {
  const std::string sid = Handshake();
  auto slot = std::make_shared<Slot>();
  EXPECT_FALSE(Get(Req("GET", "EIO=4&transport=polling&sid=" + sid), slot));
  auto ok = Post(Req("POST", "EIO=4&transport=polling&sid=" + sid, "40"));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "ok");
  auto held = slot->Take();
  ASSERT_TRUE(held);
  EXPECT_EQ(held->status, 200);
  EXPECT_EQ(held->body.rfind("40{\"sid\":", 0), 0u);
  EXPECT_EQ(held->headers.Get("Access-Control-Allow-Origin"), "http://app.example");
}

TEST_F(PollingTest, OversizedPostIs413AndEndsTheSession) {
  const std::string sid = Handshake();
  auto r = Post(Req("POST", "EIO=4&transport=polling&sid=" + sid, "4" + std::string(100, 'x')));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(rt_.connection_count(), 0);
}

TEST_F(PollingTest, BadPacketsAre400) {
  const std::string sid = Handshake();
  auto r = Post(Req("POST", "EIO=4&transport=polling&sid=" + sid, "42{}"));
  EXPECT_EQ(r.status, 400);
  auto again = Get(Req("GET", "EIO=4&transport=polling&sid=" + sid));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body, R"({"code":1,"message":"Session ID unknown"})");
}

TEST_F(PollingTest, TooManySessionsFromOneAddressIs403) {
  Handshake();
  Handshake();
  auto r = Get(Req("GET", "EIO=4&transport=polling"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->body, R"({"code":4,"message":"Forbidden"})");
}

TEST_F(PollingTest, BusEventsReachJoinedSocketsWithSeqAndTimestamp) {
  const std::string sid = Handshake();
  const std::string q = "EIO=4&transport=polling&sid=" + sid;
  ASSERT_EQ(Post(Req("POST", q,
                     "40\x1e"
                     "42[\"join-video\",\"v1\"]"))
                .status,
            200);
  ASSERT_TRUE(Get(Req("GET", q)));  // the CONNECT reply
  auto slot = std::make_shared<Slot>();
  EXPECT_FALSE(Get(Req("GET", q), slot));
  bus_.Publish(Event{"processing-progress", "v2", R"({"videoId":"v2","progress":1})"});
  bus_.Publish(Event{"processing-progress", "v1", R"({"videoId":"v1","progress":50})"});
  // Fan-out runs on the realtime thread: wait for it (bounded).
  for (int i = 0; i < 500 && !slot->Take(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto held = slot->Take();
  ASSERT_TRUE(held);
  EXPECT_EQ(held->body, R"(42["processing-progress",{"videoId":"v1","progress":50,"timestamp":)" +
                            std::to_string(clock_.NowMs()) + R"(,"seq":1}])");
}

TEST_F(PollingTest, ShutdownAnswersHeldPollsAndRefusesHandshakes) {
  const std::string sid = Handshake();
  auto slot = std::make_shared<Slot>();
  EXPECT_FALSE(Get(Req("GET", "EIO=4&transport=polling&sid=" + sid), slot));
  rt_.Shutdown();
  auto held = slot->Take();
  ASSERT_TRUE(held);
  EXPECT_EQ(held->body, "1");
  auto r = Get(Req("GET", "EIO=4&transport=polling"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  rt_.Shutdown();  // idempotent
}

// The server's wiring in miniature: the cookie of the polling handshake says
// who the socket is; only "alice" may see video "mine".
class PollingAccessTest : public PollingTest {
 protected:
  PollingAccessTest() : PollingTest(AccessOptions()) {}

  static RealtimeOptions AccessOptions() {
    RealtimeOptions o = Options();
    o.identify = [](const http::Headers& headers, const json::object* auth) {
      if (auth && auth->contains("token")) return std::string(auth->at("token").as_string());
      return headers.Get("Cookie") == "vs_session=alice" ? std::string("alice") : std::string();
    };
    o.may_join = [](const std::string& identity, std::string_view kind, std::string_view id) {
      return kind == "video" && (id == "public" || (id == "mine" && identity == "alice"));
    };
    return o;
  }

  // Waits (bounded) for the realtime thread to answer a held GET.
  static std::optional<http::Response> Await(const std::shared_ptr<Slot>& slot) {
    for (int i = 0; i < 500 && !slot->Take(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return slot->Take();
  }
};

TEST_F(PollingAccessTest, BusEventsOfARefusedVideoDoNotReachTheSocket) {
  http::Headers cookie;
  cookie.Set("Cookie", "vs_session=alice");
  const std::string qa = "EIO=4&transport=polling&sid=" + Handshake(cookie);
  const std::string qb = "EIO=4&transport=polling&sid=" + Handshake();
  ASSERT_EQ(Post(Req("POST", qa,
                     "40\x1e"
                     R"(42["join-video","mine"])"))
                .status,
            200);
  ASSERT_EQ(Post(Req("POST", qb,
                     "40\x1e"
                     R"(421["join-video","mine"])"
                     "\x1e"
                     R"(42["join-video","public"])"))
                .status,
            200);
  ASSERT_TRUE(Get(Req("GET", qa)));  // the CONNECT reply
  auto refused = Get(Req("GET", qb));
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->body.find(R"(42["error",{"message":"not allowed to join video mine"}])"),
            std::string::npos)
      << refused->body;
  EXPECT_NE(refused->body.find(R"(431[{"ok":false,"error":"not allowed to join video mine"}])"),
            std::string::npos)
      << refused->body;

  auto slot_a = std::make_shared<Slot>();
  auto slot_b = std::make_shared<Slot>();
  EXPECT_FALSE(Get(Req("GET", qa), slot_a));
  EXPECT_FALSE(Get(Req("GET", qb), slot_b));
  // Events go out in publishing order: if the first reached the refused
  // socket it would come before the second.
  bus_.Publish(Event{"video-status", "mine", R"({"videoId":"mine","status":"READY"})"});
  bus_.Publish(Event{"video-status", "public", R"({"videoId":"public","status":"READY"})"});
  auto a = Await(slot_a);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->body.rfind(R"(42["video-status",{"videoId":"mine")", 0), 0u) << a->body;
  auto b = Await(slot_b);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->body.rfind(R"(42["video-status",{"videoId":"public")", 0), 0u) << b->body;
  EXPECT_EQ(b->body.find("\"mine\""), std::string::npos) << b->body;
}

}  // namespace
}  // namespace vs::realtime
