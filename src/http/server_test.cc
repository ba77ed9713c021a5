#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "http/http.h"

namespace vs::http {
namespace {

// A minimal blocking HTTP/1.1 client over one TCP connection.
class Conn {
 public:
  explicit Conn(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    timeval tv{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~Conn() { close(fd_); }
  bool connected() const { return connected_; }
  bool Send(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = write(fd_, s.data() + off, s.size() - off);
      if (n <= 0) return false;
      off += n;
    }
    return true;
  }
  // Reads one response (headers + Content-Length body). Empty on EOF.
  std::string ReadResponse(bool head = false) {
    while (buf_.find("\r\n\r\n") == std::string::npos)
      if (!Fill()) return "";
    size_t hdr_end = buf_.find("\r\n\r\n") + 4;
    std::string headers = buf_.substr(0, hdr_end);
    size_t len = 0;
    auto p = headers.find("Content-Length: ");
    if (p == std::string::npos) p = headers.find("content-length: ");
    if (p != std::string::npos && !head) len = std::stoul(headers.substr(p + 16));
    while (buf_.size() < hdr_end + len)
      if (!Fill()) break;
    std::string r = buf_.substr(0, hdr_end + len);
    buf_.erase(0, hdr_end + len);
    return r;
  }
  bool ClosedByPeer() {
    char c;
    return read(fd_, &c, 1) == 0;
  }

 private:
  bool Fill() {
    char tmp[65536];
    ssize_t n = read(fd_, tmp, sizeof(tmp));
    if (n <= 0) return false;
    buf_.append(tmp, n);
    return true;
  }
  int fd_;
  bool connected_ = false;
  std::string buf_;
};

class CountingSink : public BodySink {
 public:
  CountingSink(size_t limit, std::atomic<size_t>* total, std::atomic<int>* live)
      : limit_(limit), total_(total), live_(live) {
    ++*live_;
  }
  ~CountingSink() override { --*live_; }
  Status Write(const char*, size_t n) override {
    got_ += n;
    if (got_ > limit_) return MakeError("too_large", "body larger than declared");
    return {};
  }
  Response Finish() override {
    *total_ = got_;
    return Response::Text(201, std::to_string(got_));
  }
  Response OnError(const Error& e) override { return Response::Text(413, e.code); }

 private:
  size_t limit_;
  size_t got_ = 0;
  std::atomic<size_t>* total_;
  std::atomic<int>* live_;
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = "/tmp/vs-server-test-" + std::to_string(getpid());
    std::ofstream(file_) << std::string(300000, 'x') << "END";
    router_.Add("GET", "/hello", [](Request& r) {
      return Response::Text(200, "hi " + r.Query("name").value_or("?"));
    });
    router_.Add("POST", "/echo", [](Request& r) { return Response::Text(200, r.body); });
    router_.Add("GET", "/throw", [](Request&) -> Response { throw std::runtime_error("x"); });
    router_.Add("GET", "/file", [this](Request&) {
      Response r;
      r.file_path = file_;
      r.file_offset = 299999;
      r.file_length = 4;
      return r;
    });
    router_.Add("GET", "/bigfile", [this](Request&) {
      Response r;
      r.file_path = file_;
      r.file_length = 300003;
      return r;
    });
    router_.AddAsync("GET", "/later", [](Request&, Responder done) {
      std::thread([done] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        done(Response::Text(200, "later"));
      }).detach();
    });
    router_.AddStream("PUT", "/upload", [this](Request& r) -> std::variant<Response, std::unique_ptr<BodySink>> {
      if (r.Query("deny")) return Response::Text(403, "denied");
      return std::unique_ptr<BodySink>(new CountingSink(1 << 20, &uploaded_, &live_sinks_));
    });
    ServerOptions opt;
    opt.host = "127.0.0.1";
    opt.port = 0;
    opt.max_body_bytes = 1000;
    opt.shutdown_grace_s = 2;
    Configure(opt);
    server_ = std::make_unique<Server>(opt, router_, Middleware{nullptr, [this](const Request&, Response& r, double) {
                                                                 r.headers.Set("X-After", "1");
                                                                 ++requests_;
                                                               }});
    ASSERT_TRUE(server_->Listen().ok());
    thread_ = std::thread([this] { server_->Run(); });
  }
  void TearDown() override {
    server_->Stop();
    thread_.join();
    unlink(file_.c_str());
  }
  int port() { return server_->port(); }
  virtual void Configure(ServerOptions&) {}

