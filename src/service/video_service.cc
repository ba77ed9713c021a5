#include "service/video_service.h"

#include <cmath>
#include <ctime>

#include "core/hmac.h"
#include "core/ids.h"
#include "core/json_text.h"
#include "core/time_format.h"

namespace vs::service {

std::string RawKey(const std::string& id) { return "raw/" + id + "/source"; }
std::string ProcessedPrefix(const std::string& id) { return "processed/" + id + "/"; }

VideoService::VideoService(db::VideoRepository& videos, db::NotificationRepository& notifications,
                           store::ObjectStore& store, EventBus& bus, const Clock& clock,
                           UrlConfig urls, db::JobQueue* jobs)
    : videos_(videos),
      notifications_(notifications),
      store_(store),
      bus_(bus),
      clock_(clock),
      urls_(std::move(urls)),
      jobs_(jobs) {}

std::string VideoService::MediaUrl(const std::string& id, std::string_view file,
                                   std::string_view request_base) const {
  std::string base = !urls_.cdn_base_url.empty() ? urls_.cdn_base_url
                     : !urls_.public_url.empty() ? urls_.public_url
                                                 : std::string(request_base);
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/media/" + id + "/" + std::string(file);
}

namespace {

// A private video's token expiry: at least `ttl_s` from now, rounded up to
// ten minutes.
int64_t PlaybackExpiryFrom(int64_t now_ms, int64_t ttl_s) {
  constexpr int64_t kStep = 600;
  const int64_t at = now_ms / 1000 + ttl_s;
  return (at + kStep - 1) / kStep * kStep;
}

}  // namespace

std::string VideoService::MediaUrlFor(const Video& v, std::string_view file, std::string_view request_base) const {
  if (v.visibility != Visibility::kPrivate) return MediaUrl(v.id, file, request_base);
  const std::string token =
      SignPlayback(urls_.playback_secret, v.id, PlaybackExpiryFrom(clock_.NowMs(), urls_.playback_ttl_s));
  std::string url = MediaUrl(v.id, file, request_base);
  // MediaUrl ends in "/media/<id>/<file>": the token path takes its place.
  url.resize(url.size() - (std::string("/media/") + v.id + "/" + std::string(file)).size());
  return url + PlaybackPath(token, v.id, std::string(file));
}

PlaybackUrls VideoService::PlaybackFor(const Video& v, std::string_view request_base) const {
  PlaybackUrls p;
  p.dash = MediaUrlFor(v, "manifest.mpd", request_base);
  p.hls = MediaUrlFor(v, "master.m3u8", request_base);
  p.thumbnail = MediaUrlFor(v, "thumbnail.jpg", request_base);
  if (v.visibility == Visibility::kPrivate)
    p.expires_ms = PlaybackExpiryFrom(clock_.NowMs(), urls_.playback_ttl_s) * 1000;
  return p;
}

PlaybackCheck VideoService::CheckPlaybackToken(const std::string& id, const std::string& token, int64_t now_s) const {
  return CheckPlayback(urls_.playback_secret, id, token, now_s);
}

void VideoService::AppendJson(std::string& out, const Video& v, std::string_view request_base) const {
  namespace jt = json_text;
  jt::Object o(out);
  o.String("id", v.id);
  o.String("_id", v.id);  // the original (MongoDB) spelling
  o.String("title", v.title);
  o.String("description", v.description);
  o.String("fileName", v.file_name);
  o.String("fileType", v.file_type);
  o.Int("fileSize", v.file_size);
  o.String("status", ToString(v.status));
  o.Number("progress", v.progress);
  o.StringOrNull("errorMessage", v.error_message);
  const bool ready = v.status == VideoStatus::kReady;
  for (auto [key, file] : {std::pair{"manifestUrl", "manifest.mpd"}, std::pair{"hlsUrl", "master.m3u8"},
                           std::pair{"thumbnailUrl", "thumbnail.jpg"}})
    o.StringOrNull(key, ready ? MediaUrlFor(v, file, request_base) : std::string());
  o.StringOrNull("ownerId", v.owner_id);
  o.String("visibility", ToString(v.visibility));
  o.Number("duration", v.duration);
  o.Int("width", v.width);
  o.Int("height", v.height);
  o.StringOrNull("resolution", v.width > 0 ? std::to_string(v.width) + "x" + std::to_string(v.height) : "");
  std::string& reps = o.Key("renditions");
  reps += '[';
  for (size_t i = 0; i < v.renditions.size(); ++i) {
    const RenditionInfo& r = v.renditions[i];
    if (i > 0) reps += ',';
    jt::Object(reps).String("id", r.id).String("name", r.name).Int("width", r.width).Int("height", r.height).Int(
        "bitrate", r.bitrate);
  }
  reps += ']';
  o.String("createdAt", IsoTime(v.created_at_ms));
  o.String("updatedAt", IsoTime(v.updated_at_ms));
}

std::string VideoService::JsonText(const Video& v, std::string_view request_base) const {
  std::string out;
  out.reserve(768);
  AppendJson(out, v, request_base);
  return out;
}

Result<Video> VideoService::CreateUpload(std::string title, std::string description,
                                         std::string file_name, std::string file_type,
                                         int64_t file_size, std::string owner_id, Visibility visibility) {
  Video v;
  const int64_t now = clock_.NowMs();
  v.id = NewId(now);
  v.title = std::move(title);
  v.description = std::move(description);
  v.file_name = std::move(file_name);
  v.file_type = std::move(file_type);
  v.file_size = file_size;
  v.owner_id = std::move(owner_id);
  v.visibility = visibility;
  v.status = VideoStatus::kUploading;
  v.created_at_ms = now;
  v.updated_at_ms = now;
  VS_TRY(videos_.Create(v));
  Announce(v, "upload started");
  return v;
}

void VideoService::Announce(const Video& v, const std::string& message) {
  // The history is best effort: a failed insert must not undo the status.
  (void)notifications_.Add(v.id, v.status, message);
  std::string payload;
  {
    json_text::Object o(payload);
    o.String("videoId", v.id).String("status", ToString(v.status));
    AppendJson(o.Key("data"), v, {});
    if (!message.empty()) o.String("message", message);
  }
  bus_.Publish(Event{"video-status", v.id, std::move(payload)});
}

Result<std::optional<db::ConfirmResult>> VideoService::Confirm(const std::string& id,
                                                               const std::string& source_etag) {
  VS_ASSIGN_OR_RETURN(auto r, videos_.ConfirmUpload(id, source_etag));
  if (r && r->enqueued) {
    Announce(r->video, "upload confirmed; queued for processing");
    if (on_job_) on_job_();
  }
  return r;
}

Result<std::optional<Video>> VideoService::Retry(const std::string& id) {
  VS_ASSIGN_OR_RETURN(std::optional<Video> v, videos_.Get(id));
  if (!v) return std::optional<Video>();
  if (v->status != VideoStatus::kError) {
    return MakeError(ErrorKind::kConflict, kNotRetryable,
                     "only a video in ERROR can be retried; this one is " + std::string(ToString(v->status)));
  }
  Result<store::ObjectInfo> source = store_.Stat(RawKey(id));
  if (!source.ok()) {
    if (source.error().kind != ErrorKind::kNotFound) return source.error();
    return MakeError(ErrorKind::kConflict, kSourceMissing,
                     "the uploaded file is gone; upload the video again");
  }
  VS_ASSIGN_OR_RETURN(std::string pin, SourcePin(id, *source));
  VS_ASSIGN_OR_RETURN(auto r, videos_.ConfirmUpload(id, pin));
  if (!r) return std::optional<Video>();
  if (r->enqueued) {
    Announce(r->video, "retry requested; queued for processing");
    if (on_job_) on_job_();
  }
  return std::optional<Video>(std::move(r->video));
}

Result<std::optional<Video>> VideoService::Move(const std::string& id,
                                                const std::vector<VideoStatus>& from,
                                                VideoStatus to, const db::StatusPatch& patch,
                                                const std::string& message) {
  VS_ASSIGN_OR_RETURN(auto v, videos_.Transition(id, from, to, patch));
  if (v) Announce(*v, message);
  return v;
}

Result<std::optional<Video>> VideoService::MarkProcessing(const std::string& id, int attempt) {
  db::StatusPatch p;
  p.progress = 0;
  p.error_message = "";
  return Move(id, {VideoStatus::kUploaded, VideoStatus::kProcessing}, VideoStatus::kProcessing, p,
              "processing started (attempt " + std::to_string(attempt) + ")");
}

void VideoService::ReportProgress(const std::string& id, double percent, const std::string& stage) {
  percent = std::clamp(percent, 0.0, 100.0);
  (void)videos_.UpdateProgress(id, std::floor(percent * 10) / 10);
  std::string payload;
  json_text::Object(payload).String("videoId", id).Number("progress", std::floor(percent * 10) / 10).String(
      "stage", stage);
  bus_.Publish(Event{"processing-progress", id, std::move(payload)});
}

Result<std::optional<Video>> VideoService::MarkReady(const std::string& id, const ReadyInfo& info) {
  db::StatusPatch p;
  p.progress = 100;
  p.duration = info.duration;
  p.width = info.width;
  p.height = info.height;
  p.renditions = info.renditions;
  p.error_message = "";
  return Move(id, {VideoStatus::kUploaded, VideoStatus::kProcessing}, VideoStatus::kReady, p,
              "ready to stream");
}

Result<std::optional<Video>> VideoService::MarkError(const std::string& id, const std::string& reason) {
  db::StatusPatch p;
  p.error_message = reason;
  return Move(id, {VideoStatus::kUploading, VideoStatus::kUploaded, VideoStatus::kProcessing},
              VideoStatus::kError, p, reason);
}

Result<std::optional<RemoteOutcome>> VideoService::ApplyRemoteResult(const RemoteResult& r) {
  VS_ASSIGN_OR_RETURN(std::optional<Video> current, videos_.Get(r.video_id));
  if (!current) return std::optional<RemoteOutcome>();
  if (jobs_ != nullptr) {
    VS_ASSIGN_OR_RETURN(std::optional<Job> job, jobs_->LatestForVideo(r.video_id));
    if (job && (job->state == JobState::kQueued || job->state == JobState::kRunning)) {
      return MakeError(ErrorKind::kConflict, kJobRunning,
                       "this server's own worker has the video (job " + std::to_string(job->id) + " is " +
                           std::string(ToString(job->state)) + "); its result stands");
    }
  }
  if (r.ready) {
    for (const char* file : {"manifest.mpd", "master.m3u8"}) {
      auto st = StatMedia(r.video_id, file);
      if (!st.ok() && st.error().kind == ErrorKind::kNotFound) {
        return MakeError(ErrorKind::kConflict, kMediaMissing,
                         ProcessedPrefix(r.video_id) + file +
                             " is not in storage; store the outputs before reporting ready");
      }
      if (!st.ok()) return st.error();
    }
  }
  RemoteOutcome out;
  for (const std::string& key : r.delivery_keys) {
    VS_ASSIGN_OR_RETURN(const bool fresh, notifications_.RecordDelivery(key, clock_.NowMs()));
    out.duplicate = out.duplicate || !fresh;
  }
  if (out.duplicate) {
    out.video = std::move(*current);
    return std::optional<RemoteOutcome>(std::move(out));
  }
  VS_ASSIGN_OR_RETURN(std::optional<Video> moved,
                      r.ready ? MarkReady(r.video_id, r.info) : MarkError(r.video_id, r.error));
  out.applied = moved.has_value();
  if (!moved) {
    // Guarded: READY never goes back; the video as it is now.
    VS_ASSIGN_OR_RETURN(moved, videos_.Get(r.video_id));
    if (!moved) return std::optional<RemoteOutcome>();
  }
  out.video = std::move(*moved);
  return std::optional<RemoteOutcome>(std::move(out));
}

Result<std::optional<Video>> VideoService::Requeue(const std::string& id, const std::string& reason) {
  db::StatusPatch p;
  p.progress = 0;
  return Move(id, {VideoStatus::kProcessing}, VideoStatus::kUploaded, p,
              "will retry: " + reason);
}

Result<bool> VideoService::Delete(const std::string& id) {
  VS_ASSIGN_OR_RETURN(bool existed, videos_.Delete(id));
  if (!existed) return false;
  // The row goes first: a crash in between leaves orphan files (harmless,
  // removed by a later delete of the same prefix), never a row without files
  // that claims to be READY.
  VS_TRY(store_.DeletePrefix("raw/" + id));
  VS_TRY(store_.DeletePrefix("processed/" + id));
  std::string payload;
  json_text::Object(payload).String("videoId", id).String("status", "DELETED").Null("data");
  bus_.Publish(Event{"video-status", id, std::move(payload)});
  return true;
}

Result<std::optional<Video>> VideoService::UpdateMetadata(const std::string& id,
                                                          const std::optional<std::string>& title,
                                                          const std::optional<std::string>& description,
                                                          const std::optional<Visibility>& visibility) {
  VS_ASSIGN_OR_RETURN(std::optional<Video> v, videos_.UpdateMetadata(id, title, description, visibility));
  if (v && visibility) {
    // Sockets and event streams that joined while the video was visible to
    // them are checked again (in every process: the bus fans out).
    std::string payload;
    json_text::Object(payload).String("videoId", v->id).String("visibility", ToString(v->visibility));
    bus_.Publish(Event{kVideoAccessEvent, v->id, std::move(payload)});
  }
  return v;
}

Result<std::optional<Video>> VideoService::Get(const std::string& id) { return videos_.Get(id); }

Result<Page<Video>> VideoService::List(const db::ListQuery& q) { return videos_.List(q); }

Result<std::vector<std::pair<VideoStatus, int64_t>>> VideoService::CountByStatus(const db::Audience& audience) {
  return videos_.CountByStatus(audience);
}

Result<Page<Notification>> VideoService::Notifications(int limit, const std::string& cursor,
                                                       const std::string& video_id, const db::Audience& audience) {
  return notifications_.List(limit, cursor, video_id, audience);
}

Result<store::ObjectInfo> VideoService::StatSource(const std::string& id) { return store_.Stat(RawKey(id)); }

namespace {

std::string DigestKey(const std::string& id) { return RawKey(id) + ".sha256"; }

// The SHA-256 of a stored object, streamed (bounded memory).
Result<std::string> DigestOf(store::ObjectStore& store, const std::string& key) {
  VS_ASSIGN_OR_RETURN(auto reader, store.OpenReader(key, 0, std::nullopt));
  Sha256Stream sha;
  std::string buf(1 << 20, '\0');
  for (;;) {
    VS_ASSIGN_OR_RETURN(size_t n, reader->Read(buf.data(), buf.size()));
    if (n == 0) return sha.HexDigest();
    sha.Update(buf.data(), n);
  }
}

bool IsHexDigest(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

Status VideoService::RecordSourceDigest(const std::string& id, const std::string& hex) {
  VS_ASSIGN_OR_RETURN(auto w, store_.OpenWriter(DigestKey(id)));
  VS_TRY(w->Write(hex.data(), hex.size()));
  return w->Commit();
}

Result<std::string> VideoService::SourcePin(const std::string& id, const store::ObjectInfo& st) {
  auto reader = store_.OpenReader(DigestKey(id), 0, 64);
  if (reader.ok()) {
    std::string hex(64, '\0');
    size_t got = 0;
    while (got < hex.size()) {
      VS_ASSIGN_OR_RETURN(size_t n, (*reader)->Read(hex.data() + got, hex.size() - got));
      if (n == 0) break;
      got += n;
    }
    if (got == hex.size() && IsHexDigest(hex)) return Sha256Pin(hex);
  } else if (reader.error().kind != ErrorKind::kNotFound) {
    return reader.error();
  }
  // No usable record: the server died between storing the bytes and their
  // digest, or the client sent them straight to S3.
  if (!store_.LocalPath(RawKey(id))) return st.etag;
  VS_ASSIGN_OR_RETURN(std::string hex, DigestOf(store_, RawKey(id)));
  return Sha256Pin(hex);
}

Result<std::unique_ptr<store::ObjectWriter>> VideoService::OpenSourceWriter(const std::string& id) {
  return store_.OpenWriter(RawKey(id));
}

std::optional<std::string> VideoService::PresignUpload(const std::string& id, const std::string& content_type,
                                                       int64_t ttl_s) {
  return store_.PresignPut(RawKey(id), content_type, ttl_s);
}

Status RoomFor(uint64_t bytes, std::optional<uint64_t> free) {
  if (!free || *free >= bytes + kStorageMargin) return {};
  return store::StorageFull("not enough free storage for " + std::to_string(bytes) + " bytes (" +
                            std::to_string(*free) + " free, " + std::to_string(kStorageMargin) +
                            " kept in reserve)");
}

Result<store::ObjectInfo> VideoService::StatMedia(const std::string& id, const std::string& file) {
  return store_.Stat(ProcessedPrefix(id) + file);
}

std::optional<std::string> VideoService::MediaLocalPath(const std::string& id, const std::string& file) {
  return store_.LocalPath(ProcessedPrefix(id) + file);
}

Result<std::unique_ptr<store::ObjectReader>> VideoService::OpenMedia(const std::string& id,
                                                                     const std::string& file, uint64_t offset,
                                                                     uint64_t length) {
  return store_.OpenReader(ProcessedPrefix(id) + file, offset, length);
}

}  // namespace vs::service
