// UTC timestamps as text. Thread-safe.
#pragma once

#include <cstdint>
#include <string>

namespace vs {

// RFC 9110 HTTP-date, e.g. "Wed, 25 Nov 2026 13:10:35 GMT".
std::string HttpDate(int64_t epoch_ms);
// ISO 8601 with milliseconds, e.g. "2026-11-25T13:10:35.123Z".
std::string IsoTime(int64_t epoch_ms);

}  // namespace vs
