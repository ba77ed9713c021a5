// Playback tokens for private videos: an expiring HMAC over one video id, so
// every file of that video (manifests, segments, thumbnail) is reachable
// under /media/t/<token>/<id>/<file> while it is valid. The token travels as
// a path segment, so the relative segment URLs in the manifests keep it and
// a CDN in front caches each token's files as their own URLs (as CDN signed
// URLs do). Thread-safe.
#pragma once

#include <cstdint>
#include <string>

namespace vs::service {

// "<expires, seconds since the epoch>-<hex HMAC-SHA256>".
std::string SignPlayback(const std::string& secret, const std::string& video_id, int64_t expires_s);

enum class PlaybackCheck { kValid, kExpired, kInvalid };
// Constant-time in the signature; kExpired only for a token that was valid.
PlaybackCheck CheckPlayback(const std::string& secret, const std::string& video_id, const std::string& token,
                            int64_t now_s);

// The expiry a well-formed token names (seconds since the epoch); 0 when
// malformed. Says nothing of its validity: CheckPlayback first.
int64_t PlaybackExpiry(const std::string& token);

// The path a private video's file is served at with `token`.
std::string PlaybackPath(const std::string& token, const std::string& video_id, const std::string& file);

}  // namespace vs::service
