// Media: the processed files of a READY video (manifests, segments,
// thumbnail) under /media/:id/:file and the API's aliases for them. Local
// files go out by sendfile, remote objects are streamed through; both
// answer conditional and range requests.
#include <algorithm>
#include <cctype>

#include "api/api_internal.h"
#include "api/api_util.h"
#include "core/ids.h"
#include "core/time_format.h"
#include "http/conditional.h"
#include "http/cors.h"
#include "service/playback_token.h"

namespace vs::api {
namespace {

bool SafeFileName(const std::string& name) {
  if (name.empty() || name.size() > 128 || name[0] == '.') return false;
  for (char c : name)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
  return true;
}

// An object-store read as an HTTP body.
class StoreBodyStream final : public http::BodyStream {
 public:
  explicit StoreBodyStream(std::unique_ptr<store::ObjectReader> r) : reader_(std::move(r)) {}
  Result<size_t> Read(char* buf, size_t cap) override { return reader_->Read(buf, cap); }

 private:
  std::unique_ptr<store::ObjectReader> reader_;
};

std::string NotReadyMessage(const Video& v) {
  return "the video is " + std::string(ToString(v.status)) + ", not READY yet";
}

http::Response Redirect(const Context& ctx, http::Request& req, const char* file) {
  auto loaded = LoadVisible(ctx, req);
  if (auto* r = std::get_if<http::Response>(&loaded)) return std::move(*r);
  const Video& v = std::get<Video>(loaded);
  if (v.status != VideoStatus::kReady) return Fail(404, "not_ready", NotReadyMessage(v));
  http::Response r;
  r.status = 302;
  r.headers.Set("Location", ctx.svc.MediaUrlFor(v, file, RequestBase(req, ctx.cfg)));
  // A private video's answer names a token for this caller: no shared cache.
  r.headers.Set("Cache-Control", v.visibility == Visibility::kPrivate ? "private, no-store" : "public, max-age=60");
  http::AllowAnyOrigin(r.headers);
  return r;
}

// The headers every answer about an existing media file carries.
// `cache`: the Cache-Control of a segment; manifests are cached no longer
// than a minute, and no longer than `cache` allows.
http::Response MediaHeaders(const std::string& file, const store::ObjectInfo& st, const std::string& cache) {
  const std::string ext = Extension(file);
  const bool manifest = ext == "mpd" || ext == "m3u8";
  http::Response r;
  r.headers.Set("Content-Type", MimeTypeFor(file));
  r.headers.Set("Cache-Control", manifest && cache == kImmutable ? kManifestCache : cache);
  r.headers.Set("ETag", st.etag);
  r.headers.Set("Last-Modified", HttpDate(st.mtime_ms));
  r.headers.Set("Accept-Ranges", "bytes");
  http::AllowAnyOrigin(r.headers);
  r.headers.Set("Access-Control-Expose-Headers", "Content-Range, Content-Length, Accept-Ranges, ETag");
  return r;
}

http::Response Serve(const Context& ctx, http::Request& req, const std::string& id, const std::string& file,
                     const std::string& cache);

http::Response NoSuchFile() {
  auto r = Fail(404, "not_found", "no such media file");
  r.headers.Set("Cache-Control", "no-store");
  return r;
}

// A file of a video, for anyone when the video is public or unlisted; a
// private video's files only go out under a playback token (ServeWithToken).
http::Response ServeOpen(const Context& ctx, http::Request& req, const std::string& id, const std::string& file) {
  if (!IsValidId(id) || !SafeFileName(file)) return NoSuchFile();
  auto v = ctx.svc.Get(id);
  if (!v.ok()) return FromError(v.error());
  if (!v->has_value() || (**v).visibility == Visibility::kPrivate) return NoSuchFile();
  return Serve(ctx, req, id, file, kImmutable);
}

http::Response ServeWithToken(const Context& ctx, http::Request& req) {
  const std::string id = req.Param("id"), file = req.Param("file"), token = req.Param("token");
  if (!IsValidId(id) || !SafeFileName(file)) return NoSuchFile();
  const int64_t now_s = ctx.clock.NowMs() / 1000;
  switch (ctx.svc.CheckPlaybackToken(id, token, now_s)) {
    case service::PlaybackCheck::kValid:
      break;
    case service::PlaybackCheck::kExpired:
      return Fail(403, "expired_playback_token", "this playback link has expired; ask for a new one");
    case service::PlaybackCheck::kInvalid:
      return Fail(403, "invalid_playback_token", "this playback link is not valid");
  }
  // Cached, by a CDN too, no longer than the token lives.
  const int64_t left = std::max<int64_t>(0, service::PlaybackExpiry(token) - now_s);
  return Serve(ctx, req, id, file, "public, max-age=" + std::to_string(std::min<int64_t>(left, 31536000)));
}

// The URLs a player streams a video from: plain for public and unlisted
// videos, under an expiring token for private ones.
http::Response Playback(const Context& ctx, http::Request& req) {
  auto loaded = LoadVisible(ctx, req);
  if (auto* r = std::get_if<http::Response>(&loaded)) return std::move(*r);
  const Video& v = std::get<Video>(loaded);
  if (v.status != VideoStatus::kReady) return Fail(409, "not_ready", NotReadyMessage(v));
  const service::PlaybackUrls urls = ctx.svc.PlaybackFor(v, RequestBase(req, ctx.cfg));
  auto r = Ok(json::object{{"videoId", v.id},
                           {"visibility", std::string(ToString(v.visibility))},
                           {"dashUrl", urls.dash},
                           {"hlsUrl", urls.hls},
                           {"thumbnailUrl", urls.thumbnail},
                           {"expiresAt", urls.expires_ms ? json::value(IsoTime(urls.expires_ms)) : json::value(nullptr)}});
  r.headers.Set("Cache-Control", "private, no-store");
  return r;
}

http::Response Serve(const Context& ctx, http::Request& req, const std::string& id, const std::string& file,
                     const std::string& cache) {
  auto st = ctx.svc.StatMedia(id, file);
  if (!st.ok()) return NoSuchFile();
  auto path = ctx.svc.MediaLocalPath(id, file);
  http::Response r = MediaHeaders(file, *st, cache);
  const http::ConditionalAnswer answer = http::AnswerConditional(req.headers, st->etag, st->size);
  if (answer.status == 304) {
    r.status = 304;
    return r;
  }
  if (answer.status == 416) {
    auto bad = Fail(416, "range_not_satisfiable", "the range starts past the end of the file");
    bad.headers.Set("Content-Range", answer.content_range);
    return bad;
  }
  r.status = answer.status;
  if (answer.status == 206) r.headers.Set("Content-Range", answer.content_range);
  if (path) {  // local disk: sendfile
    r.file_path = *path;
    r.file_offset = answer.offset;
    r.file_length = answer.length;
    return r;
  }
  // Remote storage: streamed through in chunks (bounded memory), so a CDN
  // in front of this server caches the bytes and relative URLs in the
  // manifests keep pointing here.
  auto reader = ctx.svc.OpenMedia(id, file, answer.offset, answer.length);
  if (!reader.ok()) {
    if (reader.error().kind == ErrorKind::kNotFound)
      return Fail(404, "not_found", "no such media file");
    return FromError(reader.error());
  }
  r.stream = std::make_shared<StoreBodyStream>(std::move(*reader));
  r.stream_length = answer.length;
  return r;
}

}  // namespace

std::string MimeTypeFor(const std::string& name) {
  const std::string ext = Extension(name);
  if (ext == "mpd") return "application/dash+xml";
  if (ext == "m3u8") return "application/vnd.apple.mpegurl";
  if (ext == "m4s") return "video/iso.segment";
  if (ext == "mp4") return "video/mp4";
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "vtt") return "text/vtt";
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json") return "application/json";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "woff2") return "font/woff2";
  if (ext == "txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

void RegisterMediaRoutes(http::Router& router, const ContextPtr& ctx) {
  router.Add("GET", "/api/videos/:id/manifest.mpd",
             [ctx](http::Request& r) { return Redirect(*ctx, r, "manifest.mpd"); });
  router.Add("GET", "/api/videos/:id/master.m3u8",
             [ctx](http::Request& r) { return Redirect(*ctx, r, "master.m3u8"); });
  router.Add("GET", "/api/videos/:id/segments/:segment",
             [ctx](http::Request& r) { return ServeOpen(*ctx, r, r.Param("id"), r.Param("segment")); });
  router.Add("GET", "/api/videos/:id/playback", Bind(ctx, &Playback));
  router.Add("GET", "/media/:id/:file",
             [ctx](http::Request& r) { return ServeOpen(*ctx, r, r.Param("id"), r.Param("file")); });
  router.Add("GET", "/media/t/:token/:id/:file", Bind(ctx, &ServeWithToken));
}

}  // namespace vs::api
