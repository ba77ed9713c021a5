// HMAC-SHA256 signatures: presigned upload URLs and webhooks. Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace vs {

// Lower-case hex HMAC-SHA256 of `data` under `key`.
std::string HmacSha256Hex(std::string_view key, std::string_view data);
// Lower-case hex SHA-256.
std::string Sha256Hex(std::string_view data);
// Compares in time that depends only on the lengths (no early exit on the
// first differing byte), so signatures cannot be guessed byte by byte.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace vs
