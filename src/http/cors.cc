#include "http/cors.h"

#include <string>

namespace vs::http {
namespace {

bool AnyOrigin(std::string_view configured) { return configured.empty() || configured == "*"; }

}  // namespace

Headers CorsHeaders(std::string_view configured_origin) {
  Headers h;
  if (AnyOrigin(configured_origin)) {
    h.Set("Access-Control-Allow-Origin", "*");
  } else {
    h.Set("Access-Control-Allow-Origin", std::string(configured_origin));
    h.Set("Vary", "Origin");
  }
  return h;
}

Headers CredentialedCorsHeaders(const Request& req, std::string_view configured_origin) {
  Headers h;
  const std::string_view origin = req.headers.Get("Origin");
  const bool any = AnyOrigin(configured_origin);
  if (origin.empty()) {
    h.Set("Access-Control-Allow-Origin", any ? "*" : std::string(configured_origin));
  } else if (any || origin == configured_origin) {
    h.Set("Access-Control-Allow-Origin", std::string(origin));
    h.Set("Access-Control-Allow-Credentials", "true");
    h.Set("Vary", "Origin");
  } else {
    h.Set("Access-Control-Allow-Origin", std::string(configured_origin));
    h.Set("Vary", "Origin");
  }
  return h;
}

void AllowAnyOrigin(Headers& h) { h.Set("Access-Control-Allow-Origin", "*"); }

Response PreflightResponse(const Request& req) {
  Response r;
  r.status = 204;
  r.headers.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE, OPTIONS");
  const std::string_view asked = req.headers.Get("Access-Control-Request-Headers");
  r.headers.Set("Access-Control-Allow-Headers",
                asked.empty() ? "Content-Type, Range, X-Request-Id" : std::string(asked));
  r.headers.Set("Access-Control-Max-Age", "86400");
  return r;
}

bool OriginAllowed(const Request& req, std::string_view configured_origin) {
  std::string_view origin = req.headers.Get("Origin");
  if (origin.empty() || AnyOrigin(configured_origin) || origin == configured_origin) return true;
  for (std::string_view scheme : {"http://", "https://"}) {
    if (origin.starts_with(scheme)) {
      origin.remove_prefix(scheme.size());
      return !origin.empty() && origin == req.headers.Get("Host");
    }
  }
  return false;
}

}  // namespace vs::http
