// The built web UI (WEB_DIST) at /: its files, and index.html for every
// other path so client-side routes load the app.
#include <sys/stat.h>

#include "api/api_internal.h"
#include "api/api_util.h"

namespace vs::api {
namespace {

// Paths the server answers itself: a miss there is a JSON 404, never the
// web page (a client or script asking an API path must not get HTML).
bool IsServerPath(std::string_view rel) {
  const std::string_view first = rel.substr(0, rel.find('/'));
  for (std::string_view p : {"api", "upload", "media", "socket.io", "healthz", "readyz", "metrics"})
    if (first == p) return true;
  return false;
}

// "scheme://host[:port]" of a URL; "" when it has no scheme.
std::string OriginOf(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  return url.substr(0, url.find_first_of("/?#", scheme + 3));
}

http::Response Static(const Context& ctx, http::Request& req) {
  const ApiConfig& cfg = ctx.cfg;
  std::string rel = req.Param("path");
  if (IsServerPath(rel)) return Fail(404, "not_found", "no such route");
  if (cfg.web_dist.empty()) {
    return http::Response::Text(200, "VisionSync API is running. The web UI is not built.\n");
  }
  // Only plain relative names inside web_dist; anything else is a client route.
  bool safe = !rel.empty() && rel.find("..") == std::string::npos && rel.find('\\') == std::string::npos;
  std::string path = cfg.web_dist + "/" + rel;
  struct stat st {};
  if (!safe || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    path = cfg.web_dist + "/index.html";
    rel = "index.html";
    if (::stat(path.c_str(), &st) != 0) return Fail(404, "not_found", "the web UI is not built");
  }
  http::Response r;
  r.headers.Set("Content-Type", MimeTypeFor(rel));
  if (rel.ends_with(".html")) {
    r.headers.Set("Content-Security-Policy", ContentSecurityPolicy(cfg, RequestBase(req, cfg)));
    r.headers.Set("Referrer-Policy", "strict-origin-when-cross-origin");
  }
  // Vite puts content hashes in asset names: those never change.
  r.headers.Set("Cache-Control", rel.rfind("assets/", 0) == 0 ? kImmutable : "no-cache");
  r.file_path = path;
  r.file_length = static_cast<uint64_t>(st.st_size);
  return r;
}

}  // namespace

std::string ContentSecurityPolicy(const ApiConfig& cfg, const std::string& request_base) {
  // S3 hands out virtual-hosted URLs (<bucket>.<endpoint host>) unless it
  // uses path style: both forms of each origin are allowed.
  std::string others;
  for (const std::string& url : cfg.content_urls) {
    const std::string origin = OriginOf(url);
    if (origin.empty()) continue;
    const size_t host = origin.find("://") + 3;
    others += " " + origin + " " + origin.substr(0, host) + "*." + origin.substr(host);
  }
  // Socket.IO's WebSocket to this server ('self' covers it only in CSP3).
  const std::string self = OriginOf(request_base);
  const std::string ws =
      self.empty() ? "" : (self.starts_with("https:") ? " wss" : " ws") + self.substr(self.find(':'));
  return "default-src 'self'; script-src 'self'; worker-src 'self' blob:; "
         // dash.js adds a <style> for text tracks; React sets style attributes.
         "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:" + others +
         "; media-src 'self' blob:" + others + "; connect-src 'self'" + ws + others +
         "; font-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
         "frame-ancestors 'none'";
}

void RegisterStaticFiles(http::Router& router, const ContextPtr& ctx) {
  router.Add("GET", "/", Bind(ctx, &Static));
  router.Add("GET", "/*path", Bind(ctx, &Static));
}

}  // namespace vs::api
