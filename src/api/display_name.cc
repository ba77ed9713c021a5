#include "api/display_name.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>

namespace vs::api {
namespace {

// Decodes one UTF-8 sequence at `s[i]`; its code point and length, or
// length 0 for a malformed one (overlong, surrogate, truncated).
std::pair<char32_t, size_t> Decode(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return {c, 1};
  const size_t n = c >= 0xF0 ? (c <= 0xF4 ? 4 : 0) : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return {0, 0};
  char32_t cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return {0, 0};
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  const bool overlong = (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
  if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {0, 0};
  return {cp, n};
}

// Characters that change how the text around them is shown, or are not
// shown at all: C0/C1 controls, bidi embeddings, overrides, isolates and
// marks, zero-width characters, line/paragraph separators, the BOM.
bool Invisible(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x061C || (cp >= 0x200B && cp <= 0x200F) ||
         (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x2064) ||
         (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
}

// The characters of `name` that may be shown; tabs and line breaks as spaces.
std::string Visible(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (size_t i = 0; i < name.size();) {
    const auto [cp, n] = Decode(name, i);
    if (n == 0) {
      ++i;
      continue;
    }
    if (cp == '\t' || cp == '\n' || cp == '\r' || cp == '\v' || cp == '\f') {
      out += ' ';
    } else if (!Invisible(cp)) {
      out.append(name.substr(i, n));
    }
    i += n;
  }
  return out;
}

bool IsWindowsDevice(std::string_view name) {
  std::string base(name.substr(0, name.find('.')));
  while (!base.empty() && base.back() == ' ') base.pop_back();
  std::transform(base.begin(), base.end(), base.begin(), [](unsigned char c) { return std::toupper(c); });
  static constexpr std::array<std::string_view, 4> kPlain = {"CON", "PRN", "AUX", "NUL"};
  if (std::find(kPlain.begin(), kPlain.end(), base) != kPlain.end()) return true;
  return base.size() == 4 && (base.starts_with("COM") || base.starts_with("LPT")) && base[3] >= '1' &&
         base[3] <= '9';
}

// The longest prefix of `s` of at most `max` bytes that ends on a
// character boundary.
std::string_view CutUtf8(std::string_view s, size_t max) {
  if (s.size() <= max) return s;
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end);
}

}  // namespace

std::string DisplayFileName(std::string_view name) {
  std::string s = Visible(name);
  // The last path component, for either separator.
  if (auto sep = s.find_last_of("/\\"); sep != std::string::npos) s.erase(0, sep + 1);
  // A drive prefix that is left ("C:clip.mp4").
  if (s.size() >= 2 && s[1] == ':' && std::isalpha(static_cast<unsigned char>(s[0]))) s.erase(0, 2);
  // Windows drops trailing dots and spaces; leading spaces hide in lists.
  while (!s.empty() && (s.back() == ' ' || s.back() == '.')) s.pop_back();
  s.erase(0, std::min(s.find_first_not_of(' '), s.size()));
  if (s.empty()) return "video";
  // No dotfiles: ".mp4" is a video without a name.
  if (s.front() == '.') s.insert(0, "video");
  if (IsWindowsDevice(s)) s.insert(0, "_");
  if (s.size() > kMaxDisplayNameBytes) {
    const size_t dot = s.rfind('.');
    const size_t ext_len = dot == std::string::npos ? 0 : s.size() - dot;
    if (ext_len > 0 && ext_len <= 16) {
      const std::string ext = s.substr(dot);
      s = std::string(CutUtf8(std::string_view(s).substr(0, dot), kMaxDisplayNameBytes - ext_len)) + ext;
    } else {
      s = std::string(CutUtf8(s, kMaxDisplayNameBytes));
    }
  }
  return s;
}

}  // namespace vs::api
