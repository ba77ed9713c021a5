// The Api object and the helpers its route files share. The routes
// themselves live in one file per resource (see api_internal.h).
#include "api/api.h"

#include <algorithm>
#include <cctype>

#include "api/api_internal.h"
#include "api/api_util.h"
#include "core/ids.h"

namespace vs::api {

http::Handler Bind(ContextPtr ctx, http::Response (*fn)(const Context&, http::Request&)) {
  return [ctx = std::move(ctx), fn](http::Request& r) { return fn(*ctx, r); };
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Extension(const std::string& name) {
  auto dot = name.rfind('.');
  return dot == std::string::npos ? "" : Lower(name.substr(dot + 1));
}

std::string RequestBase(const http::Request& req, const ApiConfig& cfg) {
  if (!cfg.public_url.empty()) {
    std::string b = cfg.public_url;
    while (!b.empty() && b.back() == '/') b.pop_back();
    return b;
  }
  std::string host(req.headers.Get("Host"));
  if (host.empty() || host.find_first_of(" /\\\"'<>") != std::string::npos) host = "localhost";
  std::string proto = "http";
  if (cfg.trust_proxy) {
    std::string_view p = req.headers.Get("X-Forwarded-Proto");
    if (p == "https") proto = "https";
  }
  return proto + "://" + host;
}

std::variant<Video, http::Response> LoadVideo(const Context& ctx, const http::Request& req) {
  const std::string id = req.Param("id");
  if (!IsValidId(id)) return Fail(400, "invalid_id", "video ids are 24 hexadecimal characters");
  auto v = ctx.svc.Get(id);
  if (!v.ok()) return FromError(v.error());
  if (!v->has_value()) return Fail(404, "not_found", "no video with id " + id);
  return std::move(**v);
}

Api::Api(ApiConfig config, service::VideoService& videos, ratelimit::RateLimiter& limiter,
         const Clock& clock)
    : config_(std::move(config)), svc_(videos), limiter_(limiter), clock_(clock) {}

std::string Api::SignUpload(const std::string& id, const std::string& content_type, int64_t size,
                            int64_t expires) const {
  return api::SignUpload(config_.upload_secret, id, content_type, size, expires);
}

void Api::SetOperations(metrics::Registry* registry, std::vector<ReadinessCheck> checks) {
  metrics_ = registry;
  checks_ = std::move(checks);
  if (!registry) return;
  http_requests_ = &registry->Counter("visionsync_http_requests_total",
                                      "HTTP requests answered, by method, route template and status.");
  http_seconds_ = &registry->Histogram("visionsync_http_request_duration_seconds",
                                       "Time to answer an HTTP request (to the end of its body for uploads), by method and route template.");
  rate_limited_ = &registry->Counter("visionsync_rate_limited_total", "Requests refused with 429, by rate-limit tier.");
  upload_bytes_ = &registry->Counter("visionsync_upload_bytes_total",
                                     "Bytes of uploads this process received and stored (completed PUTs).");
}

ContextPtr Api::MakeContext() {
  // The connection counter may be plugged in after the routes: ask per request.
  return std::make_shared<const Context>(
      Context{svc_, config_, clock_, [this] { return connections_ ? connections_() : 0; }, metrics_, checks_, auth_});
}

void Api::RegisterOperations(http::Router& router) { RegisterOpsRoutes(router, MakeContext()); }

void Api::Register(http::Router& router) {
  auto ctx = MakeContext();
  RegisterOpsRoutes(router, ctx);
  RegisterOpenApiRoutes(router, ctx);
  RegisterAuthRoutes(router, ctx);
  RegisterUploadRoutes(router, ctx);
  RegisterVideoRoutes(router, ctx);
  RegisterMediaRoutes(router, ctx);
  RegisterWebhookRoutes(router, ctx);
  RegisterStaticFiles(router, ctx);
}

}  // namespace vs::api
