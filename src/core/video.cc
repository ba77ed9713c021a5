#include "core/video.h"

#include <algorithm>
#include <cctype>

namespace vs {

std::string_view ToString(VideoStatus s) {
  switch (s) {
    case VideoStatus::kUploading: return "UPLOADING";
    case VideoStatus::kUploaded: return "UPLOADED";
    case VideoStatus::kProcessing: return "PROCESSING";
    case VideoStatus::kReady: return "READY";
    case VideoStatus::kError: return "ERROR";
  }
  return "ERROR";
}

std::optional<VideoStatus> ParseVideoStatus(std::string_view s) {
  std::string up(s);
  std::transform(up.begin(), up.end(), up.begin(), [](unsigned char c) { return std::toupper(c); });
  for (VideoStatus v : kAllVideoStatuses)
    if (ToString(v) == up) return v;
  return std::nullopt;
}

bool CanTransition(VideoStatus from, VideoStatus to) {
  using S = VideoStatus;
  switch (from) {
    case S::kUploading: return to == S::kUploaded || to == S::kError;
    case S::kUploaded: return to == S::kProcessing || to == S::kError || to == S::kReady;
    case S::kProcessing:
      // PROCESSING -> UPLOADED: a job handed back to the queue (shutdown,
      // retry). PROCESSING -> PROCESSING: a job re-claimed after its worker
      // died (lease expired).
      return to == S::kReady || to == S::kError || to == S::kUploaded || to == S::kProcessing;
    case S::kReady: return false;
    case S::kError: return to == S::kUploaded;
  }
  return false;
}

std::string_view ToString(Visibility v) {
  switch (v) {
    case Visibility::kPublic: return "public";
    case Visibility::kUnlisted: return "unlisted";
    case Visibility::kPrivate: return "private";
  }
  return "private";
}

std::optional<Visibility> ParseVisibility(std::string_view s) {
  for (Visibility v : kAllVisibilities)
    if (ToString(v) == s) return v;
  return std::nullopt;
}

std::string_view ToString(JobState s) {
  switch (s) {
    case JobState::kQueued: return "queued";
    case JobState::kRunning: return "running";
    case JobState::kDone: return "done";
    case JobState::kFailed: return "failed";
    case JobState::kCancelled: return "cancelled";
  }
  return "failed";
}

}  // namespace vs
