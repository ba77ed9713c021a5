#include "service/video_service.h"

#include <cmath>
#include <ctime>

#include <boost/json.hpp>

#include "core/ids.h"
#include "core/time_format.h"

namespace vs::service {
namespace json = boost::json;

json::value JsonNumber(double x) {
  if (std::isfinite(x) && x == std::trunc(x) && std::fabs(x) < 9007199254740992.0)
    return static_cast<int64_t>(x);
  return x;
}

std::string RawKey(const std::string& id) { return "raw/" + id + "/source"; }
std::string ProcessedPrefix(const std::string& id) { return "processed/" + id + "/"; }

VideoService::VideoService(db::VideoRepository& videos, db::NotificationRepository& notifications,
                           store::ObjectStore& store, EventBus& bus, const Clock& clock,
                           UrlConfig urls)
    : videos_(videos),
      notifications_(notifications),
      store_(store),
      bus_(bus),
      clock_(clock),
      urls_(std::move(urls)) {}

std::string VideoService::MediaUrl(const std::string& id, std::string_view file,
                                   std::string_view request_base) const {
  std::string base = !urls_.cdn_base_url.empty() ? urls_.cdn_base_url
                     : !urls_.public_url.empty() ? urls_.public_url
                                                 : std::string(request_base);
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/media/" + id + "/" + std::string(file);
}

json::object VideoService::ToJson(const Video& v, std::string_view request_base) const {
  json::object o;
  o.reserve(22);
  o["id"] = v.id;
  o["_id"] = v.id;  // the original (MongoDB) spelling
  o["title"] = v.title;
  o["description"] = v.description;
  o["fileName"] = v.file_name;
  o["fileType"] = v.file_type;
  o["fileSize"] = v.file_size;
  o["status"] = std::string(ToString(v.status));
  o["progress"] = JsonNumber(v.progress);
  o["errorMessage"] = v.error_message.empty() ? json::value(nullptr) : json::value(v.error_message);
  const bool ready = v.status == VideoStatus::kReady;
  o["manifestUrl"] = ready ? json::value(MediaUrl(v.id, "manifest.mpd", request_base)) : nullptr;
  o["hlsUrl"] = ready ? json::value(MediaUrl(v.id, "master.m3u8", request_base)) : nullptr;
  o["thumbnailUrl"] = ready ? json::value(MediaUrl(v.id, "thumbnail.jpg", request_base)) : nullptr;
  o["duration"] = JsonNumber(v.duration);
  o["width"] = v.width;
  o["height"] = v.height;
  o["resolution"] = v.width > 0 ? json::value(std::to_string(v.width) + "x" + std::to_string(v.height))
                                : nullptr;
  json::array reps;
  for (const auto& r : v.renditions) {
    reps.push_back(json::object{{"id", r.id},
                                {"name", r.name},
                                {"width", r.width},
                                {"height", r.height},
                                {"bitrate", r.bitrate}});
  }
  o["renditions"] = std::move(reps);
  o["createdAt"] = IsoTime(v.created_at_ms);
  o["updatedAt"] = IsoTime(v.updated_at_ms);
  return o;
}

Result<Video> VideoService::CreateUpload(std::string title, std::string description,
                                         std::string file_name, std::string file_type,
                                         int64_t file_size) {
  Video v;
  const int64_t now = clock_.NowMs();
  v.id = NewId(now);
  v.title = std::move(title);
  v.description = std::move(description);
  v.file_name = std::move(file_name);
  v.file_type = std::move(file_type);
  v.file_size = file_size;
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
  json::object payload{{"videoId", v.id},
                       {"status", std::string(ToString(v.status))},
                       {"data", ToJson(v)}};
  if (!message.empty()) payload["message"] = message;
  bus_.Publish(Event{"video-status", v.id, json::serialize(payload)});
}

Result<std::optional<db::ConfirmResult>> VideoService::Confirm(const std::string& id) {
  VS_ASSIGN_OR_RETURN(auto r, videos_.ConfirmUpload(id));
  if (r && r->enqueued) {
    Announce(r->video, "upload confirmed; queued for processing");
    if (on_job_) on_job_();
  }
  return r;
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
  json::object payload{{"videoId", id}, {"progress", JsonNumber(std::floor(percent * 10) / 10)}, {"stage", stage}};
  bus_.Publish(Event{"processing-progress", id, json::serialize(payload)});
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
  bus_.Publish(Event{"video-status", id,
                     json::serialize(json::object{{"videoId", id}, {"status", "DELETED"}, {"data", nullptr}})});
  return true;
}

}  // namespace vs::service
