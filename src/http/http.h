// HTTP request/response values, routing and the server interface. No Boost
// types appear here: only server.cc (and the realtime module's WebSocket
// upgrade) include Beast, which keeps compile times of everything above
// this seam short.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/result.h"

namespace vs::http {

// An ordered list of header fields with case-insensitive lookup.
class Headers {
 public:
  std::string_view Get(std::string_view name) const;  // "" when absent
  bool Has(std::string_view name) const;
  void Set(std::string name, std::string value);  // replaces
  void Add(std::string name, std::string value);  // appends
  void Remove(std::string_view name);
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

struct Request {
  std::string method;     // upper case, e.g. "GET"
  int version = 11;       // HTTP version times ten: 10 or 11
  std::string target;     // as received: path + "?" + query
  std::string path;       // percent-decoded, without the query
  std::string raw_query;  // after '?', undecoded
  Headers headers;
  std::string body;  // buffered body (routes without a body sink)
  std::string remote_addr;
  std::string request_id;  // X-Request-Id: echoed or generated
  std::vector<std::pair<std::string, std::string>> params;  // from the route pattern
  std::string route;  // the matched route's pattern ("/api/videos/:id"); "" when none
  // Headers to add to whatever response this request gets (set by
  // middleware before the handler runs, e.g. rate-limit counters).
  Headers response_headers;

  std::string Param(std::string_view name) const;
  // A decoded query parameter ("+" is a space); nullopt when absent.
  std::optional<std::string> Query(std::string_view name) const;
};

// A response body pulled in chunks from elsewhere (an object in remote
// storage): Read may block, so the server calls it on a helper thread, one
// call at a time, and never holds more than one chunk of it.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  // Fills up to `cap` bytes; 0 = the end. An error ends the connection.
  virtual Result<size_t> Read(char* buf, size_t cap) = 0;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  // When file_path is set, the body is [file_offset, file_offset+file_length)
  // of that file, sent with sendfile(2) instead of `body`.
  std::string file_path;
  uint64_t file_offset = 0;
  uint64_t file_length = 0;
  // When stream is set, the body is the next stream_length bytes of it.
  std::shared_ptr<BodyStream> stream;
  uint64_t stream_length = 0;
  bool close_connection = false;
  // Why the request failed, for the server's log only (never sent): the
  // cause behind a 5xx whose body stays generic.
  std::string log_note;

  static Response Json(int status, std::string json);
  static Response Text(int status, std::string text, std::string content_type = "text/plain; charset=utf-8");
};

// Receives a streamed request body (uploads) chunk by chunk; nothing is
// buffered beyond one chunk. Called on one thread at a time.
class BodySink {
 public:
  virtual ~BodySink() = default;
  // A failed Write ends the upload: OnError builds the response and the
  // connection is closed (the rest of the body is never read). A body that
  // stalls or crawls (ServerOptions) is answered 408 by the server itself and
  // the sink destroyed without Finish: it must then keep nothing.
  virtual Status Write(const char* data, size_t size) = 0;
  virtual Response Finish() = 0;  // the whole body arrived
  virtual Response OnError(const Error& e) = 0;
  // The client went away mid-body: no response can be sent.
  virtual void OnDisconnect() {}
};

using Handler = std::function<Response(Request&)>;
// Completes an async request; call exactly once, from any thread.
using Responder = std::function<void(Response)>;
using AsyncHandler = std::function<void(Request&, Responder)>;
// Called once the headers are in: either answer at once (e.g. a refused
// signature; the body is not read) or return a sink for the body.
using StreamHandler = std::function<std::variant<Response, std::unique_ptr<BodySink>>(Request&)>;

// Maps method + path to handlers. Patterns are literal segments, ":name"
// (one segment) and a final "*name" (the rest of the path). Literal segments
// win over parameters, so "/api/videos/search" beats "/api/videos/:id". A
// "*name" route does not take a path that a route without one has for
// other methods: that is a 405 (a catch-all GET never shadows "PUT /upload/:id").
// Build it before the server starts; lookups are then read-only and thread-safe.
class Router {
 public:
  using Target = std::variant<Handler, AsyncHandler, StreamHandler>;
  struct Match {
    const Target* target = nullptr;
    std::vector<std::pair<std::string, std::string>> params;
    bool path_matched = false;  // some route has this path (405 vs 404)
    std::string allowed;        // "GET, PUT" for 405 answers
    std::string pattern;        // the matched route's pattern (for logs)
  };

