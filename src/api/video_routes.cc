// Videos: listings (all, search, by status), statistics, one video and its
// status, metadata updates, deletion, and the status-change history
// (/api/notifications).
#include "api/api_internal.h"
#include "api/api_util.h"
#include "core/ids.h"
#include "core/json_text.h"
#include "core/time_format.h"
#include "db/repository.h"

namespace vs::api {
namespace {

// A page of the videos the caller may list: public ones and its own (all
// for admins); only its own with ?mine=1.
http::Response ListPage(const Context& ctx, const http::Request& req, db::ListQuery q) {
  auto caller = Identify(ctx, req);
  if (auto* r = std::get_if<http::Response>(&caller)) return std::move(*r);
  const Caller& c = std::get<Caller>(caller);
  q.audience = service::AudienceFor(c.viewer);
  if (const auto mine = req.Query("mine"); mine && (*mine == "1" || *mine == "true")) {
    if (auto refused = RequireAccount(ctx, c, /*upload=*/false)) return std::move(*refused);
    q.owner_id = c.viewer.user_id;
  }
  auto pp = PageParams(req);
  if (!pp.ok()) return FromError(pp.error());
  q.limit = pp->first;
  q.cursor = pp->second;
  auto page = ctx.svc.List(q);
  if (!page.ok()) return FromError(page.error());
  const std::string base = RequestBase(req, ctx.cfg);
  std::string body;
  {
    json_text::Object o(body);
    std::string& items = o.Key("data");
    items += '[';
    for (size_t i = 0; i < page->items.size(); ++i) {
      if (i > 0) items += ',';
      ctx.svc.AppendJson(items, page->items[i], base);
    }
    items += ']';
    o.Raw("pagination", json_text::Serialize(PaginationJson(q.limit, page->next_cursor)));
  }
  return JsonNoStore(std::move(body));
}

http::Response List(const Context& ctx, http::Request& req) { return ListPage(ctx, req, {}); }

http::Response Search(const Context& ctx, http::Request& req) {
  auto q = req.Query("q");
  if (!q || q->empty()) return Fail(400, "missing_query", "give a search text as ?q=");
  if (Utf8Length(*q) > 200) return Fail(400, "invalid_query", "the search text is too long");
  db::ListQuery lq;
  lq.search = *q;
  return ListPage(ctx, req, lq);
}

http::Response ByStatus(const Context& ctx, http::Request& req) {
  auto s = ParseVideoStatus(req.Param("status"));
  if (!s) {
    return Fail(400, "invalid_status",
                "status must be one of UPLOADING, UPLOADED, PROCESSING, READY, ERROR");
  }
  db::ListQuery lq;
  lq.status = s;
  return ListPage(ctx, req, lq);
}

http::Response Stats(const Context& ctx, http::Request& req) {
  auto caller = Identify(ctx, req);
  if (auto* r = std::get_if<http::Response>(&caller)) return std::move(*r);
  auto counts = ctx.svc.CountByStatus(service::AudienceFor(std::get<Caller>(caller).viewer));
  if (!counts.ok()) return FromError(counts.error());
  json::object by;
  int64_t total = 0;
  for (const auto& [s, n] : *counts) {
    by[std::string(ToString(s))] = n;
    total += n;
  }
  return Ok(json::object{{"total", total}, {"byStatus", std::move(by)}});
}

http::Response Get(const Context& ctx, http::Request& req) {
  auto loaded = LoadVisible(ctx, req);
  if (auto* r = std::get_if<http::Response>(&loaded)) return std::move(*r);
  return OkText(ctx.svc.JsonText(std::get<Video>(loaded), RequestBase(req, ctx.cfg)));
}

http::Response Status(const Context& ctx, http::Request& req) {
  auto loaded = LoadVisible(ctx, req);
  if (auto* r = std::get_if<http::Response>(&loaded)) return std::move(*r);
  const Video& v = std::get<Video>(loaded);
  std::string data;
  {
    json_text::Object o(data);
    o.String("videoId", v.id)
        .String("status", ToString(v.status))
        .Number("progress", v.progress)
        .StringOrNull("errorMessage", v.error_message)
        .String("updatedAt", IsoTime(v.updated_at_ms));
  }
  return OkText(data);
}

// Who asks (401 first), then what is asked (400), then whether the video
// is theirs (404): a bad body says nothing of the video.
http::Response Update(const Context& ctx, http::Request& req) {
  const std::string id = req.Param("id");
  if (!IsValidId(id)) return Fail(400, "invalid_id", "video ids are 24 hexadecimal characters");
  auto caller = Identify(ctx, req);
  if (auto* r = std::get_if<http::Response>(&caller)) return std::move(*r);
  const Caller& c = std::get<Caller>(caller);
  if (auto refused = RequireAccount(ctx, c, /*upload=*/true)) return std::move(*refused);
  auto body = JsonBody(req, {"title", "description", "visibility"});
  if (auto* r = std::get_if<http::Response>(&body)) return std::move(*r);
  const json::object& fields = std::get<json::object>(body);
  auto title = StringField(fields, "title", 1, 200);
  if (!title.ok()) return FromError(title.error());
  auto description = StringField(fields, "description", 0, 5000);
  if (!description.ok()) return FromError(description.error());
  auto visibility = VisibilityField(fields);
  if (!visibility.ok()) return FromError(visibility.error());
  if (!*title && !*description && !*visibility)
    return Fail(400, "invalid_field", "give a title, a description and/or a visibility to change");
  if ((*title && HasControlChars(**title, false)) ||
      (*description && HasControlChars(**description, true)))
    return Fail(400, "invalid_field", "control characters are not allowed");
  auto loaded = LoadChangeable(ctx, req, c);
  if (auto* r = std::get_if<http::Response>(&loaded)) return std::move(*r);
  auto v = ctx.svc.UpdateMetadata(id, *title, *description, *visibility);
  if (!v.ok()) return FromError(v.error());
  if (!v->has_value()) return NotFoundVideo(id);
  return OkText(ctx.svc.JsonText(**v, RequestBase(req, ctx.cfg)), "video updated");
}

http::Response Delete(const Context& ctx, http::Request& req) {
  auto loaded = LoadChangeable(ctx, req);
  if (auto* refused = std::get_if<http::Response>(&loaded)) return std::move(*refused);
  const std::string id = std::get<Video>(loaded).id;
  auto r = ctx.svc.Delete(id);
  if (!r.ok()) return FromError(r.error());
  if (!*r) return NotFoundVideo(id);
  return Ok(json::object{{"id", id}}, "video deleted");
}

http::Response Retry(const Context& ctx, http::Request& req) {
  auto loaded = LoadChangeable(ctx, req);
  if (auto* r = std::get_if<http::Response>(&loaded)) return std::move(*r);
  const std::string id = std::get<Video>(loaded).id;
  auto v = ctx.svc.Retry(id);
  if (!v.ok()) return FromError(v.error());
  if (!v->has_value()) return NotFoundVideo(id);
  return OkText(ctx.svc.JsonText(**v, RequestBase(req, ctx.cfg)), "queued for another attempt");
}

http::Response Notifications(const Context& ctx, http::Request& req) {
  auto pp = PageParams(req);
  if (!pp.ok()) return FromError(pp.error());
  const std::string video = req.Query("videoId").value_or("");
  if (!video.empty() && !IsValidId(video)) return Fail(400, "invalid_id", "videoId is not a valid id");
  auto caller = Identify(ctx, req);
  if (auto* r = std::get_if<http::Response>(&caller)) return std::move(*r);
  auto page = ctx.svc.Notifications(pp->first, pp->second, video, service::AudienceFor(std::get<Caller>(caller).viewer));
  if (!page.ok()) return FromError(page.error());
  json::array items;
  for (const auto& n : page->items) {
    items.push_back(json::object{{"id", n.id},
                                 {"videoId", n.video_id},
                                 {"status", std::string(ToString(n.status))},
                                 {"message", n.message},
                                 {"createdAt", IsoTime(n.created_at_ms)}});
  }
  json::object o{{"data", std::move(items)}, {"pagination", PaginationJson(pp->first, page->next_cursor)}};
  return JsonNoStore(json_text::Serialize(o));
}

}  // namespace

void RegisterVideoRoutes(http::Router& router, const ContextPtr& ctx) {
  router.Add("GET", "/api/videos", Bind(ctx, &List));
  router.Add("GET", "/api/videos/search", Bind(ctx, &Search));
  router.Add("GET", "/api/videos/status/:status", Bind(ctx, &ByStatus));
  router.Add("GET", "/api/videos/stats/overview", Bind(ctx, &Stats));
  router.Add("GET", "/api/videos/:id", Bind(ctx, &Get));
  router.Add("GET", "/api/videos/:id/status", Bind(ctx, &Status));
  router.Add("PUT", "/api/videos/:id", Bind(ctx, &Update));
  router.Add("DELETE", "/api/videos/:id", Bind(ctx, &Delete));
  router.Add("POST", "/api/videos/:id/retry", Bind(ctx, &Retry));
  router.Add("GET", "/api/notifications", Bind(ctx, &Notifications));
}

}  // namespace vs::api
