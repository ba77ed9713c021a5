// Webhooks: an external processor reports a video READY or failed
// (HMAC-signed, with a timestamp against replays, deduplicated per
// delivery), and the health check
// that reports live realtime connections.
#include <cctype>
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

// The sender's delivery id (X-VisionSync-Delivery): optional, as the
// original design's senders send none; when present, 1 to 128 characters
// of [A-Za-z0-9._:-].
constexpr size_t kMaxDeliveryId = 128;
bool IsValidDeliveryId(std::string_view id) {
  if (id.empty() || id.size() > kMaxDeliveryId) return false;
  for (unsigned char c : id)
    if (!std::isalnum(c) && c != '.' && c != '_' && c != ':' && c != '-') return false;
  return true;
}

// The report in the body: "ready" (with duration/width/height) or
// "error"/"failed" (with a reason); nullopt when the status is neither.
std::optional<service::RemoteResult> ParseReport(const json::object& body, std::string id,
                                                 const std::string& status) {
  service::RemoteResult r;
  r.video_id = std::move(id);
  if (status == "ready") {
    r.ready = true;
    if (auto it = body.find("duration"); it != body.end() && it->value().is_number())
      r.info.duration = it->value().to_number<double>();
    if (auto w = IntField(body, "width"); w.ok() && *w) r.info.width = static_cast<int>(**w);
    if (auto h = IntField(body, "height"); h.ok() && *h) r.info.height = static_cast<int>(**h);
    return r;
  }
  if (status == "error" || status == "failed") {
    auto reason = StringField(body, "error", 0, 2000);
    r.error = reason.ok() && *reason ? **reason : "processing failed";
    return r;
  }
  return std::nullopt;
}

// Signed, then applied by ApplyRemoteResult's rules (docs/api.md,
// "Webhook (remote workers)"). Each delivery is recorded under its
// signature, so the very same request replayed inside the signature's
// window does nothing, and under the sender's delivery id when it sends
// one, so a retry re-signed later does nothing either.
http::Response Webhook(const Context& ctx, http::Request& req) {
  if (auto refused = CheckSignature(ctx, req)) return std::move(*refused);
  const std::string delivery(req.headers.Get("X-VisionSync-Delivery"));
  if (req.headers.Has("X-VisionSync-Delivery") && !IsValidDeliveryId(delivery))
    return Fail(400, "invalid_delivery_id", "X-VisionSync-Delivery must be 1 to 128 of A-Z a-z 0-9 . _ : -");
  // What a processor may report (docs/api.md); manifestUrl is the original
  // contract's and accepted, though the outputs' own location is served.
  auto parsed = JsonBody(req, {"videoId", "status", "manifestUrl", "duration", "width", "height", "error"});
  if (auto* r = std::get_if<http::Response>(&parsed)) return std::move(*r);
  const json::object* body = &std::get<json::object>(parsed);
  auto vid = StringField(*body, "videoId", 24, 24);
  auto status = StringField(*body, "status", 1, 20);
  if (!vid.ok() || !status.ok() || !*vid || !*status || !IsValidId(**vid))
    return Fail(400, "invalid_field", "videoId and status are required");
  auto report = ParseReport(*body, **vid, Lower(**status));
  if (!report) return Fail(400, "invalid_field", "status must be ready or error");
  report->delivery_keys.push_back("signature:" + std::string(req.headers.Get("X-VisionSync-Signature")));
  if (!delivery.empty()) report->delivery_keys.push_back("delivery:" + delivery);
  auto outcome = ctx.svc.ApplyRemoteResult(*report);
  if (!outcome.ok()) return FromError(outcome.error());
  if (!outcome->has_value()) return Fail(404, "not_found", "no video with id " + **vid);
  const service::RemoteOutcome& o = **outcome;
  const std::string now_status(ToString(o.video.status));
  json::object data{{"videoId", **vid}, {"status", now_status}, {"applied", o.applied}};
  if (o.duplicate) {
    data["duplicate"] = true;
    return Ok(std::move(data), "delivery already received; nothing changed");
  }
  return Ok(std::move(data), o.applied ? "status updated" : "no change (already " + now_status + ")");
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
