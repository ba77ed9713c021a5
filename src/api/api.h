// The HTTP API of the original system (upload, videos, webhook,
// notifications), the media paths, and the middleware that runs around every
// request (rate limits, CORS, request ids, access logs). The routes live in
// one file per resource: upload_routes.cc, video_routes.cc, media_routes.cc,
// webhook_routes.cc, static_files.cc; the middleware in middleware.cc.
//
// Register() must be called before the server starts; handlers are then
// called concurrently from the server's threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/metrics.h"
#include "http/http.h"
#include "ratelimit/rate_limiter.h"
#include "service/auth_service.h"
#include "service/video_service.h"

namespace vs::api {

struct ApiConfig {
  std::string public_url;    // how clients reach us; empty = from the request's Host
  std::string frontend_url;  // CORS origin for the API ("*" when empty)
  std::string upload_secret;   // signs presigned upload URLs
  std::string webhook_secret;  // verifies X-VisionSync-Signature
  int64_t max_upload_bytes = 5LL << 30;  // 5 GiB
  int64_t presign_ttl_s = 3600;
  int64_t webhook_tolerance_s = 300;
  bool trust_proxy = false;  // take the client address from X-Forwarded-For
  std::string web_dist;      // built web UI to serve at / (empty = none)
  // Bearer token /metrics asks for; empty = only loopback clients may scrape.
  std::string metrics_token;
  // Other places the web UI loads media from or uploads to (CDN_BASE_URL,
  // the S3 endpoint browsers reach), as URLs: its Content-Security-Policy
  // allows their origins.
  std::vector<std::string> content_urls;
  // ANONYMOUS_UPLOADS: anyone may upload, and change videos that have no
  // owner (the original's open flow). Off: changes need an account.
  bool anonymous_uploads = false;
  int64_t session_ttl_s = 30LL * 24 * 3600;  // the session cookie's Max-Age
  int64_t playback_ttl_s = 4 * 3600;         // life of a private video's playback URLs
};

// One dependency /readyz reports on: `check` answers whether it works now.
// Called on the request's thread; must be quick (each has a short timeout).
struct ReadinessCheck {
  std::string name;  // "database", "storage", "redis"
  std::function<Status()> check;
};

// Live-connection count for /api/webhook/health (the realtime module's).
using ConnectionCounter = std::function<int()>;
// One JSON line per request; the app plugs its logger in.
using AccessLog = std::function<void(const std::string& json_line)>;

struct Context;  // what the route handlers share (api_internal.h)

class Api {
 public:
  Api(ApiConfig config, service::VideoService& videos, ratelimit::RateLimiter& limiter,
      const Clock& clock);

  void Register(http::Router& router);
  // Only /healthz, /readyz and /metrics (a worker's own small server).
  void RegisterOperations(http::Router& router);
  http::Middleware MakeMiddleware();
  void SetConnectionCounter(ConnectionCounter fn) { connections_ = std::move(fn); }
  // Accounts (/api/auth/*, owners, private videos). Before Register(); without
  // it every caller is anonymous and there are no /api/auth routes.
  void SetAuth(service::AuthService* auth) { auth_ = auth; }
  // /metrics from `registry` (null = no /metrics) and /readyz from `checks`;
  // also records the HTTP, rate-limit and upload metrics. Before Register().
  void SetOperations(metrics::Registry* registry, std::vector<ReadinessCheck> checks);
  // `enabled` is asked per request, so no log line is built when the
  // logger would drop it anyway.
  void SetAccessLog(AccessLog fn, std::function<bool()> enabled = {}) {
    access_log_ = std::move(fn);
    log_enabled_ = std::move(enabled);
  }

  // Exposed for tests: the signature over an upload grant.
  std::string SignUpload(const std::string& id, const std::string& content_type, int64_t size,
                         int64_t expires) const;

 private:
  ApiConfig config_;
  service::VideoService& svc_;
  ratelimit::RateLimiter& limiter_;
  const Clock& clock_;
  void Record(const http::Request& req, const http::Response& resp, double ms) const;
  std::shared_ptr<const Context> MakeContext();

  ConnectionCounter connections_;
  AccessLog access_log_;
  std::function<bool()> log_enabled_;
  metrics::Registry* metrics_ = nullptr;
  std::vector<ReadinessCheck> checks_;
  service::AuthService* auth_ = nullptr;
  // Families recorded by the middleware (null without a registry).
  metrics::Family* http_requests_ = nullptr;
  metrics::Family* http_seconds_ = nullptr;
  metrics::Family* rate_limited_ = nullptr;
  metrics::Family* upload_bytes_ = nullptr;
};

// The session token a request carries: the bearer token, else the
// `vs_session` cookie; "" when neither.
std::string SessionToken(const http::Headers& headers);

// The rate-limit tier of a request path.
std::string TierFor(const std::string& method, const std::string& path);
// Content-Type for a file name (".mpd" -> "application/dash+xml", ...).
std::string MimeTypeFor(const std::string& file_name);
// Whether the first bytes look like a video container: MP4/MOV (ftyp at
// offset 4), AVI (RIFF), Matroska/WebM (EBML 1A 45 DF A3), Ogg (OggS).
bool LooksLikeVideo(const unsigned char* data, size_t size);

}  // namespace vs::api
