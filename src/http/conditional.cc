#include "http/conditional.h"

#include <algorithm>

namespace vs::http {
namespace {

// A decimal without sign, at most 19 digits (fits in uint64_t).
bool ParseNumber(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

ByteRange Satisfiable(uint64_t first, uint64_t last) {
  return ByteRange{ByteRange::Kind::kSatisfiable, first, last};
}

constexpr ByteRange kIgnored{ByteRange::Kind::kIgnored};
constexpr ByteRange kUnsatisfiable{ByteRange::Kind::kUnsatisfiable};

// "-N": the last N bytes.
ByteRange ParseSuffix(std::string_view n, uint64_t size) {
  uint64_t y = 0;
  if (!ParseNumber(n, &y)) return kIgnored;
  if (y == 0 || size == 0) return kUnsatisfiable;
  return Satisfiable(y >= size ? 0 : size - y, size - 1);
}

}  // namespace

bool EtagMatches(std::string_view header, std::string_view etag) {
  if (header == "*") return true;
  size_t pos = 0;
  while (pos < header.size()) {
    size_t comma = header.find(',', pos);
    std::string_view item = header.substr(pos, comma == std::string_view::npos ? header.npos : comma - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.substr(0, 2) == "W/") item.remove_prefix(2);
    if (item == etag) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

ByteRange ParseRange(std::string_view h, uint64_t size) {
  if (h.substr(0, 6) != "bytes=") return kIgnored;
  h.remove_prefix(6);
  if (h.find(',') != std::string_view::npos) return kIgnored;
  const size_t dash = h.find('-');
  if (dash == std::string_view::npos) return kIgnored;
  const std::string_view a = h.substr(0, dash), b = h.substr(dash + 1);
  if (a.empty()) return ParseSuffix(b, size);
  uint64_t x = 0, y = 0;
  if (!ParseNumber(a, &x)) return kIgnored;
  if (b.empty()) {
    y = size == 0 ? 0 : size - 1;
  } else if (!ParseNumber(b, &y) || y < x) {
    return kIgnored;
  }
  if (x >= size) return kUnsatisfiable;
  return Satisfiable(x, std::min(y, size - 1));
}

ConditionalAnswer AnswerConditional(const Headers& request_headers, std::string_view etag,
                                    uint64_t size) {
  ConditionalAnswer a;
  a.length = size;
  const std::string_view inm = request_headers.Get("If-None-Match");
  if (!inm.empty() && EtagMatches(inm, etag)) {
    a.status = 304;
    a.length = 0;
    return a;
  }
  const std::string_view range = request_headers.Get("Range");
  const std::string_view if_range = request_headers.Get("If-Range");
  if (range.empty() || (!if_range.empty() && if_range != etag)) return a;
  const ByteRange r = ParseRange(range, size);
  if (r.kind == ByteRange::Kind::kUnsatisfiable) {
    a.status = 416;
    a.length = 0;
    a.content_range = "bytes */" + std::to_string(size);
  } else if (r.kind == ByteRange::Kind::kSatisfiable) {
    a.status = 206;
    a.offset = r.first;
    a.length = r.last - r.first + 1;
    a.content_range = "bytes " + std::to_string(r.first) + "-" + std::to_string(r.last) + "/" +
                      std::to_string(size);
  }
  return a;
}

}  // namespace vs::http
