#include "service/playback_token.h"

#include <cstdlib>

#include "core/hmac.h"

namespace vs::service {
namespace {

std::string Mac(const std::string& secret, const std::string& video_id, const std::string& expires) {
  // Its own message shape: no upload or webhook signature can pass for one.
  return HmacSha256Hex(secret, "playback\n" + video_id + "\n" + expires);
}

}  // namespace

std::string SignPlayback(const std::string& secret, const std::string& video_id, int64_t expires_s) {
  const std::string expires = std::to_string(expires_s);
  return expires + "-" + Mac(secret, video_id, expires);
}

PlaybackCheck CheckPlayback(const std::string& secret, const std::string& video_id, const std::string& token,
                            int64_t now_s) {
  const int64_t expires_s = PlaybackExpiry(token);
  if (expires_s <= 0) return PlaybackCheck::kInvalid;
  const size_t dash = token.find('-');  // well-formed: PlaybackExpiry found it
  if (!ConstantTimeEquals(token.substr(dash + 1), Mac(secret, video_id, token.substr(0, dash))))
    return PlaybackCheck::kInvalid;
  if (expires_s <= now_s) return PlaybackCheck::kExpired;
  return PlaybackCheck::kValid;
}

int64_t PlaybackExpiry(const std::string& token) {
  const size_t dash = token.find('-');
  if (dash == 0 || dash == std::string::npos || dash > 19) return 0;
  const std::string expires = token.substr(0, dash);
  if (expires.find_first_not_of("0123456789") != std::string::npos) return 0;
  return std::strtoll(expires.c_str(), nullptr, 10);
}

std::string PlaybackPath(const std::string& token, const std::string& video_id, const std::string& file) {
  return "/media/t/" + token + "/" + video_id + "/" + file;
}

}  // namespace vs::service
