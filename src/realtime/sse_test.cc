#include "realtime/sse.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <boost/asio.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <optional>
#include <sys/socket.h>
#include <sys/time.h>
#include <thread>
#include <string>
#include <vector>

#include "core/clock.h"
#include "realtime/realtime.h"

namespace vs::realtime {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

TEST(SseFrame, RoomEventsBecomeOneFrameWithTheirSeqAsId) {
  const std::string frame =
      SseFrame(RoomEvent{"video-status", R"({"videoId":"a","title":"two\nlines","seq":7,"timestamp":1})", 7});
  EXPECT_EQ(frame,
            "id: 7\nevent: video-status\n"
            "data: {\"videoId\":\"a\",\"title\":\"two\\nlines\",\"seq\":7,\"timestamp\":1}\n\n");
  // Exactly one data line: the newline inside the title stays escaped.
  EXPECT_EQ(std::count(frame.begin(), frame.end(), '\n'), 4);
}

constexpr char kVideo[] = "0123456789abcdef01234567";

http::Request EventsRequest(const http::Headers& headers = {}) {
  http::Request r;
  r.method = "GET";
  r.path = std::string("/api/videos/") + kVideo + "/events";
  r.target = r.path;
  r.headers = headers;
  r.remote_addr = "127.0.0.1";
  r.request_id = "req-1";
  return r;
}

// Everything a client receives when the handler refuses its request: the
// handler runs on one end of a loopback connection until it closes it. A
// stream it accepts by mistake is ended by a shutdown after a few seconds,
// so that the test fails instead of hanging.
std::string Refusal(const RealtimeOptions& options, http::Request req) {
  FakeClock clock;
  Engine engine(options, clock);
  auto handler = NewSseHandler(engine);
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket server = acceptor.accept();
  asio::co_spawn(
      io, handler->Upgrade(boost::beast::tcp_stream(std::move(server)), {}, {}, std::move(req)),
      asio::detached);
  io.run_for(std::chrono::seconds(5));
  if (!io.stopped()) {
    handler->Shutdown();
    io.run_for(std::chrono::seconds(5));
  }
  std::string out;
  char buf[4096];
  boost::system::error_code ec;
  for (;;) {
    const size_t n = client.read_some(asio::buffer(buf), ec);
    if (ec) break;
    out.append(buf, n);
  }
  return out;
}

TEST(SseAccess, ARefusedVideoIsAnsweredExactlyLikeAMissingOne) {
  RealtimeOptions missing;
  missing.video_exists = [](const std::string&) -> Result<bool> { return false; };
  const std::string not_found = Refusal(missing, EventsRequest());
  ASSERT_EQ(not_found.rfind("HTTP/1.1 404 ", 0), 0u) << not_found;
  EXPECT_NE(not_found.find(kVideo), std::string::npos);

  // The video exists, but the client may not see it.
  RealtimeOptions refused;
  std::vector<std::string> asked;
  std::optional<bool> auth_was_null;
  bool existence_checked = false;
  refused.identify = [&](const http::Headers& h, const boost::json::object* auth) {
    auth_was_null = auth == nullptr;
    return std::string(h.Get("Cookie") == "vs_session=bob" ? "bob" : "");
  };
  refused.may_join = [&](const std::string& identity, std::string_view kind, std::string_view id) {
    asked.push_back(identity + " " + std::string(kind) + " " + std::string(id));
    return identity == "alice";
  };
  refused.video_exists = [&](const std::string&) -> Result<bool> {
    existence_checked = true;
    return true;
  };
  http::Headers bob;
  bob.Set("Cookie", "vs_session=bob");
  EXPECT_EQ(Refusal(refused, EventsRequest(bob)), not_found);  // byte for byte
  EXPECT_EQ(auth_was_null, std::optional<bool>(true));
  EXPECT_EQ(asked, std::vector<std::string>{"bob video " + std::string(kVideo)});
  EXPECT_FALSE(existence_checked);                          // refused before the existence check
  EXPECT_EQ(Refusal(refused, EventsRequest()), not_found);  // anonymous alike
}

TEST(SseAccess, AnAllowedClientGoesOnToTheNextChecks) {
  RealtimeOptions o;
  o.cors_origin = "http://app.example";
  o.identify = [](const http::Headers&, const boost::json::object*) {
    return std::string("alice");
  };
  o.may_join = [](const std::string& identity, std::string_view, std::string_view) {
    return identity == "alice";
  };
  bool existence_checked = false;
  o.video_exists = [&](const std::string&) -> Result<bool> {
    existence_checked = true;
    return true;
  };
  // A foreign origin ends the request after the access checks, which lets
  // the test see that they passed.
  http::Headers h;
  h.Set("Origin", "http://evil.example");
  const std::string answer = Refusal(o, EventsRequest(h));
  EXPECT_EQ(answer.rfind("HTTP/1.1 403 ", 0), 0u) << answer;
  EXPECT_TRUE(existence_checked);
}

// Reads from `fd` (a socket with a receive timeout) until `out` holds
// `until`, or to the end of the stream when `until` is empty. False on a
// timeout or, with `until`, an end before it came.
bool ReadUntil(int fd, std::string* out, std::string_view until) {
  char buf[4096];
  while (until.empty() || out->find(until) == std::string::npos) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) return until.empty();
    if (n < 0) return false;  // the timeout, or a reset
    out->append(buf, static_cast<size_t>(n));
  }
  return true;
}

