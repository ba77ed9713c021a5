// Conditional and partial GETs of a stored representation (ETag, Range,
// If-None-Match, If-Range; RFC 9110 §13-14), for the media files. Pure
// functions; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "http/http.h"

namespace vs::http {

// Whether an If-None-Match value ("*" or a list of tags, weak ones
// compared as strong) names `etag`.
bool EtagMatches(std::string_view header, std::string_view etag);

// A "Range" header read against a representation of `size` bytes. Only one
// "bytes=" range is served; anything else (absent, malformed, several
// ranges) is ignored and the whole body sent.
struct ByteRange {
  enum class Kind { kIgnored, kSatisfiable, kUnsatisfiable };
  Kind kind = Kind::kIgnored;
  uint64_t first = 0;  // inclusive, when satisfiable
  uint64_t last = 0;   // inclusive, when satisfiable
};
ByteRange ParseRange(std::string_view header, uint64_t size);

// How to answer a GET for a representation with `etag` and `size` bytes,
// given the request's If-None-Match, Range and If-Range headers.
struct ConditionalAnswer {
  int status = 200;     // 200, 206 (partial), 304 (not modified) or 416 (unsatisfiable)
  uint64_t offset = 0;  // the body to send (200 and 206)
  uint64_t length = 0;
  std::string content_range;  // for 206 and 416
};
ConditionalAnswer AnswerConditional(const Headers& request_headers, std::string_view etag,
                                    uint64_t size);

}  // namespace vs::http
