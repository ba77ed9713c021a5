// GET /api/openapi.json: the description of every route (openapi.h).
#include "api/api_internal.h"
#include "api/openapi.h"

namespace vs::api {
namespace {

http::Response Describe(const Context&, http::Request&) {
  auto r = http::Response::Json(200, std::string(OpenApiJson()));
  // It changes only with the binary.
  r.headers.Set("Cache-Control", "public, max-age=300");
  return r;
}

}  // namespace

void RegisterOpenApiRoutes(http::Router& router, const ContextPtr& ctx) {
  router.Add("GET", "/api/openapi.json", Bind(ctx, &Describe));
}

}  // namespace vs::api