TEST(SseAccess, AStreamWhoseClientMayNoLongerSeeTheVideoIsEnded) {
  std::atomic<bool> allowed{true};
  RealtimeOptions o;
  o.identify = [](const http::Headers&, const boost::json::object*) { return std::string("bob"); };
  o.may_join = [&](const std::string& identity, std::string_view kind, std::string_view) {
    return identity == "bob" && kind == "video" && allowed.load();
  };
  FakeClock clock;
  Engine engine(o, clock);
  auto handler = NewSseHandler(engine);
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  timeval tv{5, 0};
  ASSERT_EQ(::setsockopt(client.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  tcp::socket server = acceptor.accept();
  asio::co_spawn(
      io, handler->Upgrade(boost::beast::tcp_stream(std::move(server)), {}, {}, EventsRequest()),
      asio::detached);
  std::thread runner([&] { io.run_for(std::chrono::seconds(20)); });
  struct Stop {
    SseHandler& h;
    std::thread& t;
    ~Stop() {
      h.Shutdown();
      t.join();
    }
  } stop{*handler, runner};

  const std::string room = std::string("video-") + kVideo;
  std::string got;
  ASSERT_TRUE(ReadUntil(client.native_handle(), &got, "retry: 3000\n\n")) << got;
  ASSERT_EQ(got.rfind("HTTP/1.1 200 ", 0), 0u) << got;
  for (int i = 0; i < 500 && engine.hub().room_size(room) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(engine.hub().room_size(room), 1u);

  engine.Publish(Event{"video-status", kVideo, R"({"status":"READY"})"}, 1);
  got.clear();
  ASSERT_TRUE(ReadUntil(client.native_handle(), &got, "\n\n")) << got;
  EXPECT_EQ(got, "id: 1\nevent: video-status\ndata: {\"status\":\"READY\",\"timestamp\":1,\"seq\":1}\n\n");

  // Still allowed: an access event changes nothing and sends nothing.
  engine.Publish(Event{std::string(kVideoAccessEvent), kVideo, R"({"visibility":"unlisted"})"}, 2);
  EXPECT_EQ(engine.hub().room_size(room), 1u);

  // Made private: the stream ends, with nothing more sent.
  allowed = false;
  engine.Publish(Event{std::string(kVideoAccessEvent), kVideo, R"({"visibility":"private"})"}, 3);
  EXPECT_EQ(engine.hub().room_size(room), 0u);
  got.clear();
  EXPECT_TRUE(ReadUntil(client.native_handle(), &got, "")) << "the stream was not ended";
  EXPECT_EQ(got.find("video-access"), std::string::npos) << got;
  EXPECT_EQ(got.find("event:"), std::string::npos) << got;
  for (int i = 0; i < 500 && handler->stream_count() != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(handler->stream_count(), 0);
}

}  // namespace
}  // namespace vs::realtime
