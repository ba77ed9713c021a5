// Value encodings both database adapters share, so that rows and cursors
// look the same whichever database holds them: the renditions column codec
// and the opaque list cursors. Internal to the db module (the tests reach
// them directly).
//
// Pure functions: thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/video.h"

namespace vs::db::internal {

// The renditions column holds JSON (an array of objects with id, name, width,
// height, bitrate) so that it stays readable with the database's own shell
// and JSON functions. Decoding ignores unknown keys (rows written by a newer
// binary) and returns nullopt for anything that is not such an array.
std::string EncodeRenditions(const std::vector<RenditionInfo>& renditions);
std::optional<std::vector<RenditionInfo>> DecodeRenditions(std::string_view json);

// RFC 4648 base64url without padding. Decoding is strict: only canonical
// encodings are accepted, so every cursor has exactly one spelling.
std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);

// Keyset position of the last video on a page.
struct VideoCursor {
  int64_t created_at_ms = 0;
  std::string id;
};
// Ids a video cursor can carry: 1..256 bytes without control characters.
// Create enforces the same rule, so every stored video can be paged past.
bool IsStorableVideoId(std::string_view id);
std::string EncodeVideoCursor(const VideoCursor& c);
std::optional<VideoCursor> DecodeVideoCursor(std::string_view cursor);
std::string EncodeNotificationCursor(int64_t last_id);
std::optional<int64_t> DecodeNotificationCursor(std::string_view cursor);

// Page sizes are clamped to 1..kMaxPageSize.
inline constexpr int kMaxPageSize = 100;
int ClampLimit(int limit);

}  // namespace vs::db::internal
