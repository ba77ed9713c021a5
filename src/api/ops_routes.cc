// Operational endpoints: /healthz (the process answers), /readyz (its
// dependencies answer, each named with its state) and /metrics (Prometheus
// text, behind a bearer token or for loopback clients only).
#include "api/api_internal.h"
#include "api/api_util.h"
#include "core/hmac.h"
#include "core/json_text.h"

namespace vs::api {
namespace {

http::Response Healthz(const Context&, http::Request&) {
  return JsonNoStore(R"({"status":"ok"})");
}

http::Response Readyz(const Context& ctx, http::Request&) {
  json::object deps;
  bool ready = true;
  for (const ReadinessCheck& c : ctx.checks) {
    const Status s = c.check();
    json::object d{{"status", s.ok() ? "ok" : "down"}};
    if (!s.ok()) {
      d["error"] = s.error().message;
      ready = false;
    }
    deps[c.name] = std::move(d);
  }
  auto r = JsonNoStore(json_text::Serialize(
      json::object{{"status", ready ? "ready" : "not_ready"}, {"dependencies", std::move(deps)}}));
  r.status = ready ? 200 : 503;
  return r;
}

bool IsLoopback(const std::string& addr) {
  return addr.rfind("127.", 0) == 0 || addr == "::1" || addr.rfind("::ffff:127.", 0) == 0;
}

http::Response Metrics(const Context& ctx, http::Request& req) {
  if (!ctx.metrics) return Fail(404, "not_found", "metrics are not enabled in this process");
  if (!ctx.cfg.metrics_token.empty()) {
    const std::string_view auth = req.headers.Get("Authorization");
    if (!ConstantTimeEquals(auth, "Bearer " + ctx.cfg.metrics_token)) {
      auto r = Fail(401, "unauthorized", "send the METRICS_TOKEN as 'Authorization: Bearer <token>'");
      r.headers.Set("WWW-Authenticate", "Bearer");
      return r;
    }
  } else if (!IsLoopback(req.remote_addr)) {
    // The peer's own address: a forwarded header must not open this.
    return Fail(403, "forbidden", "metrics are served to loopback clients only; set METRICS_TOKEN to scrape from elsewhere");
  }
  http::Response r = http::Response::Text(200, ctx.metrics->Render(), metrics::kContentType);
  r.headers.Set("Cache-Control", "no-store");
  return r;
}

}  // namespace

void RegisterOpsRoutes(http::Router& router, const ContextPtr& ctx) {
  router.Add("GET", "/healthz", Bind(ctx, &Healthz));
  router.Add("GET", "/readyz", Bind(ctx, &Readyz));
  router.Add("GET", "/metrics", Bind(ctx, &Metrics));
}

}  // namespace vs::api