  void Add(std::string method, std::string pattern, Handler h);
  void AddAsync(std::string method, std::string pattern, AsyncHandler h);
  void AddStream(std::string method, std::string pattern, StreamHandler h);
  Match Find(std::string_view method, std::string_view path) const;
  // Every route as (method, pattern), in the order added (API descriptions
  // are checked against it).
  std::vector<std::pair<std::string, std::string>> Routes() const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Target target;
  };
  void AddRoute(std::string method, std::string pattern, Target t);
  std::vector<Route> routes_;
};

// Runs around every request. `before` may answer on its own (rate limits,
// CORS preflights); `after` decorates every response (headers, logs).
struct Middleware {
  std::function<std::optional<Response>(Request&, const Router::Match&)> before;
  std::function<void(const Request&, Response&, double elapsed_ms)> after;
};

struct ServerOptions {
  std::string host = "0.0.0.0";
  int port = 8080;  // 0 = any free port (see Server::port())
  int threads = 2;
  size_t max_body_bytes = 1 << 20;  // buffered bodies; larger gets 413
  int header_timeout_s = 30;        // to receive a request's headers
  int body_timeout_s = 300;         // of silence while receiving a buffered body
  // Streamed bodies (uploads): one that brings no byte for
  // upload_idle_timeout_ms, or that averages under upload_min_bytes_per_s
  // from its start once upload_rate_grace_ms have passed, is answered 408
  // and its connection closed. Keep the grace at least as long as the idle
  // limit, or a stall at the start that the idle limit allows is cut anyway.
  int64_t upload_idle_timeout_ms = 60'000;
  int64_t upload_min_bytes_per_s = 1024;  // 0 = no minimum
  int64_t upload_rate_grace_ms = 60'000;
  int idle_timeout_s = 75;          // keep-alive between requests
  int async_timeout_s = 120;        // longest wait for an async handler
  int shutdown_grace_s = 10;        // in-flight requests may finish
};

// Hook for protocol upgrades (WebSocket): consulted for requests carrying
// "Upgrade: websocket"; the realtime module implements it with Beast.
class UpgradeHandler;

// An HTTP/1.1 server on a thread pool; sessions are C++20 coroutines.
// Thread-safe: Stop() may be called from any thread (e.g. a signal watcher).
class Server {
 public:
  Server(ServerOptions options, const Router& router, Middleware middleware = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  Status Listen();  // binds and listens; afterwards port() is known
  int port() const;
  // Serves until Stop(); returns after in-flight requests have finished (or
  // the grace period ran out).
  void Run();
  void Stop();
  void SetUpgradeHandler(UpgradeHandler* handler);  // before Run()
  int active_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Percent-decoding; nullopt on malformed escapes or a decoded NUL.
std::optional<std::string> PercentDecode(std::string_view s, bool plus_is_space);
std::string_view StatusReason(int status);

// Appends "name: value\r\n" to a response head written by hand. Names are
// program constants; a CR or LF in a value (which could only come from a
// bug) becomes a space instead of splitting the response.
void AppendField(std::string& out, std::string_view name, std::string_view value);

// Appends the fields every response carries, whoever writes its head (the
// server, the event stream): X-Content-Type-Options: nosniff, so no browser
// reads an upload, a JSON error or a segment as HTML or script.
void AppendSafetyFields(std::string& out);

// The error envelope every refusal uses: {"error":{"code":...,"message":...}}.
std::string ErrorJson(std::string_view code, std::string_view message);

}  // namespace vs::http
