// Uploads: a presigned URL (POST /api/upload/generate-presigned-url), the
// PUT of the bytes to that URL when this server stores them, and the
// confirmation that queues the video for processing.
#include <algorithm>
#include <cstdlib>

#include "api/api_internal.h"
#include "api/api_util.h"
#include "api/display_name.h"
#include "core/hmac.h"
#include "core/ids.h"
#include "core/time_format.h"

namespace vs::api {
namespace {

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

constexpr const char* kAlreadyUploaded = "already_uploaded";
constexpr const char* kAlreadyUploadedMessage =
    "this video already has its file; confirm it, or delete the video and upload again";

// Streams a PUT body into the object store, checking size and content and
// hashing it. The first complete upload of a video is its source for good:
// a later one (even one that was open when the first finished, or when
// confirm began) is refused and never replaces it.
class UploadSink final : public http::BodySink {
 public:
  UploadSink(const Context& ctx, std::unique_ptr<store::ObjectWriter> w, uint64_t expected, std::string id)
      : ctx_(ctx), writer_(std::move(w)), expected_(expected), id_(std::move(id)) {}

  Status Write(const char* data, size_t n) override {
    if (writer_->written() + n > expected_)
      return MakeError(ErrorKind::kTooLarge, "too_large",
                       "the body is larger than the size that was signed");
    if (head_.size() < 12) {
      head_.append(data, std::min(n, 12 - head_.size()));
      if (head_.size() >= 12 && !Sniff()) return NotVideo();
    }
    sha_.Update(data, n);
    return writer_->Write(data, n);
  }
  http::Response Finish() override {
    if (writer_->written() != expected_)
      return Fail(400, "incomplete_upload", "the body is shorter than the size that was signed");
    if (!Sniff()) return OnError(NotVideo());
    Status s = writer_->CommitIfAbsent();
    if (!s.ok()) {
      if (s.error().code == store::kObjectExists) return Fail(409, kAlreadyUploaded, kAlreadyUploadedMessage);
      return FromError(s.error());
    }
    const std::string digest = sha_.HexDigest();
    auto r = Ok(json::object{{"videoId", id_}, {"size", expected_}, {"sha256", digest}}, "upload stored");
    // Without the record, confirm hashes the stored bytes instead.
    if (Status kept = ctx_.svc.RecordSourceDigest(id_, digest); !kept.ok())
      r.log_note = "digest not recorded: " + kept.error().message;
    return r;
  }
  http::Response OnError(const Error& e) override {
    if (e.kind == ErrorKind::kTooLarge) return Fail(413, "file_too_large", e.message);
    if (e.code == "not_a_video") return Fail(415, "unsupported_media", e.message);
    return FromError(e);
  }

