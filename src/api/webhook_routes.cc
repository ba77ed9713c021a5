// Webhooks: an external processor reports a video READY or failed
// (HMAC-signed, with a timestamp against replays), and the health check
// that reports live realtime connections.
#include <cstdlib>

#include "api/api_internal.h"
#include "api/api_util.h"
#include "core/hmac.h"
#include "core/ids.h"
#include "core/json_text.h"

namespace vs::api {
namespace {

// X-VisionSync-Signature: "sha256=" + HMAC(secret, timestamp + "." + body),
// with the timestamp within the tolerance. nullopt when it holds.
std::optional<http::Response> CheckSignature(const Context& ctx, const http::Request& req) {
  const std::string ts_s(req.headers.Get("X-VisionSync-Timestamp"));
  const std::string sig(req.headers.Get("X-VisionSync-Signature"));
  if (ts_s.empty() || sig.empty())
    return Fail(401, "missing_signature", "X-VisionSync-Timestamp and X-VisionSync-Signature are required");
  char* end = nullptr;
  const long long ts = std::strtoll(ts_s.c_str(), &end, 10);
  if (*end != '\0') return Fail(401, "invalid_signature", "the timestamp is not a number");
  const long long now = ctx.clock.NowMs() / 1000;
  if (std::llabs(now - ts) > ctx.cfg.webhook_tolerance_s)
    return Fail(401, "stale_signature", "the signature timestamp is too old or in the future");
  const std::string expected = "sha256=" + HmacSha256Hex(ctx.cfg.webhook_secret, ts_s + "." + req.body);
  if (!ConstantTimeEquals(sig, expected)) return Fail(401, "invalid_signature", "the signature does not match");
  return std::nullopt;
}

// Applies "ready" (with duration/width/height) or "error"/"failed" (with a
// reason); nullopt in the result means the status is not one of those.
std::optional<Result<std::optional<Video>>> ApplyStatus(const Context& ctx, const json::object& body,
                                                        const std::string& id, const std::string& status) {
  if (status == "ready") {
    service::ReadyInfo info;
    if (auto it = body.find("duration"); it != body.end() && it->value().is_number())
      info.duration = it->value().to_number<double>();
    if (auto w = IntField(body, "width"); w.ok() && *w) info.width = static_cast<int>(**w);
    if (auto h = IntField(body, "height"); h.ok() && *h) info.height = static_cast<int>(**h);
    return ctx.svc.MarkReady(id, info);
  }
  if (status == "error" || status == "failed") {
    auto reason = StringField(body, "error", 0, 2000);
    return ctx.svc.MarkError(id, reason.ok() && *reason ? **reason : "processing failed");
  }
  return std::nullopt;
}

http::Response Webhook(const Context& ctx, http::Request& req) {
  if (auto refused = CheckSignature(ctx, req)) return std::move(*refused);
  auto body = ParseObject(req.body);
  if (!body.ok()) return FromError(body.error());
  auto vid = StringField(*body, "videoId", 24, 24);
  auto status = StringField(*body, "status", 1, 20);
  if (!vid.ok() || !status.ok() || !*vid || !*status || !IsValidId(**vid))
    return Fail(400, "invalid_field", "videoId and status are required");
  auto current = ctx.svc.Get(**vid);
  if (!current.ok()) return FromError(current.error());
  if (!current->has_value()) return Fail(404, "not_found", "no video with id " + **vid);
  auto moved = ApplyStatus(ctx, *body, **vid, Lower(**status));
  if (!moved) return Fail(400, "invalid_field", "status must be ready or error");
  if (!moved->ok()) return FromError(moved->error());
  if (!(*moved)->has_value()) {
    // Guarded: READY never goes back; duplicates are harmless.
    auto again = ctx.svc.Get(**vid);
    const std::string now_status = again.ok() && again->has_value() ? std::string(ToString((**again).status)) : "unknown";
    return Ok(json::object{{"videoId", **vid}, {"status", now_status}, {"applied", false}},
              "no change (already " + now_status + ")");
  }
  return Ok(json::object{{"videoId", **vid}, {"status", std::string(ToString((**moved)->status))}, {"applied", true}},
            "status updated");
}

http::Response Health(const Context& ctx, http::Request&) {
  const int n = ctx.connections ? ctx.connections() : 0;
  return JsonNoStore(json_text::Serialize(json::object{{"status", "ok"}, {"connections", n}}));
}

}  // namespace

void RegisterWebhookRoutes(http::Router& router, const ContextPtr& ctx) {
  router.Add("POST", "/api/webhook/processing-complete", Bind(ctx, &Webhook));
  router.Add("GET", "/api/webhook/health", Bind(ctx, &Health));
}

}  // namespace vs::api
