#include "realtime/websocket.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "core/clock.h"
#include "http/upgrade.h"

namespace vs::realtime {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

// A client frame: masked (with a zero key, which leaves the bytes as they
// are), text, short.
std::string ClientTextFrame(std::string_view payload) {
  std::string f;
  f += static_cast<char>(0x81);
  f += static_cast<char>(0x80 | payload.size());
  f.append(4, '\0');
  f += payload;
  return f;
}

// The payload of one short unmasked server text frame.
std::string ReadServerFrame(tcp::socket& s) {
  unsigned char head[2];
  asio::read(s, asio::buffer(head));
  EXPECT_EQ(head[0], 0x81);
  EXPECT_LT(head[1], 126);
  std::string payload(head[1] & 0x7f, '\0');
  asio::read(s, asio::buffer(payload));
  return payload;
}

// The client's side of a WebSocket-only session up to its CONNECT reply;
// returns the engine sid. Throws when the server answers otherwise.
std::string Converse(tcp::socket& client) {
  // Byte by byte: the open packet's frame may follow in the same segment.
  std::string head;
  while (!head.ends_with("\r\n\r\n")) {
    char c;
    asio::read(client, asio::buffer(&c, 1));
    head += c;
  }
  if (head.rfind("HTTP/1.1 101", 0) != 0) throw std::runtime_error("no 101: " + head);
  const std::string open = ReadServerFrame(client);
  if (open.rfind("0{", 0) != 0) throw std::runtime_error("no open packet: " + open);
  std::string sid(json::parse(std::string_view(open).substr(1)).at("sid").as_string());
  asio::write(client, asio::buffer(ClientTextFrame("40")));
  const std::string reply = ReadServerFrame(client);
  if (reply.rfind("40{\"sid\":", 0) != 0) throw std::runtime_error("no CONNECT reply: " + reply);
  return sid;
}

// A WebSocket-only session (no polling first) keeps the headers of its
// upgrade request: that is where its cookie comes from at CONNECT.
TEST(WebSocketAccess, AWebSocketOnlySessionIsIdentifiedByItsUpgradeRequest) {
  std::mutex mu;
  std::optional<std::string> cookie_seen;
  RealtimeOptions o;
  o.identify = [&](const http::Headers& headers, const json::object* auth) {
    std::lock_guard lock(mu);
    cookie_seen = std::string(headers.Get("Cookie"));
    EXPECT_EQ(auth, nullptr);
    return std::string(headers.Get("Cookie") == "vs_session=alice" ? "alice" : "");
  };
  FakeClock clock;
  Engine engine(o, clock);
  auto handler = NewWebSocketHandler(engine);

  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket server = acceptor.accept();

  bhttp::request<bhttp::empty_body> req{bhttp::verb::get, "/socket.io/?EIO=4&transport=websocket",
                                        11};
  req.set(bhttp::field::upgrade, "websocket");
  req.set(bhttp::field::connection, "Upgrade");
  req.set(bhttp::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  req.set(bhttp::field::sec_websocket_version, "13");
  req.set(bhttp::field::cookie, "vs_session=alice");
  http::Request parsed;
  parsed.method = "GET";
  parsed.path = "/socket.io/";
  parsed.raw_query = "EIO=4&transport=websocket";
  parsed.target = "/socket.io/?EIO=4&transport=websocket";
  parsed.remote_addr = "127.0.0.1";
  parsed.headers.Set("Cookie", "vs_session=alice");
  asio::co_spawn(io,
                 handler->Upgrade(boost::beast::tcp_stream(std::move(server)), {}, std::move(req),
                                  std::move(parsed)),
                 asio::detached);
  // A server that stays silent gets the client's socket shut down, which
  // ends its blocking reads: the test then fails instead of hanging.
  asio::steady_timer watchdog(io, std::chrono::seconds(10));
  watchdog.async_wait([fd = client.native_handle()](boost::system::error_code ec) {
    if (!ec) ::shutdown(fd, SHUT_RDWR);
  });
  auto work = asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });

  std::string identity = "<no session>";
  try {
    const std::string sid = Converse(client);
    if (auto session = engine.Find(sid)) identity = session->identity();
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
  }
  engine.Shutdown();
  asio::post(io, [&] { watchdog.cancel(); });
  work.reset();
  io.stop();
  runner.join();

  EXPECT_EQ(identity, "alice");
  std::lock_guard lock(mu);
  EXPECT_EQ(cookie_seen, std::optional<std::string>("vs_session=alice"));
}

}  // namespace
}  // namespace vs::realtime
