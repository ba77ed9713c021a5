// The video lifecycle, shared by the API and the workers: every status change
// is a guarded conditional update, recorded as a notification and published
// on the event bus, in that order. Thread-safe (its dependencies are).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>


#include "core/clock.h"
#include "core/event_bus.h"
#include "core/result.h"
#include "core/video.h"
#include "db/repository.h"
#include "service/playback_token.h"
#include "store/object_store.h"

namespace vs::service {

inline constexpr const char* kNotFoundCode = "not_found";
inline constexpr const char* kNotRetryable = "not_retryable";
inline constexpr const char* kSourceMissing = "source_missing";
inline constexpr const char* kJobRunning = "job_running";
inline constexpr const char* kMediaMissing = "media_missing";
inline constexpr uint64_t kStorageMargin = 16ULL << 20;  // 16 MiB

struct UrlConfig {
  std::string public_url;    // e.g. "https://video.example.com"; empty = relative URLs
  std::string cdn_base_url;  // when set, media URLs point there instead
  std::string playback_secret;       // signs private videos' playback tokens
  int64_t playback_ttl_s = 4 * 3600;  // their life
};

// Where a player streams a video from; expires_ms 0 = the URLs do not expire.
struct PlaybackUrls {
  std::string dash, hls, thumbnail;
  int64_t expires_ms = 0;
};

struct ReadyInfo {
  double duration = 0;
  int width = 0;
  int height = 0;
  std::vector<RenditionInfo> renditions;
};

// What a remote worker reports through the signed webhook.
struct RemoteResult {
  std::string video_id;
  bool ready = false;  // else it failed, for `error`
  ReadyInfo info;
  std::string error;
  // The delivery's dedupe keys (the sender's delivery id, the signature):
  // it is applied only when none was recorded before.
  std::vector<std::string> delivery_keys;
};

struct RemoteOutcome {
  Video video;  // as it is now, moved or not
  bool applied = false;
  bool duplicate = false;  // a delivery seen before: nothing was done
};

// VideoService::CheckRoomFor's rule: `bytes` more must leave kStorageMargin
// of `free` (nullopt: the store cannot tell, and nothing is refused).
Status RoomFor(uint64_t bytes, std::optional<uint64_t> free);

std::string RawKey(const std::string& id);        // raw/<id>/source
std::string ProcessedPrefix(const std::string& id);  // processed/<id>/

class VideoService {
 public:
  // `jobs` (this system's queue) is asked by ApplyRemoteResult; without it
  // no video is taken for being processed here.
  VideoService(db::VideoRepository& videos, db::NotificationRepository& notifications,
               store::ObjectStore& store, EventBus& bus, const Clock& clock, UrlConfig urls,
               db::JobQueue* jobs = nullptr);

  // `owner_id` empty: an anonymous upload (ANONYMOUS_UPLOADS).
  Result<Video> CreateUpload(std::string title, std::string description, std::string file_name,
                             std::string file_type, int64_t file_size, std::string owner_id = {},
                             Visibility visibility = Visibility::kPublic);
  // UPLOADING/ERROR -> UPLOADED + job, in one transaction; idempotent. The
  // job carries `source_etag`, the ETag of the upload as the caller checked
  // it: the worker refuses a source that has changed since.
  Result<std::optional<db::ConfirmResult>> Confirm(const std::string& id,
                                                   const std::string& source_etag);
  // A second chance for a video in ERROR (its owner's or an operator's):
  // UPLOADED again with a new job and a fresh attempt budget, on the upload
  // as it is stored. nullopt when the video does not exist; kConflict errors
  // "not_retryable" (not in ERROR) and "source_missing" (the upload is gone).
  Result<std::optional<Video>> Retry(const std::string& id);
  // Claimed by a worker: UPLOADED (or PROCESSING after a crash) -> PROCESSING.
  Result<std::optional<Video>> MarkProcessing(const std::string& id, int attempt);
  // Progress from the transcoder: stored (rounded, monotonic) and published.
  void ReportProgress(const std::string& id, double percent, const std::string& stage);
  Result<std::optional<Video>> MarkReady(const std::string& id, const ReadyInfo& info);
  // Terminal failure with a reason a person can read.
  Result<std::optional<Video>> MarkError(const std::string& id, const std::string& reason);
  // A remote worker's report (the webhook), applied only when it cannot
  // discard work of this system's own: kConflict "job_running" while a job
  // for the video is queued or running in the queue; for ready, kConflict
  // "media_missing" unless manifest.mpd and master.m3u8 are in storage.
  // Then, once per delivery (RemoteResult::delivery_keys), MarkReady or
  // MarkError. nullopt when the video does not exist. Refusals record no
  // delivery, so the sender may retry them under the same id.
  Result<std::optional<RemoteOutcome>> ApplyRemoteResult(const RemoteResult& r);
  // A failed attempt that will be retried: PROCESSING -> UPLOADED.
  Result<std::optional<Video>> Requeue(const std::string& id, const std::string& reason);
  // Deletes the row, the raw upload and every processed file.
  Result<bool> Delete(const std::string& id);

