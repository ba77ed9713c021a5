// The built web UI (WEB_DIST) at /: its files, and index.html for every
// other path so client-side routes load the app.
#include <sys/stat.h>

#include "api/api_internal.h"
#include "api/api_util.h"

namespace vs::api {
namespace {

http::Response Static(const Context& ctx, http::Request& req) {
  const ApiConfig& cfg = ctx.cfg;
  std::string rel = req.Param("path");
  if (rel.rfind("api/", 0) == 0 || rel == "api" || rel.rfind("media/", 0) == 0)
    return Fail(404, "not_found", "no such route");
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
  // Vite puts content hashes in asset names: those never change.
  r.headers.Set("Cache-Control", rel.rfind("assets/", 0) == 0 ? kImmutable : "no-cache");
  r.file_path = path;
  r.file_length = static_cast<uint64_t>(st.st_size);
  return r;
}

}  // namespace

void RegisterStaticFiles(http::Router& router, const ContextPtr& ctx) {
  router.Add("GET", "/", Bind(ctx, &Static));
  router.Add("GET", "/*path", Bind(ctx, &Static));
}

}  // namespace vs::api
