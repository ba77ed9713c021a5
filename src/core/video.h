// Domain types shared by every module: the video, its status state machine,
// notifications (status history) and processing jobs. Plain values; no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vs {

// UPLOADING -> UPLOADED -> PROCESSING -> READY, or ERROR with a reason.
enum class VideoStatus { kUploading, kUploaded, kProcessing, kReady, kError };

inline constexpr VideoStatus kAllVideoStatuses[] = {VideoStatus::kUploading, VideoStatus::kUploaded,
                                                    VideoStatus::kProcessing, VideoStatus::kReady,
                                                    VideoStatus::kError};

// "UPLOADING", "UPLOADED", "PROCESSING", "READY", "ERROR".
std::string_view ToString(VideoStatus s);
// Case-insensitive; also accepts the original's lower-case spellings.
std::optional<VideoStatus> ParseVideoStatus(std::string_view s);

// Whether a guarded update may move a video from `from` to `to`. READY is
// final (the original's `$ne: READY` guard); ERROR may be retried only by a
// new upload confirmation (ERROR -> UPLOADED).
bool CanTransition(VideoStatus from, VideoStatus to);

// Who may see a video. kPublic: listed, searchable, playable by anyone;
// kUnlisted: readable by anyone who has its id, never listed or searched for
// others; kPrivate: its owner and admins only.
enum class Visibility { kPublic, kUnlisted, kPrivate };

inline constexpr Visibility kAllVisibilities[] = {Visibility::kPublic, Visibility::kUnlisted,
                                                  Visibility::kPrivate};

// "public", "unlisted", "private" (also the database's spelling).
std::string_view ToString(Visibility v);
// The exact lower-case names only; nullopt otherwise.
std::optional<Visibility> ParseVisibility(std::string_view s);

struct RenditionInfo {
  std::string id;    // representation id in file names
  std::string name;  // "1080p", "audio"
  int width = 0;
  int height = 0;
  int64_t bitrate = 0;
};

struct Video {
  std::string id;  // 24 hex chars, time-ordered (like a MongoDB ObjectId)
  std::string title;
  std::string description;
  std::string file_name;  // as the user named it; never used as a path
  std::string file_type;  // MIME type declared at upload
  int64_t file_size = 0;
  VideoStatus status = VideoStatus::kUploading;
  std::string error_message;
  double progress = 0;  // 0..100 while processing
  double duration = 0;  // seconds
  int width = 0;
  int height = 0;
  std::vector<RenditionInfo> renditions;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  // A user id; empty = no owner (made before accounts existed, or an
  // anonymous upload).
  std::string owner_id;
  Visibility visibility = Visibility::kPublic;
};

struct Notification {
  int64_t id = 0;  // increasing
  std::string video_id;
  VideoStatus status = VideoStatus::kUploading;
  std::string message;
  int64_t created_at_ms = 0;
};

enum class JobState { kQueued, kRunning, kDone, kFailed, kCancelled };
inline constexpr JobState kAllJobStates[] = {JobState::kQueued, JobState::kRunning, JobState::kDone,
                                             JobState::kFailed, JobState::kCancelled};
std::string_view ToString(JobState s);

struct Job {
  int64_t id = 0;
  std::string video_id;
  JobState state = JobState::kQueued;
  int attempts = 0;      // claims so far
  int max_attempts = 3;
  int64_t run_after_ms = 0;  // not claimable before (retry backoff)
  std::string lease_owner;
  int64_t lease_expires_ms = 0;
  std::string last_error;
  // The bytes the upload was confirmed for: "sha256:<hex>" (their digest,
  // when this server received them) or the store's ETag (a client PUT
  // straight to S3, where a later PUT to a still-valid URL replaces the
  // object). The worker transcodes only those bytes. Empty for jobs queued
  // before it was recorded.
  std::string source_etag;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

// A page of a newest-first listing; next_cursor is empty on the last page.
template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_cursor;
};

}  // namespace vs