  Router router_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::string file_;
  std::atomic<size_t> uploaded_{0};
  std::atomic<int> live_sinks_{0};
  std::atomic<int> requests_{0};
};

TEST_F(ServerTest, KeepAliveQueryAndMiddleware) {
  Conn c(port());
  ASSERT_TRUE(c.connected());
  c.Send("GET /hello?name=a%20b HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc-123\r\n\r\n");
  std::string r1 = c.ReadResponse();
  EXPECT_NE(r1.find("200 OK"), std::string::npos);
  EXPECT_NE(r1.find("hi a b"), std::string::npos);
  EXPECT_NE(r1.find("X-Request-Id: abc-123"), std::string::npos);
  EXPECT_NE(r1.find("X-After: 1"), std::string::npos);
  c.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string r2 = c.ReadResponse();
  EXPECT_NE(r2.find("hi ?"), std::string::npos);
  EXPECT_NE(r2.find("X-Request-Id: "), std::string::npos);  // generated
  EXPECT_EQ(requests_.load(), 2);
}

TEST_F(ServerTest, NotFoundMethodNotAllowedAndErrors) {
  Conn c(port());
  c.Send("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(c.ReadResponse().find("404 Not Found"), std::string::npos);
  c.Send("DELETE /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string r = c.ReadResponse();
  EXPECT_NE(r.find("405"), std::string::npos);
  EXPECT_NE(r.find("Allow: GET"), std::string::npos);
  c.Send("GET /throw HTTP/1.1\r\nHost: x\r\n\r\n");
  r = c.ReadResponse();
  EXPECT_NE(r.find("500"), std::string::npos);
  EXPECT_NE(r.find("\"code\":\"internal\""), std::string::npos);
  c.Send("GET /bad%zz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(c.ReadResponse().find("400"), std::string::npos);
}

TEST_F(ServerTest, MalformedRequestGets400AndClose) {
  Conn c(port());
  c.Send("THIS IS NOT HTTP\r\n\r\n");
  EXPECT_NE(c.ReadResponse().find("400"), std::string::npos);
  EXPECT_TRUE(c.ClosedByPeer());
}

TEST_F(ServerTest, BodyLimitGives413) {
  Conn c(port());
  c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_NE(c.ReadResponse().find("hello"), std::string::npos);
  c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'a'));
  std::string r = c.ReadResponse();
  EXPECT_NE(r.find("413"), std::string::npos);
  EXPECT_TRUE(c.ClosedByPeer());
  Conn c2(port());  // chunked bodies are limited too
  c2.Send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n" +
          std::string(4096, 'b') + "\r\n0\r\n\r\n");
  EXPECT_NE(c2.ReadResponse().find("413"), std::string::npos);
}

TEST_F(ServerTest, FileBodiesWithSendfile) {
  Conn c(port());
  c.Send("GET /file HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string r = c.ReadResponse();
  EXPECT_NE(r.find("Content-Length: 4"), std::string::npos);
  EXPECT_EQ(r.substr(r.size() - 4), "xEND");
  c.Send("GET /bigfile HTTP/1.1\r\nHost: x\r\n\r\n");
  r = c.ReadResponse();
  EXPECT_EQ(r.substr(r.size() - 3), "END");
  EXPECT_GT(r.size(), 300003u);
  c.Send("HEAD /bigfile HTTP/1.1\r\nHost: x\r\n\r\n");
  r = c.ReadResponse(/*head=*/true);
  EXPECT_NE(r.find("Content-Length: 300003"), std::string::npos);
  c.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");  // connection still in sync
  EXPECT_NE(c.ReadResponse().find("hi ?"), std::string::npos);
}

TEST_F(ServerTest, AsyncHandler) {
  Conn c(port());
  c.Send("GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(c.ReadResponse().find("later"), std::string::npos);
}

TEST_F(ServerTest, StreamingUploadAndRefusal) {
  Conn c(port());
  const std::string body(700000, 'u');  // far above max_body_bytes: streamed, not buffered
  c.Send("PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 700000\r\nExpect: 100-continue\r\n\r\n");
  std::string cont = c.ReadResponse(true);
  EXPECT_NE(cont.find("100 Continue"), std::string::npos);
  c.Send(body);
  std::string r = c.ReadResponse();
  EXPECT_NE(r.find("201"), std::string::npos);
  EXPECT_NE(r.find("700000"), std::string::npos);
  EXPECT_EQ(uploaded_.load(), 700000u);
  Conn d(port());
  d.Send("PUT /upload?deny=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789");
  EXPECT_NE(d.ReadResponse().find("403"), std::string::npos);
  Conn e(port());
  e.Send("PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1200000\r\n\r\n");
  e.Send(std::string(1200000, 'z'));  // the sink refuses past 1 MiB
  std::string er = e.ReadResponse();
  EXPECT_NE(er.find("413"), std::string::npos) << er;
}

TEST_F(ServerTest, StopClosesIdleConnections) {
  Conn c(port());
  c.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_FALSE(c.ReadResponse().empty());
  server_->Stop();
  EXPECT_TRUE(c.ClosedByPeer());
}

// Streamed bodies must keep a pace: bytes at least every second, and 20 kB/s
// on average once 300 ms have passed.
class BodyPaceTest : public ServerTest {
 protected:
  void Configure(ServerOptions& o) override {
    o.upload_idle_timeout_ms = 1000;
    o.upload_min_bytes_per_s = 20000;
    o.upload_rate_grace_ms = 300;
  }
  // Sends `pieces` of `piece` bytes with `pause_ms` between them from a
  // thread of its own (the server may answer meanwhile); stops early when
  // the server closed the connection.
  std::thread SendPaced(Conn& c, int pieces, size_t piece, int pause_ms) {
    return std::thread([&c, pieces, piece, pause_ms] {
      for (int i = 0; i < pieces && c.Send(std::string(piece, 'p')); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
    });
  }
};

TEST_F(BodyPaceTest, StalledBodyGets408AndTheSinkIsDropped) {
  Conn c(port());
  // 100 kB at once keeps the average ahead for 5 s: the idle limit is the
  // one that ends it.
  c.Send("PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + std::string(100000, 's'));
  const std::string r = c.ReadResponse();  // the client gives up after 10 s
  EXPECT_NE(r.find("408"), std::string::npos) << r;
  EXPECT_NE(r.find("\"code\":\"body_timeout\""), std::string::npos) << r;
  EXPECT_NE(r.find("Connection: close"), std::string::npos) << r;
  EXPECT_EQ(live_sinks_.load(), 0);  // dropped before the answer went out
  EXPECT_EQ(uploaded_.load(), 0u);   // and never finished
  EXPECT_TRUE(c.ClosedByPeer());
}

TEST_F(BodyPaceTest, TricklingBodyGets408) {
  Conn c(port());
  c.Send("PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n");
  // A byte every 50 ms is never idle for a second, but far under 20 kB/s.
  std::thread trickle = SendPaced(c, 200, 1, 50);
  const std::string r = c.ReadResponse();
  trickle.join();
  EXPECT_NE(r.find("408"), std::string::npos) << r;
  EXPECT_NE(r.find("\"code\":\"body_too_slow\""), std::string::npos) << r;
  EXPECT_EQ(live_sinks_.load(), 0);
  EXPECT_EQ(uploaded_.load(), 0u);
}

TEST_F(BodyPaceTest, SlowButSteadyBodySucceeds) {
  Conn c(port());
  c.Send("PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 120000\r\n\r\n");
  // About 100 kB/s in pieces 100 ms apart, for longer than both the idle
  // limit and the grace.
  std::thread paced = SendPaced(c, 12, 10000, 100);
  paced.join();
  const std::string r = c.ReadResponse();
  EXPECT_NE(r.find("201"), std::string::npos) << r;
  EXPECT_EQ(uploaded_.load(), 120000u);
  c.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");  // the connection stays usable
  EXPECT_NE(c.ReadResponse().find("hi ?"), std::string::npos);
}

}  // namespace
}  // namespace vs::http
