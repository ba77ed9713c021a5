#include "db/repository_common.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace vs::db::internal {

int64_t AddMs(int64_t now, int64_t ms) {
  if (ms > 0 && now > std::numeric_limits<int64_t>::max() - ms)
    return std::numeric_limits<int64_t>::max();
  if (ms < 0 && now < std::numeric_limits<int64_t>::min() - ms)
    return std::numeric_limits<int64_t>::min();
  return now + ms;
}

double Finite(double v) { return std::isfinite(v) ? v : 0.0; }

double ClampProgress(double v) { return std::isnan(v) ? 0.0 : std::clamp(v, 0.0, 100.0); }

std::optional<JobState> ParseJobState(std::string_view s) {
  for (JobState st : {JobState::kQueued, JobState::kRunning, JobState::kDone, JobState::kFailed,
                      JobState::kCancelled})
    if (ToString(st) == s) return st;
  return std::nullopt;
}

std::string_view SearchText(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t\r\n\f\v");
  if (first == std::string_view::npos) return {};
  text = text.substr(first);
  if (text.size() > kMaxSearchBytes) {
    size_t cut = kMaxSearchBytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text = text.substr(0, cut);
  }
  return text;
}

std::vector<VideoStatus> AllowedFrom(const std::vector<VideoStatus>& from, VideoStatus to) {
  std::vector<VideoStatus> allowed;
  for (VideoStatus s : from)
    if (CanTransition(s, to) && std::find(allowed.begin(), allowed.end(), s) == allowed.end())
      allowed.push_back(s);
  return allowed;
}

Result<std::optional<VideoCursor>> ParseVideoCursor(const std::string& cursor) {
  if (cursor.empty()) return std::optional<VideoCursor>();
  std::optional<VideoCursor> c = DecodeVideoCursor(cursor);
  if (!c) return MakeError(ErrorKind::kInvalid, kBadCursor, "malformed cursor");
  return c;
}

Result<std::optional<int64_t>> ParseNotificationCursor(const std::string& cursor) {
  if (cursor.empty()) return std::optional<int64_t>();
  std::optional<int64_t> id = DecodeNotificationCursor(cursor);
  if (!id) return MakeError(ErrorKind::kInvalid, kBadCursor, "malformed cursor");
  return id;
}

std::vector<std::pair<VideoStatus, int64_t>> ZeroStatusCounts() {
  std::vector<std::pair<VideoStatus, int64_t>> out;
  for (VideoStatus st : kAllVideoStatuses) out.emplace_back(st, 0);
  return out;
}

std::string SqliteNumbered(std::string_view pg_sql) {
  std::string out(pg_sql);
  for (size_t i = 0; i + 1 < out.size(); ++i)
    if (out[i] == '$' && out[i + 1] >= '0' && out[i + 1] <= '9') out[i] = '?';
  return out;
}

JobStats ZeroJobStats() {
  JobStats stats;
  for (JobState st : kAllJobStates) stats.counts.emplace_back(st, 0);
  return stats;
}

Status SetStatusCount(std::vector<std::pair<VideoStatus, int64_t>>& counts, std::string_view status,
                      int64_t count) {
  std::optional<VideoStatus> st = ParseVideoStatus(status);
  if (!st) return DbError("unknown status " + std::string(status));
  for (auto& [s, n] : counts)
    if (s == *st) n = count;
  return {};
}

}  // namespace vs::db::internal