  // Edits the title, the description and/or the visibility (nullopt leaves
  // one as it is); not a status change, so nothing is recorded and no
  // video-status is published. With a visibility, kVideoAccessEvent is
  // published (after the change is stored): live clients of the video are
  // checked again. nullopt when the video does not exist.
  Result<std::optional<Video>> UpdateMetadata(const std::string& id,
                                              const std::optional<std::string>& title,
                                              const std::optional<std::string>& description,
                                              const std::optional<Visibility>& visibility = std::nullopt);

  // Reads, for the API and the worker, as the repositories answer them.
  Result<std::optional<Video>> Get(const std::string& id);
  // Newest first, filtered and paged as db::VideoRepository::List.
  Result<Page<Video>> List(const db::ListQuery& q);
  // Every status with its count (zeros included), in kAllVideoStatuses order.
  // (Of the videos `audience` may list.)
  Result<std::vector<std::pair<VideoStatus, int64_t>>> CountByStatus(const db::Audience& audience = {});
  // The status-change history, newest first; video_id empty = all videos
  // `audience` may list.
  Result<Page<Notification>> Notifications(int limit, const std::string& cursor, const std::string& video_id,
                                           const db::Audience& audience = {});

  // The uploaded source (RawKey): its size and ETag, a writer for the bytes
  // this server receives, and a URL the client may PUT them to directly
  // (nullopt when the store hands out none: the bytes then come here).
  Result<store::ObjectInfo> StatSource(const std::string& id);
  Result<std::unique_ptr<store::ObjectWriter>> OpenSourceWriter(const std::string& id);
  // Keeps the SHA-256 of the source this server received as it streamed in
  // (beside it, under RawKey + ".sha256").
  Status RecordSourceDigest(const std::string& id, const std::string& hex);
  // What a job pins the source `st` (as Stat just saw it) by: "sha256:<hex>"
  // when this server took the bytes (the recorded digest, or one computed
  // now if the record is missing) or the store is local; else (a client PUT
  // straight to S3) the store's ETag.
  Result<std::string> SourcePin(const std::string& id, const store::ObjectInfo& st);
  // kInsufficientStorage "insufficient_storage" when the store can tell that
  // `bytes` more would leave it less than kStorageMargin free (room for the
  // database, temporaries and outputs); ok when it has room or cannot tell.
  Status CheckRoomFor(uint64_t bytes) { return RoomFor(bytes, store_.FreeBytes()); }
  std::optional<std::string> PresignUpload(const std::string& id, const std::string& content_type,
                                           int64_t ttl_s);

  // A processed file (ProcessedPrefix + file): its size and ETag, its path
  // when the store is the local disk, and a ranged reader otherwise.
  Result<store::ObjectInfo> StatMedia(const std::string& id, const std::string& file);
  std::optional<std::string> MediaLocalPath(const std::string& id, const std::string& file);
  Result<std::unique_ptr<store::ObjectReader>> OpenMedia(const std::string& id, const std::string& file,
                                                         uint64_t offset, uint64_t length);

  // Media URLs: CDN base, else the public URL, else `request_base` (from the
  // request's Host), else relative.
  std::string MediaUrl(const std::string& id, std::string_view file,
                       std::string_view request_base = {}) const;
  // The same for a video as it is: a private video's files under a playback
  // token (playback_token.h) valid for UrlConfig::playback_ttl_s or a little
  // more (expiries are rounded up to 10 minutes, so a CDN sees one URL per
  // file for a while).
  std::string MediaUrlFor(const Video& v, std::string_view file, std::string_view request_base = {}) const;
  PlaybackUrls PlaybackFor(const Video& v, std::string_view request_base = {}) const;
  PlaybackCheck CheckPlaybackToken(const std::string& id, const std::string& token, int64_t now_s) const;
  // The public JSON view of a video (the API's and the events' "data"),
  // written straight as text: it is on the hottest read path.
  std::string JsonText(const Video& v, std::string_view request_base = {}) const;
  void AppendJson(std::string& out, const Video& v, std::string_view request_base = {}) const;

  // Called after a job was enqueued (wakes idle embedded workers).
  void SetJobListener(std::function<void()> fn) { on_job_ = std::move(fn); }

  const Clock& clock() const { return clock_; }

 private:
  Result<std::optional<Video>> Move(const std::string& id, const std::vector<VideoStatus>& from,
                                    VideoStatus to, const db::StatusPatch& patch,
                                    const std::string& message);
  void Announce(const Video& v, const std::string& message);

  db::VideoRepository& videos_;
  db::NotificationRepository& notifications_;
  store::ObjectStore& store_;
  EventBus& bus_;
  const Clock& clock_;
  UrlConfig urls_;
  db::JobQueue* jobs_;
  std::function<void()> on_job_;
};


}  // namespace vs::service
