#include "core/ids.h"

#include <sys/random.h>

#include <cstdio>
#include <stdexcept>

namespace vs {

static void FillRandom(unsigned char* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(buf + got, n - got, 0);
    if (r < 0) throw std::runtime_error("getrandom failed");
    got += static_cast<size_t>(r);
  }
}

static std::string Hex(const unsigned char* p, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string s(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = kDigits[p[i] >> 4];
    s[2 * i + 1] = kDigits[p[i] & 15];
  }
  return s;
}

std::string NewId(int64_t now_ms) {
  unsigned char b[12];
  const uint32_t secs = static_cast<uint32_t>(now_ms / 1000);
  b[0] = secs >> 24;
  b[1] = secs >> 16;
  b[2] = secs >> 8;
  b[3] = secs;
  FillRandom(b + 4, 8);
  return Hex(b, 12);
}

bool IsValidId(std::string_view id) {
  if (id.size() != 24) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string RandomHex(int bytes) {
  std::string out;
  unsigned char buf[64];
  while (bytes > 0) {
    int n = bytes > 64 ? 64 : bytes;
    FillRandom(buf, n);
    out += Hex(buf, n);
    bytes -= n;
  }
  return out;
}

}  // namespace vs
