// Identifiers: 24 lower-case hex characters, increasing with time (4 bytes of
// seconds, then 8 random bytes), shaped like MongoDB ObjectIds so clients of
// the original API see familiar ids. Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vs {

std::string NewId(int64_t now_ms);
bool IsValidId(std::string_view id);
// `bytes` random bytes as lower-case hex (for secrets and tokens).
std::string RandomHex(int bytes);

}  // namespace vs