 private:
  bool Sniff() const {
    return LooksLikeVideo(reinterpret_cast<const unsigned char*>(head_.data()), head_.size());
  }
  static Error NotVideo() {
    return MakeError(
        ErrorKind::kInvalid, "not_a_video",
        "the file does not start like a video (MP4/MOV, AVI, WebM/MKV or Ogg expected)");
  }
  const Context& ctx_;
  std::unique_ptr<store::ObjectWriter> writer_;
  uint64_t expected_;
  std::string id_;
  std::string head_;
  Sha256Stream sha_;
};

// The fields of a presign request, validated.
struct UploadRequest {
  std::string file_name;
  std::string mime;
  int64_t size = 0;
  std::string title;
  std::string description;
  Visibility visibility = Visibility::kPublic;
};

// The file's name, type and size, or the refusal.
std::variant<UploadRequest, http::Response> ParseFile(const json::object& body, const ApiConfig& cfg) {
  auto name = StringField(body, "fileName", 1, 255);
  if (!name.ok()) return FromError(name.error());
  if (!*name) return Fail(400, "invalid_field", "fileName is required");
  // Stored and shown, never used as a path: kept in a form that is safe to
  // show rather than refused (a browser sends whatever the file is called).
  const std::string file_name = DisplayFileName(**name);
  auto type = StringField(body, "fileType", 0, 100);
  if (!type.ok()) return FromError(type.error());
  auto size = IntField(body, "fileSize");
  if (!size.ok()) return FromError(size.error());
  if (!*size || **size <= 0) return Fail(400, "invalid_field", "fileSize must be a positive number of bytes");
  if (**size > cfg.max_upload_bytes) {
    return Fail(413, "file_too_large",
                "files up to " + std::to_string(cfg.max_upload_bytes) + " bytes are accepted");
  }
  const std::string mime = ResolveType(type->value_or(""), file_name);
  if (mime.empty()) {
    return Fail(400, "unsupported_type",
                "only MP4, MOV, AVI, WebM, Ogg and MKV videos are accepted");
  }
  return UploadRequest{file_name, mime, **size, "", "", Visibility::kPublic};
}

// Adds the title (the file name without its extension when absent) and the
// description, or returns the refusal.
std::optional<http::Response> ParseText(const json::object& body, UploadRequest& u) {
  auto title = StringField(body, "title", 0, 200);
  if (!title.ok()) return FromError(title.error());
  auto description = StringField(body, "description", 0, 5000);
  if (!description.ok()) return FromError(description.error());
  u.title = title->value_or("");
  if (u.title.empty()) {
    u.title = u.file_name;
    auto dot = u.title.rfind('.');
    if (dot != std::string::npos && dot > 0) u.title = u.title.substr(0, dot);
  }
  if (HasControlChars(u.title, false))
    return Fail(400, "invalid_field", "title must not contain control characters");
  u.description = description->value_or("");
  auto visibility = VisibilityField(body);
  if (!visibility.ok()) return FromError(visibility.error());
  u.visibility = visibility->value_or(Visibility::kPublic);
  return std::nullopt;
}

http::Response Presign(const Context& ctx, http::Request& req) {
  auto caller = Identify(ctx, req);
  if (auto* r = std::get_if<http::Response>(&caller)) return std::move(*r);
  const Caller& c = std::get<Caller>(caller);
  if (auto refused = RequireAccount(ctx, c, /*upload=*/true)) return std::move(*refused);
  auto body = JsonBody(req, {"fileName", "fileType", "fileSize", "title", "description", "visibility"});
  if (auto* r = std::get_if<http::Response>(&body)) return std::move(*r);
  const json::object& fields = std::get<json::object>(body);
  auto parsed = ParseFile(fields, ctx.cfg);
  if (auto* r = std::get_if<http::Response>(&parsed)) return std::move(*r);
  UploadRequest& u = std::get<UploadRequest>(parsed);
  if (auto refused = ParseText(fields, u)) return std::move(*refused);
  if (c.viewer.anonymous() && u.visibility == Visibility::kPrivate)
    return Fail(400, "invalid_field", "an anonymous upload cannot be private: nobody could watch it");
  auto v = ctx.svc.CreateUpload(u.title, u.description, u.file_name, u.mime, u.size, c.viewer.user_id, u.visibility);
  if (!v.ok()) return FromError(v.error());
  const int64_t expires = ctx.clock.NowMs() / 1000 + ctx.cfg.presign_ttl_s;
  // Object storage that hands out its own URLs (S3) takes the bytes
  // straight from the client; otherwise this server receives them.
  std::string url;
  if (auto direct = ctx.svc.PresignUpload(v->id, u.mime, ctx.cfg.presign_ttl_s)) {
    url = std::move(*direct);
  } else {
    const std::string sig = SignUpload(ctx.cfg.upload_secret, v->id, u.mime, u.size, expires);
    url = RequestBase(req, ctx.cfg) + "/upload/" + v->id + "?type=" + UrlEncode(u.mime) +
          "&size=" + std::to_string(u.size) + "&expires=" + std::to_string(expires) + "&sig=" + sig;
  }
  json::object data{{"presignedUrl", url},
                    {"videoId", v->id},
                    {"expiresAt", IsoTime(expires * 1000)},
                    {"method", "PUT"},
                    {"headers", json::object{{"Content-Type", u.mime}}}};
  return Ok(std::move(data), "upload URL created", 201);
}

// A header of the PUT that would change how the object is stored or served
// if a store honoured it, and that the URL did not sign (it signs only the
// Content-Type and size): any x-amz-* (ACL, metadata, storage class,
// encryption...), and the representation headers an object store keeps and
// serves back (Content-Encoding, Content-Disposition, Content-Language,
// Expires). Headers browsers add by themselves (Cache-Control and Pragma
// when DevTools disables the cache, Origin, Accept-*) change nothing.
std::optional<std::string> UnsignedHeader(const http::Headers& headers) {
  for (const auto& [name, value] : headers.items()) {
    const std::string n = Lower(name);
    if (n.starts_with("x-amz-") || n == "content-encoding" || n == "content-disposition" ||
        n == "content-language" || n == "expires")
      return name;
  }
  return std::nullopt;
}

// Checks the upload URL's signature, expiry and Content-Type; on success
// returns nullopt and sets the signed size.
std::optional<http::Response> CheckGrant(const Context& ctx, const http::Request& req, const std::string& id,
                                         long long* size) {
  const auto type = req.Query("type"), size_s = req.Query("size"), exp_s = req.Query("expires"),
             sig = req.Query("sig");
  if (!IsValidId(id) || !type || !size_s || !exp_s || !sig)
    return Fail(403, "invalid_signature", "this upload URL is not valid");
  char* end = nullptr;
  *size = std::strtoll(size_s->c_str(), &end, 10);
  const bool size_ok = !size_s->empty() && *end == '\0' && *size > 0;
  const long long expires = std::strtoll(exp_s->c_str(), &end, 10);
  const bool exp_ok = !exp_s->empty() && *end == '\0';
  if (!size_ok || !exp_ok ||
      !ConstantTimeEquals(*sig, SignUpload(ctx.cfg.upload_secret, id, *type, *size, expires)))
    return Fail(403, "invalid_signature", "the upload URL's signature does not match");
  if (expires < ctx.clock.NowMs() / 1000)
    return Fail(403, "expired_signature", "this upload URL has expired; request a new one");
  const std::string ct(req.headers.Get("Content-Type"));
  if (Lower(ct) != Lower(*type))
    return Fail(403, "content_type_mismatch", "Content-Type must be " + *type + " as signed");
  if (auto name = UnsignedHeader(req.headers))
    return Fail(403, "unsigned_header", "this upload URL was not signed for the header " + *name);
  return std::nullopt;
}

std::variant<http::Response, std::unique_ptr<http::BodySink>> Upload(const Context& ctx, http::Request& req) {
  const std::string id = req.Param("id");
  long long size = 0;
  if (auto refused = CheckGrant(ctx, req, id, &size)) return std::move(*refused);
  const std::string_view cl = req.headers.Get("Content-Length");
  if (cl.empty()) return Fail(411, "length_required", "Content-Length is required");
  const long long length = std::strtoll(std::string(cl).c_str(), nullptr, 10);
  if (length > size) return Fail(413, "file_too_large", "the body is larger than the size that was signed");
  if (length != size) return Fail(400, "size_mismatch", "Content-Length differs from the signed size");
  auto v = ctx.svc.Get(id);
  if (!v.ok()) return FromError(v.error());
  if (!v->has_value()) return Fail(404, "not_found", "no video with id " + id);
  if ((**v).status != VideoStatus::kUploading)
    return Fail(409, kAlreadyUploaded, "this video is no longer waiting for its file");
  // Refused before a byte is read when the file is already there; one that
  // arrives meanwhile is caught when this body is committed.
  if (auto st = ctx.svc.StatSource(id); st.ok()) return Fail(409, kAlreadyUploaded, kAlreadyUploadedMessage);
  // Refused before a byte is read, rather than after filling the disk.
  if (Status room = ctx.svc.CheckRoomFor(static_cast<uint64_t>(size)); !room.ok()) return FromError(room.error());
  auto w = ctx.svc.OpenSourceWriter(id);
  if (!w.ok()) return FromError(w.error());
  return std::unique_ptr<http::BodySink>(new UploadSink(ctx, std::move(*w), size, id));
}

http::Response Confirm(const Context& ctx, http::Request& req) {
  auto loaded = LoadChangeable(ctx, req);
  if (auto* r = std::get_if<http::Response>(&loaded)) return std::move(*r);
  const Video& v = std::get<Video>(loaded);
  // The job pins these bytes (their SHA-256, or the ETag of an object a
  // client PUT straight to S3): the worker transcodes nothing else.
  std::string source_pin;
  if (v.status == VideoStatus::kUploading || v.status == VideoStatus::kError) {
    auto st = ctx.svc.StatSource(v.id);
    if (!st.ok()) {
      if (st.error().kind == ErrorKind::kNotFound)
        return Fail(409, "upload_missing", "no file was uploaded yet; PUT it to the presigned URL first");
      return FromError(st.error());
    }
    if (static_cast<int64_t>(st->size) != v.file_size)
      return Fail(409, "size_mismatch", "the stored file's size differs from the declared size");
    auto pin = ctx.svc.SourcePin(v.id, *st);
    if (!pin.ok()) return FromError(pin.error());
    source_pin = std::move(*pin);
  }
  auto r = ctx.svc.Confirm(v.id, source_pin);
  if (!r.ok()) return FromError(r.error());
  if (!r->has_value()) return Fail(404, "not_found", "no video with id " + v.id);
  return OkText(ctx.svc.JsonText((*r)->video, RequestBase(req, ctx.cfg)),
                (*r)->enqueued ? "upload confirmed; processing queued" : "already confirmed");
}

}  // namespace

bool LooksLikeVideo(const unsigned char* d, size_t n) {
  if (n >= 8 && d[4] == 'f' && d[5] == 't' && d[6] == 'y' && d[7] == 'p') return true;
  if (n >= 4 && d[0] == 'R' && d[1] == 'I' && d[2] == 'F' && d[3] == 'F') return true;
  if (n >= 4 && d[0] == 0x1A && d[1] == 0x45 && d[2] == 0xDF && d[3] == 0xA3) return true;
  if (n >= 4 && d[0] == 'O' && d[1] == 'g' && d[2] == 'g' && d[3] == 'S') return true;
  return false;
}

std::string SignUpload(const std::string& secret, const std::string& id, const std::string& content_type,
                       int64_t size, int64_t expires) {
  return HmacSha256Hex(secret, "PUT\n" + service::RawKey(id) + "\n" + content_type + "\n" +
                                   std::to_string(size) + "\n" + std::to_string(expires));
}

void RegisterUploadRoutes(http::Router& router, const ContextPtr& ctx) {
  router.Add("POST", "/api/upload/generate-presigned-url", Bind(ctx, &Presign));
  router.AddStream("PUT", "/upload/:id", [ctx](http::Request& r) { return Upload(*ctx, r); });
  router.Add("POST", "/api/upload/confirm/:id", Bind(ctx, &Confirm));
}

}  // namespace vs::api
