#include "api/api.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sys/stat.h>

#include "api/api_util.h"
#include "core/hmac.h"
#include "core/ids.h"
#include "core/json_text.h"
#include "core/time_format.h"

namespace vs::api {
namespace {

namespace fs = std::filesystem;

constexpr const char* kImmutable = "public, max-age=31536000, immutable";
constexpr const char* kManifestCache = "public, max-age=60";

struct AllowedType {
  const char* mime;
  const char* extensions;  // space separated
};
constexpr AllowedType kAllowedTypes[] = {
    {"video/mp4", "mp4 m4v"},           {"video/quicktime", "mov"},
    {"video/x-msvideo", "avi"},         {"video/avi", "avi"},
    {"video/msvideo", "avi"},           {"video/webm", "webm"},
    {"video/ogg", "ogg ogv"},           {"application/ogg", "ogg ogv"},
    {"video/x-matroska", "mkv"},        {"video/mkv", "mkv"},
};

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Extension(const std::string& name) {
  auto dot = name.rfind('.');
  return dot == std::string::npos ? "" : Lower(name.substr(dot + 1));
}

// The MIME type for an upload: the declared one when allowed, else derived
// from the extension (browsers leave .mkv files untyped). Empty = refused.
std::string ResolveType(const std::string& declared, const std::string& file_name) {
  const std::string d = Lower(declared);
  for (const auto& t : kAllowedTypes)
    if (d == t.mime) return t.mime;
  if (!d.empty() && d != "application/octet-stream") return "";
  const std::string ext = Extension(file_name);
  for (const auto& t : kAllowedTypes) {
    std::string exts = std::string(" ") + t.extensions + " ";
    if (!ext.empty() && exts.find(" " + ext + " ") != std::string::npos) return t.mime;
  }
  return "";
}

bool SafeFileName(const std::string& name) {
  if (name.empty() || name.size() > 128 || name[0] == '.') return false;
  for (char c : name)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
  return true;
}

bool EtagMatches(std::string_view header, const std::string& etag) {
  if (header == "*") return true;
  size_t pos = 0;
  while (pos < header.size()) {
    size_t comma = header.find(',', pos);
    std::string_view item = header.substr(pos, comma == std::string_view::npos ? header.npos : comma - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.substr(0, 2) == "W/") item.remove_prefix(2);
    if (item == etag) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

// Parses a single "bytes=" range against `size`. Returns false when the
// header should be ignored (absent, malformed, several ranges); sets
// *unsatisfiable for a range starting past the end.
bool ParseRange(std::string_view h, uint64_t size, uint64_t* first, uint64_t* last,
                bool* unsatisfiable) {
  *unsatisfiable = false;
  if (h.substr(0, 6) != "bytes=") return false;
  h.remove_prefix(6);
  if (h.find(',') != std::string_view::npos) return false;
  const size_t dash = h.find('-');
  if (dash == std::string_view::npos) return false;
  auto num = [](std::string_view s, uint64_t* out) {
    if (s.empty() || s.size() > 19) return false;
    uint64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    *out = v;
    return true;
  };
  std::string_view a = h.substr(0, dash), b = h.substr(dash + 1);
  uint64_t x = 0, y = 0;
  if (a.empty()) {  // suffix: the last y bytes
    if (!num(b, &y) || y == 0) {
      if (num(b, &y)) *unsatisfiable = true;
      return num(b, &y);
    }
    if (size == 0) {
      *unsatisfiable = true;
      return true;
    }
    *first = y >= size ? 0 : size - y;
    *last = size - 1;
    return true;
  }
  if (!num(a, &x)) return false;
  if (b.empty()) {
    y = size == 0 ? 0 : size - 1;
  } else if (!num(b, &y) || y < x) {
    return false;
  }
  if (x >= size) {
    *unsatisfiable = true;
    return true;
  }
  *first = x;
  *last = std::min(y, size - 1);
  return true;
}

std::string RequestBase(const http::Request& req, const ApiConfig& cfg) {
  if (!cfg.public_url.empty()) {
    std::string b = cfg.public_url;
    while (!b.empty() && b.back() == '/') b.pop_back();
    return b;
  }
  std::string host(req.headers.Get("Host"));
  if (host.empty() || host.find_first_of(" /\\\"'<>") != std::string::npos) host = "localhost";
  std::string proto = "http";
  if (cfg.trust_proxy) {
    std::string_view p = req.headers.Get("X-Forwarded-Proto");
    if (p == "https") proto = "https";
  }
  return proto + "://" + host;
}

http::Response FromError(const Error& e) {
  if (e.code == "invalid_json" || e.code == "invalid_field" || e.code == "invalid_limit" ||
      e.code == "invalid_cursor") {
    return Fail(400, e.code, e.message);
  }
  return FailInternal(e);
}

}  // namespace

bool LooksLikeVideo(const unsigned char* d, size_t n) {
  if (n >= 8 && d[4] == 'f' && d[5] == 't' && d[6] == 'y' && d[7] == 'p') return true;
  if (n >= 4 && d[0] == 'R' && d[1] == 'I' && d[2] == 'F' && d[3] == 'F') return true;
  if (n >= 4 && d[0] == 0x1A && d[1] == 0x45 && d[2] == 0xDF && d[3] == 0xA3) return true;
  if (n >= 4 && d[0] == 'O' && d[1] == 'g' && d[2] == 'g' && d[3] == 'S') return true;
  return false;
}

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

std::string TierFor(const std::string& method, const std::string& path) {
  auto starts = [&](const char* p) { return path.rfind(p, 0) == 0; };
  if (starts("/api/upload/") || (method == "PUT" && starts("/upload/"))) return "upload";
  if (starts("/api/webhook/")) return "webhook";
  if (starts("/api/videos/search")) return "search";
  if (starts("/media/") || path.find("/segments/") != std::string::npos ||
      (starts("/api/videos/") && (path.ends_with("/manifest.mpd") || path.ends_with("/master.m3u8"))))
    return "streaming";
  if (starts("/api/videos/") && path.ends_with("/status")) return "status";
  if (starts("/api/auth/")) return "auth";
  // Socket.IO long-polling makes a request every ping interval per client:
  // the streaming tier's per-minute budget fits it, "general" would not.
  if (starts("/socket.io")) return "streaming";
  if (starts("/api/")) return "general";
  return "streaming";  // the web UI's static files
}

// Streams a PUT body into the object store, checking size and content.
class UploadSink final : public http::BodySink {
 public:
  UploadSink(std::unique_ptr<store::ObjectWriter> w, uint64_t expected, std::string id)
      : writer_(std::move(w)), expected_(expected), id_(std::move(id)) {}

  Status Write(const char* data, size_t n) override {
    if (writer_->written() + n > expected_)
      return MakeError("too_large", "the body is larger than the size that was signed");
    if (head_.size() < 12) {
      head_.append(data, std::min(n, 12 - head_.size()));
      if (head_.size() >= 12 && !Sniff()) return NotVideo();
    }
    return writer_->Write(data, n);
  }
  http::Response Finish() override {
    if (writer_->written() != expected_)
      return Fail(400, "incomplete_upload", "the body is shorter than the size that was signed");
    if (!Sniff()) return OnError(NotVideo());
    Status s = writer_->Commit();
    if (!s.ok()) return FailInternal(s.error());
    auto r = Ok(json::object{{"videoId", id_}, {"size", expected_}}, "upload stored");
    return r;
  }
  http::Response OnError(const Error& e) override {
    if (e.code == "too_large") return Fail(413, "file_too_large", e.message);
    if (e.code == "not_a_video") return Fail(415, "unsupported_media", e.message);
    return FailInternal(e);
  }

 private:
  bool Sniff() const {
    return LooksLikeVideo(reinterpret_cast<const unsigned char*>(head_.data()), head_.size());
  }
  static Error NotVideo() {
    return MakeError("not_a_video",
                     "the file does not start like a video (MP4/MOV, AVI, WebM/MKV or Ogg expected)");
  }
  std::unique_ptr<store::ObjectWriter> writer_;
  uint64_t expected_;
  std::string id_;
  std::string head_;
};

// An object-store read as an HTTP body.
class StoreBodyStream final : public http::BodyStream {
 public:
  explicit StoreBodyStream(std::unique_ptr<store::ObjectReader> r) : reader_(std::move(r)) {}
  Result<size_t> Read(char* buf, size_t cap) override { return reader_->Read(buf, cap); }

 private:
  std::unique_ptr<store::ObjectReader> reader_;
};

Api::Api(ApiConfig config, service::VideoService& videos, ratelimit::RateLimiter& limiter,
         const Clock& clock)
    : config_(std::move(config)), svc_(videos), limiter_(limiter), clock_(clock) {}

std::string Api::SignUpload(const std::string& id, const std::string& content_type, int64_t size,
                            int64_t expires) const {
  return HmacSha256Hex(config_.upload_secret, "PUT\n" + service::RawKey(id) + "\n" + content_type +
                                                  "\n" + std::to_string(size) + "\n" +
                                                  std::to_string(expires));
}

struct Api::Handlers {
  Api& api;
  service::VideoService& svc;
  const ApiConfig& cfg;

  // Loads a video named by the :id parameter, or answers 400/404/5xx.
  std::variant<Video, http::Response> Load(const http::Request& req) {
    const std::string id = req.Param("id");
    if (!IsValidId(id)) return Fail(400, "invalid_id", "video ids are 24 hexadecimal characters");
    auto v = svc.videos().Get(id);
    if (!v.ok()) return FailInternal(v.error());
    if (!v->has_value()) return Fail(404, "not_found", "no video with id " + id);
    return std::move(**v);
  }

  http::Response Presign(http::Request& req) {
    auto body = ParseObject(req.body);
    if (!body.ok()) return FromError(body.error());
    auto name = StringField(*body, "fileName", 1, 255);
    if (!name.ok()) return FromError(name.error());
    if (!*name) return Fail(400, "invalid_field", "fileName is required");
    if (HasControlChars(**name, false))
      return Fail(400, "invalid_field", "fileName must not contain control characters");
    auto type = StringField(*body, "fileType", 0, 100);
    if (!type.ok()) return FromError(type.error());
    auto size = IntField(*body, "fileSize");
    if (!size.ok()) return FromError(size.error());
    if (!*size || **size <= 0) return Fail(400, "invalid_field", "fileSize must be a positive number of bytes");
    if (**size > cfg.max_upload_bytes) {
      return Fail(413, "file_too_large",
                  "files up to " + std::to_string(cfg.max_upload_bytes) + " bytes are accepted");
    }
    const std::string mime = ResolveType(type->value_or(""), **name);
    if (mime.empty()) {
      return Fail(400, "unsupported_type",
                  "only MP4, MOV, AVI, WebM, Ogg and MKV videos are accepted");
    }
    auto title = StringField(*body, "title", 0, 200);
    if (!title.ok()) return FromError(title.error());
    auto description = StringField(*body, "description", 0, 5000);
    if (!description.ok()) return FromError(description.error());
    std::string t = title->value_or("");
    if (t.empty()) {
      t = **name;
      auto dot = t.rfind('.');
      if (dot != std::string::npos && dot > 0) t = t.substr(0, dot);
    }
    if (HasControlChars(t, false)) return Fail(400, "invalid_field", "title must not contain control characters");
    auto v = svc.CreateUpload(t, description->value_or(""), **name, mime, **size);
    if (!v.ok()) return FailInternal(v.error());
    const int64_t expires = api.clock_.NowMs() / 1000 + cfg.presign_ttl_s;
    // Object storage that hands out its own URLs (S3) takes the bytes
    // straight from the client; otherwise this server receives them.
    std::string url;
    if (auto direct = svc.store().PresignPut(service::RawKey(v->id), mime, cfg.presign_ttl_s)) {
      url = std::move(*direct);
    } else {
      const std::string sig = api.SignUpload(v->id, mime, **size, expires);
      url = RequestBase(req, cfg) + "/upload/" + v->id + "?type=" + UrlEncode(mime) +
            "&size=" + std::to_string(**size) + "&expires=" + std::to_string(expires) + "&sig=" + sig;
    }
    json::object data{{"presignedUrl", url},
                      {"videoId", v->id},
                      {"expiresAt", IsoTime(expires * 1000)},
                      {"method", "PUT"},
                      {"headers", json::object{{"Content-Type", mime}}}};
    return Ok(std::move(data), "upload URL created", 201);
  }

  std::variant<http::Response, std::unique_ptr<http::BodySink>> Upload(http::Request& req) {
    const std::string id = req.Param("id");
    const auto type = req.Query("type"), size_s = req.Query("size"), exp_s = req.Query("expires"),
               sig = req.Query("sig");
    if (!IsValidId(id) || !type || !size_s || !exp_s || !sig)
      return Fail(403, "invalid_signature", "this upload URL is not valid");
    char* end = nullptr;
    const long long size = std::strtoll(size_s->c_str(), &end, 10);
    const bool size_ok = !size_s->empty() && *end == '\0' && size > 0;
    const long long expires = std::strtoll(exp_s->c_str(), &end, 10);
    const bool exp_ok = !exp_s->empty() && *end == '\0';
    if (!size_ok || !exp_ok || !ConstantTimeEquals(*sig, api.SignUpload(id, *type, size, expires)))
      return Fail(403, "invalid_signature", "the upload URL's signature does not match");
    if (expires < api.clock_.NowMs() / 1000)
      return Fail(403, "expired_signature", "this upload URL has expired; request a new one");
    const std::string ct(req.headers.Get("Content-Type"));
    if (Lower(ct) != Lower(*type))
      return Fail(403, "content_type_mismatch", "Content-Type must be " + *type + " as signed");
    const std::string_view cl = req.headers.Get("Content-Length");
    if (cl.empty()) return Fail(411, "length_required", "Content-Length is required");
    const long long length = std::strtoll(std::string(cl).c_str(), nullptr, 10);
    if (length > size) return Fail(413, "file_too_large", "the body is larger than the size that was signed");
    if (length != size) return Fail(400, "size_mismatch", "Content-Length differs from the signed size");
    auto v = svc.videos().Get(id);
    if (!v.ok()) return FailInternal(v.error());
    if (!v->has_value()) return Fail(404, "not_found", "no video with id " + id);
    if ((**v).status != VideoStatus::kUploading)
      return Fail(409, "already_uploaded", "this video is no longer waiting for its file");
    auto w = svc.store().OpenWriter(service::RawKey(id));
    if (!w.ok()) return FailInternal(w.error());
    return std::unique_ptr<http::BodySink>(new UploadSink(std::move(*w), size, id));
  }

  http::Response Confirm(http::Request& req) {
    auto loaded = Load(req);
    if (auto* r = std::get_if<http::Response>(&loaded)) return std::move(*r);
    const Video& v = std::get<Video>(loaded);
    // The job pins these bytes: a later PUT to the still-valid upload URL
    // makes the worker refuse the source rather than transcode other bytes.
    std::string source_etag;
    if (v.status == VideoStatus::kUploading || v.status == VideoStatus::kError) {
      auto st = svc.store().Stat(service::RawKey(v.id));
      if (!st.ok()) {
        if (st.error().code == store::kNotFound)
          return Fail(409, "upload_missing", "no file was uploaded yet; PUT it to the presigned URL first");
        return FailInternal(st.error());
      }
      if (static_cast<int64_t>(st->size) != v.file_size)
        return Fail(409, "size_mismatch", "the stored file's size differs from the declared size");
      source_etag = st->etag;
    }
    auto r = svc.Confirm(v.id, source_etag);
    if (!r.ok()) return FailInternal(r.error());
    if (!r->has_value()) return Fail(404, "not_found", "no video with id " + v.id);
    return OkText(svc.JsonText((*r)->video, RequestBase(req, cfg)),
                  (*r)->enqueued ? "upload confirmed; processing queued" : "already confirmed");
  }

  http::Response ListPage(const http::Request& req, db::ListQuery q) {
    auto pp = PageParams(req);
    if (!pp.ok()) return FromError(pp.error());
    q.limit = pp->first;
    q.cursor = pp->second;
    auto page = svc.videos().List(q);
    if (!page.ok()) return FromError(page.error());
    const std::string base = RequestBase(req, cfg);
    std::string body;
    {
      json_text::Object o(body);
      std::string& items = o.Key("data");
      items += '[';
      for (size_t i = 0; i < page->items.size(); ++i) {
        if (i > 0) items += ',';
        svc.AppendJson(items, page->items[i], base);
      }
      items += ']';
      o.Raw("pagination", json_text::Serialize(PaginationJson(q.limit, page->next_cursor)));
    }
    auto r = http::Response::Json(200, std::move(body));
    r.headers.Set("Cache-Control", "no-store");
    return r;
  }

  http::Response List(http::Request& req) { return ListPage(req, {}); }

  http::Response Search(http::Request& req) {
    auto q = req.Query("q");
    if (!q || q->empty()) return Fail(400, "missing_query", "give a search text as ?q=");
    if (Utf8Length(*q) > 200) return Fail(400, "invalid_query", "the search text is too long");
    db::ListQuery lq;
    lq.search = *q;
    return ListPage(req, lq);
  }

  http::Response ByStatus(http::Request& req) {
    auto s = ParseVideoStatus(req.Param("status"));
    if (!s) {
      return Fail(400, "invalid_status",
                  "status must be one of UPLOADING, UPLOADED, PROCESSING, READY, ERROR");
    }
    db::ListQuery lq;
    lq.status = s;
    return ListPage(req, lq);
  }

  http::Response Stats(http::Request&) {
    auto counts = svc.videos().CountByStatus();
    if (!counts.ok()) return FailInternal(counts.error());
    json::object by;
    int64_t total = 0;
    for (const auto& [s, n] : *counts) {
      by[std::string(ToString(s))] = n;
      total += n;
    }
    return Ok(json::object{{"total", total}, {"byStatus", std::move(by)}});
  }

  http::Response Get(http::Request& req) {
    auto loaded = Load(req);
    if (auto* r = std::get_if<http::Response>(&loaded)) return std::move(*r);
    return OkText(svc.JsonText(std::get<Video>(loaded), RequestBase(req, cfg)));
  }

  http::Response Status(http::Request& req) {
    auto loaded = Load(req);
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

  http::Response Update(http::Request& req) {
    const std::string id = req.Param("id");
    if (!IsValidId(id)) return Fail(400, "invalid_id", "video ids are 24 hexadecimal characters");
    auto body = ParseObject(req.body);
    if (!body.ok()) return FromError(body.error());
    auto title = StringField(*body, "title", 1, 200);
    if (!title.ok()) return FromError(title.error());
    auto description = StringField(*body, "description", 0, 5000);
    if (!description.ok()) return FromError(description.error());
    if (!*title && !*description)
      return Fail(400, "invalid_field", "give a title and/or a description to change");
    if ((*title && HasControlChars(**title, false)) ||
        (*description && HasControlChars(**description, true)))
      return Fail(400, "invalid_field", "control characters are not allowed");
    auto v = svc.videos().UpdateMetadata(id, *title, *description);
    if (!v.ok()) return FailInternal(v.error());
    if (!v->has_value()) return Fail(404, "not_found", "no video with id " + id);
    return OkText(svc.JsonText(**v, RequestBase(req, cfg)), "video updated");
  }

  http::Response Delete(http::Request& req) {
    const std::string id = req.Param("id");
    if (!IsValidId(id)) return Fail(400, "invalid_id", "video ids are 24 hexadecimal characters");
    auto r = svc.Delete(id);
    if (!r.ok()) return FailInternal(r.error());
    if (!*r) return Fail(404, "not_found", "no video with id " + id);
    return Ok(json::object{{"id", id}}, "video deleted");
  }

  http::Response Redirect(http::Request& req, const char* file) {
    auto loaded = Load(req);
    if (auto* r = std::get_if<http::Response>(&loaded)) return std::move(*r);
    const Video& v = std::get<Video>(loaded);
    if (v.status != VideoStatus::kReady)
      return Fail(404, "not_ready", "the video is " + std::string(ToString(v.status)) + ", not READY yet");
    http::Response r;
    r.status = 302;
    r.headers.Set("Location", svc.MediaUrl(v.id, file, RequestBase(req, cfg)));
    r.headers.Set("Cache-Control", "public, max-age=60");
    r.headers.Set("Access-Control-Allow-Origin", "*");
    return r;
  }

  http::Response Serve(http::Request& req, const std::string& id, const std::string& file) {
    if (!IsValidId(id) || !SafeFileName(file)) return Fail(404, "not_found", "no such media file");
    const std::string key = service::ProcessedPrefix(id) + file;
    auto st = svc.store().Stat(key);
    if (!st.ok()) {
      auto r = Fail(404, "not_found", "no such media file");
      r.headers.Set("Cache-Control", "no-store");
      return r;
    }
    auto path = svc.store().LocalPath(key);
    const std::string ext = Extension(file);
    const bool manifest = ext == "mpd" || ext == "m3u8";
    http::Response r;
    r.headers.Set("Content-Type", MimeTypeFor(file));
    r.headers.Set("Cache-Control", manifest ? kManifestCache : kImmutable);
    r.headers.Set("ETag", st->etag);
    r.headers.Set("Last-Modified", HttpDate(st->mtime_ms));
    r.headers.Set("Accept-Ranges", "bytes");
    r.headers.Set("Access-Control-Allow-Origin", "*");
    r.headers.Set("Access-Control-Expose-Headers", "Content-Range, Content-Length, Accept-Ranges, ETag");
    const std::string_view inm = req.headers.Get("If-None-Match");
    if (!inm.empty() && EtagMatches(inm, st->etag)) {
      r.status = 304;
      return r;
    }
    uint64_t offset = 0, length = st->size;
    const std::string_view range = req.headers.Get("Range");
    const std::string_view if_range = req.headers.Get("If-Range");
    if (!range.empty() && (if_range.empty() || if_range == st->etag)) {
      uint64_t first = 0, last = 0;
      bool unsatisfiable = false;
      if (ParseRange(range, st->size, &first, &last, &unsatisfiable)) {
        if (unsatisfiable) {
          auto bad = Fail(416, "range_not_satisfiable", "the range starts past the end of the file");
          bad.headers.Set("Content-Range", "bytes */" + std::to_string(st->size));
          return bad;
        }
        r.status = 206;
        offset = first;
        length = last - first + 1;
        r.headers.Set("Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(last) +
                                           "/" + std::to_string(st->size));
      }
    }
    if (path) {  // local disk: sendfile
      r.file_path = *path;
      r.file_offset = offset;
      r.file_length = length;
      return r;
    }
    // Remote storage: streamed through in chunks (bounded memory), so a CDN
    // in front of this server caches the bytes and relative URLs in the
    // manifests keep pointing here.
    auto reader = svc.store().OpenReader(key, offset, length);
    if (!reader.ok()) {
      if (reader.error().code == store::kNotFound) return Fail(404, "not_found", "no such media file");
      return FailInternal(reader.error());
    }
    r.stream = std::make_shared<StoreBodyStream>(std::move(*reader));
    r.stream_length = length;
    return r;
  }

  http::Response Webhook(http::Request& req) {
    const std::string ts_s(req.headers.Get("X-VisionSync-Timestamp"));
    const std::string sig(req.headers.Get("X-VisionSync-Signature"));
    if (ts_s.empty() || sig.empty())
      return Fail(401, "missing_signature", "X-VisionSync-Timestamp and X-VisionSync-Signature are required");
    char* end = nullptr;
    const long long ts = std::strtoll(ts_s.c_str(), &end, 10);
    if (*end != '\0') return Fail(401, "invalid_signature", "the timestamp is not a number");
    const long long now = api.clock_.NowMs() / 1000;
    if (std::llabs(now - ts) > cfg.webhook_tolerance_s)
      return Fail(401, "stale_signature", "the signature timestamp is too old or in the future");
    const std::string expected = "sha256=" + HmacSha256Hex(cfg.webhook_secret, ts_s + "." + req.body);
    if (!ConstantTimeEquals(sig, expected)) return Fail(401, "invalid_signature", "the signature does not match");
    auto body = ParseObject(req.body);
    if (!body.ok()) return FromError(body.error());
    auto vid = StringField(*body, "videoId", 24, 24);
    auto status = StringField(*body, "status", 1, 20);
    if (!vid.ok() || !status.ok() || !*vid || !*status || !IsValidId(**vid))
      return Fail(400, "invalid_field", "videoId and status are required");
    auto current = svc.videos().Get(**vid);
    if (!current.ok()) return FailInternal(current.error());
    if (!current->has_value()) return Fail(404, "not_found", "no video with id " + **vid);
    const std::string s = Lower(**status);
    Result<std::optional<Video>> moved = std::optional<Video>();
    if (s == "ready") {
      service::ReadyInfo info;
      if (auto it = body->find("duration"); it != body->end() && it->value().is_number())
        info.duration = it->value().to_number<double>();
      if (auto w = IntField(*body, "width"); w.ok() && *w) info.width = static_cast<int>(**w);
      if (auto h = IntField(*body, "height"); h.ok() && *h) info.height = static_cast<int>(**h);
      moved = svc.MarkReady(**vid, info);
    } else if (s == "error" || s == "failed") {
      auto reason = StringField(*body, "error", 0, 2000);
      moved = svc.MarkError(**vid, reason.ok() && *reason ? **reason : "processing failed");
    } else {
      return Fail(400, "invalid_field", "status must be ready or error");
    }
    if (!moved.ok()) return FailInternal(moved.error());
    if (!moved->has_value()) {
      // Guarded: READY never goes back; duplicates are harmless.
      auto again = svc.videos().Get(**vid);
      const std::string now_status = again.ok() && again->has_value() ? std::string(ToString((**again).status)) : "unknown";
      return Ok(json::object{{"videoId", **vid}, {"status", now_status}, {"applied", false}},
                "no change (already " + now_status + ")");
    }
    return Ok(json::object{{"videoId", **vid}, {"status", std::string(ToString((**moved).status))}, {"applied", true}},
              "status updated");
  }

  http::Response Health(http::Request&) {
    const int n = api.connections_ ? api.connections_() : 0;
    auto r = http::Response::Json(200, json_text::Serialize(json::object{{"status", "ok"}, {"connections", n}}));
    r.headers.Set("Cache-Control", "no-store");
    return r;
  }

  http::Response Notifications(http::Request& req) {
    auto pp = PageParams(req);
    if (!pp.ok()) return FromError(pp.error());
    const std::string video = req.Query("videoId").value_or("");
    if (!video.empty() && !IsValidId(video)) return Fail(400, "invalid_id", "videoId is not a valid id");
    auto page = svc.notifications().List(pp->first, pp->second, video);
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
    auto r = http::Response::Json(200, json_text::Serialize(o));
    r.headers.Set("Cache-Control", "no-store");
    return r;
  }

  http::Response Static(http::Request& req) {
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
};

void Api::Register(http::Router& router) {
  auto h = std::make_shared<Handlers>(Handlers{*this, svc_, config_});
  auto bind = [h](http::Response (Handlers::*fn)(http::Request&)) {
    return [h, fn](http::Request& r) { return ((*h).*fn)(r); };
  };
  router.Add("POST", "/api/upload/generate-presigned-url", bind(&Handlers::Presign));
  router.AddStream("PUT", "/upload/:id", [h](http::Request& r) { return h->Upload(r); });
  router.Add("POST", "/api/upload/confirm/:id", bind(&Handlers::Confirm));
  router.Add("GET", "/api/videos", bind(&Handlers::List));
  router.Add("GET", "/api/videos/search", bind(&Handlers::Search));
  router.Add("GET", "/api/videos/status/:status", bind(&Handlers::ByStatus));
  router.Add("GET", "/api/videos/stats/overview", bind(&Handlers::Stats));
  router.Add("GET", "/api/videos/:id", bind(&Handlers::Get));
  router.Add("GET", "/api/videos/:id/status", bind(&Handlers::Status));
  router.Add("PUT", "/api/videos/:id", bind(&Handlers::Update));
  router.Add("DELETE", "/api/videos/:id", bind(&Handlers::Delete));
  router.Add("GET", "/api/videos/:id/manifest.mpd", [h](http::Request& r) { return h->Redirect(r, "manifest.mpd"); });
  router.Add("GET", "/api/videos/:id/master.m3u8", [h](http::Request& r) { return h->Redirect(r, "master.m3u8"); });
  router.Add("GET", "/api/videos/:id/segments/:segment",
             [h](http::Request& r) { return h->Serve(r, r.Param("id"), r.Param("segment")); });
  router.Add("GET", "/media/:id/:file", [h](http::Request& r) { return h->Serve(r, r.Param("id"), r.Param("file")); });
  router.Add("POST", "/api/webhook/processing-complete", bind(&Handlers::Webhook));
  router.Add("GET", "/api/webhook/health", bind(&Handlers::Health));
  router.Add("GET", "/api/notifications", bind(&Handlers::Notifications));
  router.Add("GET", "/", [h](http::Request& r) { return h->Static(r); });
  router.Add("GET", "/*path", bind(&Handlers::Static));
}

http::Middleware Api::MakeMiddleware() {
  http::Middleware mw;
  mw.before = [this](http::Request& req, const http::Router::Match&) -> std::optional<http::Response> {
    std::string client = req.remote_addr;
    if (config_.trust_proxy) {
      std::string_view xff = req.headers.Get("X-Forwarded-For");
      if (!xff.empty()) {
        std::string_view first = xff.substr(0, xff.find(','));
        while (!first.empty() && first.front() == ' ') first.remove_prefix(1);
        while (!first.empty() && first.back() == ' ') first.remove_suffix(1);
        if (!first.empty() && first.size() < 64) client = std::string(first);
      }
    }
    if (req.method == "OPTIONS") {
      http::Response r;
      r.status = 204;
      r.headers.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE, OPTIONS");
      std::string_view asked = req.headers.Get("Access-Control-Request-Headers");
      r.headers.Set("Access-Control-Allow-Headers",
                    asked.empty() ? "Content-Type, Range, X-Request-Id" : std::string(asked));
      r.headers.Set("Access-Control-Max-Age", "86400");
      return r;
    }
    const std::string tier = TierFor(req.method, req.path);
    ratelimit::Decision d = limiter_.Check(tier, client);
    const int64_t now = clock_.NowMs();
    req.response_headers.Set("X-RateLimit-Limit", std::to_string(d.limit));
    req.response_headers.Set("X-RateLimit-Remaining", std::to_string(d.remaining));
    req.response_headers.Set("X-RateLimit-Reset", std::to_string((d.reset_ms + 999) / 1000));
    if (!d.allowed) {
      const int64_t secs = std::max<int64_t>(1, (d.retry_after_ms + 999) / 1000);
      (void)now;
      auto r = Fail(429, "rate_limited",
                    "too many " + tier + " requests; retry in " + std::to_string(secs) + " s");
      r.headers.Set("Retry-After", std::to_string(secs));
      return r;
    }
    return std::nullopt;
  };
  mw.after = [this](const http::Request& req, http::Response& resp, double ms) {
    if (!resp.headers.Has("Access-Control-Allow-Origin")) {
      const std::string origin = config_.frontend_url.empty() ? "*" : config_.frontend_url;
      resp.headers.Set("Access-Control-Allow-Origin", origin);
      if (origin != "*") resp.headers.Set("Vary", "Origin");
    }
    resp.headers.Set("Access-Control-Expose-Headers",
                     std::string(resp.headers.Get("Access-Control-Expose-Headers").empty()
                                     ? "X-Request-Id, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, ETag"
                                     : resp.headers.Get("Access-Control-Expose-Headers")));
    if (access_log_ && (!log_enabled_ || log_enabled_())) {
      std::string line;
      json_text::Object(line)
          .String("time", IsoTime(clock_.NowMs()))
          .String("level", resp.status >= 500 ? "error" : "info")
          .String("msg", "request")
          .String("method", req.method)
          .String("path", req.path)
          .Int("status", resp.status)
          .Number("durationMs", std::round(ms * 100) / 100)
          .String("requestId", req.request_id)
          .String("client", req.remote_addr);
      access_log_(line);
    }
  };
  return mw;
}

}  // namespace vs::api
