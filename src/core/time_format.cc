#include "core/time_format.h"

#include <cstdio>
#include <ctime>

namespace vs {
namespace {

std::string Format(int64_t ms, const char* fmt) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), fmt, &tm);
  return buf;
}

}  // namespace

std::string HttpDate(int64_t ms) { return Format(ms, "%a, %d %b %Y %H:%M:%S GMT"); }

std::string IsoTime(int64_t ms) {
  char out[48];
  snprintf(out, sizeof(out), "%s.%03dZ", Format(ms, "%Y-%m-%dT%H:%M:%S").c_str(),
           static_cast<int>(ms % 1000));
  return out;
}

}  // namespace vs
