// What the API's route files share: the context their handlers run with,
// request helpers, and one Register function per resource. Internal to the
// api module; handlers are called concurrently from the server's threads
// and only read the context.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "api/api.h"
#include "core/clock.h"
#include "core/result.h"
#include "core/video.h"
#include "http/http.h"
#include "service/video_service.h"

namespace vs::api {

inline constexpr const char* kImmutable = "public, max-age=31536000, immutable";
inline constexpr const char* kManifestCache = "public, max-age=60";

struct Context {
  service::VideoService& svc;
  const ApiConfig& cfg;
  const Clock& clock;
  std::function<int()> connections;  // live realtime connections, asked per request
  metrics::Registry* metrics = nullptr;  // null: no /metrics
  std::vector<ReadinessCheck> checks;    // what /readyz asks
  service::AuthService* auth = nullptr;  // null: everyone is anonymous
};
using ContextPtr = std::shared_ptr<const Context>;

// A route handler as a plain function of the context and the request.
http::Handler Bind(ContextPtr ctx, http::Response (*fn)(const Context&, http::Request&));

std::string Lower(std::string s);
// The lower-case extension of a file name, "" when it has none.
std::string Extension(const std::string& name);

// The scheme and host clients reach us at: PUBLIC_URL, else the request's
// Host (and X-Forwarded-Proto when the proxy is trusted).
std::string RequestBase(const http::Request& req, const ApiConfig& cfg);
// The video named by the :id parameter, or the 400/404/5xx answer.
std::variant<Video, http::Response> LoadVideo(const Context& ctx, const http::Request& req);

// The caller of a request (auth_routes.cc).
struct Caller {
  service::Viewer viewer;                   // anonymous when no live session
  std::optional<service::Identity> identity;  // the user and session, when signed in
};
inline constexpr const char* kSessionCookie = "vs_session";
// Who is calling: `Authorization: Bearer <token>`, else the session cookie.
// A bearer token that names no live session is refused (401
// invalid_token); a stale cookie is only ignored. A cookie-authenticated
// change (POST, PUT, PATCH, DELETE) must come from our own pages: its Origin
// (or Sec-Fetch-Site: same-origin) must be this server, PUBLIC_URL or
// FRONTEND_URL, else 403 csrf_rejected.
std::variant<Caller, http::Response> Identify(const Context& ctx, const http::Request& req);
// 401 unauthenticated unless signed in (or ANONYMOUS_UPLOADS for uploads).
std::optional<http::Response> RequireAccount(const Context& ctx, const Caller& caller, bool upload);
// The :id video when the caller may see it; a missing video and one the
// caller may not see get the same 404.
std::variant<Video, http::Response> LoadVisible(const Context& ctx, const http::Request& req,
                                                const Caller& caller);
// The :id video when the caller may change it: 401 anonymous, the 404 of a
// missing video for someone else's.
std::variant<Video, http::Response> LoadChangeable(const Context& ctx, const http::Request& req,
                                                   const Caller& caller);
// Identify, then LoadVisible/LoadChangeable.
std::variant<Video, http::Response> LoadVisible(const Context& ctx, const http::Request& req);
std::variant<Video, http::Response> LoadChangeable(const Context& ctx, const http::Request& req);
http::Response NotFoundVideo(const std::string& id);

// The signature over an upload grant (Api::SignUpload).
std::string SignUpload(const std::string& secret, const std::string& id, const std::string& content_type,
                       int64_t size, int64_t expires);

// The web UI page's Content-Security-Policy: its own scripts only, media
// and connections to this server (`request_base`, also as ws/wss for
// Socket.IO), cfg.content_urls' origins and blob: (MSE), no framing.
std::string ContentSecurityPolicy(const ApiConfig& cfg, const std::string& request_base);

void RegisterUploadRoutes(http::Router& router, const ContextPtr& ctx);   // upload_routes.cc
void RegisterVideoRoutes(http::Router& router, const ContextPtr& ctx);    // video_routes.cc
void RegisterMediaRoutes(http::Router& router, const ContextPtr& ctx);    // media_routes.cc
void RegisterWebhookRoutes(http::Router& router, const ContextPtr& ctx);  // webhook_routes.cc
void RegisterStaticFiles(http::Router& router, const ContextPtr& ctx);    // static_files.cc
void RegisterOpsRoutes(http::Router& router, const ContextPtr& ctx);      // ops_routes.cc
void RegisterOpenApiRoutes(http::Router& router, const ContextPtr& ctx);  // openapi_routes.cc
void RegisterAuthRoutes(http::Router& router, const ContextPtr& ctx);     // auth_routes.cc

}  // namespace vs::api
