// What runs around every request: CORS preflights and headers, the rate
// limit (with its X-RateLimit-* counters), and the access log.
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "api/api.h"
#include "api/api_util.h"
#include "core/json_text.h"
#include "core/time_format.h"
#include "http/client_address.h"
#include "http/cors.h"

namespace vs::api {
namespace {

// Counts the request against its tier; the 429 answer when over the limit.
std::optional<http::Response> RateLimit(ratelimit::RateLimiter& limiter, const ApiConfig& cfg,
                                        http::Request& req) {
  const std::string tier = TierFor(req.method, req.path);
  ratelimit::Decision d = limiter.Check(tier, http::ClientAddress(req, cfg.trust_proxy));
  req.response_headers.Set("X-RateLimit-Limit", std::to_string(d.limit));
  req.response_headers.Set("X-RateLimit-Remaining", std::to_string(d.remaining));
  req.response_headers.Set("X-RateLimit-Reset", std::to_string((d.reset_ms + 999) / 1000));
  if (d.allowed) return std::nullopt;
  const int64_t secs = std::max<int64_t>(1, (d.retry_after_ms + 999) / 1000);
  auto r = Fail(429, "rate_limited", "too many " + tier + " requests; retry in " + std::to_string(secs) + " s");
  r.headers.Set("Retry-After", std::to_string(secs));
  return r;
}

// The API's CORS headers, unless the handler chose its own (media, polling).
void AddCorsHeaders(const ApiConfig& cfg, http::Response& resp) {
  if (!resp.headers.Has("Access-Control-Allow-Origin")) {
    const http::Headers cors = http::CorsHeaders(cfg.frontend_url);
    for (const auto& [k, v] : cors.items()) resp.headers.Set(k, v);
  }
  resp.headers.Set("Access-Control-Expose-Headers",
                   std::string(resp.headers.Get("Access-Control-Expose-Headers").empty()
                                   ? "X-Request-Id, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, ETag"
                                   : resp.headers.Get("Access-Control-Expose-Headers")));
}

std::string AccessLine(const Clock& clock, const http::Request& req, const http::Response& resp, double ms) {
  std::string line;
  {
    json_text::Object o(line);
    o.String("time", IsoTime(clock.NowMs()))
        .String("level", resp.status >= 500 ? "error" : "info")
        .String("msg", "request")
        .String("method", req.method)
        .String("path", req.path)
        .Int("status", resp.status)
        .Number("durationMs", std::round(ms * 100) / 100)
        .String("requestId", req.request_id)
        .String("client", req.remote_addr);
    if (!resp.log_note.empty()) o.String("error", resp.log_note);  // the cause behind a 5xx
  }
  return line;
}

}  // namespace

std::string TierFor(const std::string& method, const std::string& path) {
  auto starts = [&](const char* p) { return path.rfind(p, 0) == 0; };
  // One upload counts once against "upload": its presign. The PUT of its
  // bytes and its confirmation only work for a video a counted presign made,
  // so they have a tier of their own ("transfer") sized for retries.
  if (starts("/api/upload/confirm/") || (method == "PUT" && starts("/upload/"))) return "transfer";
  if (starts("/api/upload/")) return "upload";
  if (starts("/api/webhook/")) return "webhook";
  if (starts("/api/videos/search")) return "search";
  if (starts("/media/") || path.find("/segments/") != std::string::npos ||
      (starts("/api/videos/") && (path.ends_with("/manifest.mpd") || path.ends_with("/master.m3u8"))))
    return "streaming";
  if (starts("/api/videos/") && path.ends_with("/status")) return "status";
  // Guessing passwords, and making accounts, is what the small "auth"
  // budget is for; the page's own session checks are ordinary requests.
  if (method == "POST" && (path == "/api/auth/login" || path == "/api/auth/register")) return "auth";
  // Socket.IO long-polling makes a request every ping interval per client:
  // the streaming tier's per-minute budget fits it, "general" would not.
  if (starts("/socket.io")) return "streaming";
  if (starts("/api/")) return "general";
  return "streaming";  // the web UI's static files
}

// Route templates, not paths, keep the label sets few; requests no route
// took are one series.
void Api::Record(const http::Request& req, const http::Response& resp, double ms) const {
  const std::string route = req.route.empty() ? "unmatched" : req.route;
  const std::string status = std::to_string(resp.status);
  http_requests_->Inc({{"method", req.method}, {"route", route}, {"status", status}});
  http_seconds_->Observe({{"method", req.method}, {"route", route}}, ms / 1000);
  if (resp.status == 429) rate_limited_->Inc({{"tier", TierFor(req.method, req.path)}});
  if (req.method == "PUT" && req.route == "/upload/:id" && resp.status == 200) {
    const std::string_view cl = req.headers.Get("Content-Length");
    upload_bytes_->Inc({}, std::strtod(std::string(cl).c_str(), nullptr));
  }
}

http::Middleware Api::MakeMiddleware() {
  http::Middleware mw;
  mw.before = [this](http::Request& req, const http::Router::Match&) -> std::optional<http::Response> {
    if (req.method == "OPTIONS") return http::PreflightResponse(req);
    return RateLimit(limiter_, config_, req);
  };
  mw.after = [this](const http::Request& req, http::Response& resp, double ms) {
    AddCorsHeaders(config_, resp);
    if (http_requests_) Record(req, resp, ms);
    if (access_log_ && (!log_enabled_ || log_enabled_())) access_log_(AccessLine(clock_, req, resp, ms));
  };
  return mw;
}

}  // namespace vs::api
