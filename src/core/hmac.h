// HMAC-SHA256 signatures (presigned upload URLs, webhooks, playback tokens)
// and SHA-256 digests (uploads). Thread-safe; a Sha256Stream has one owner.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace vs {

// Lower-case hex HMAC-SHA256 of `data` under `key`.
std::string HmacSha256Hex(std::string_view key, std::string_view data);
// Lower-case hex SHA-256.
std::string Sha256Hex(std::string_view data);
// SHA-256 of data that arrives in pieces (an upload as it streams in).
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(const char* data, size_t n);
  // Lower-case hex of everything given so far; the stream is spent after.
  std::string HexDigest();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Lower-case hex SHA-256 of a file's bytes, read in bounded pieces.
Result<std::string> Sha256OfFile(const std::string& path);

// How a job pins the bytes it was confirmed for by their digest
// ("sha256:<hex>"; see Job::source_etag), as opposed to a store's ETag.
inline constexpr std::string_view kSha256PinPrefix = "sha256:";
inline std::string Sha256Pin(std::string_view hex) { return std::string(kSha256PinPrefix).append(hex); }

// Compares in time that depends only on the lengths (no early exit on the
// first differing byte), so signatures cannot be guessed byte by byte.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace vs
