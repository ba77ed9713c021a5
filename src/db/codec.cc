#include "db/codec.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <system_error>

#include "db/repository.h"

namespace vs::db::internal {
namespace {

void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      // Bytes >= 0x80 pass through: the column stores whatever UTF-8 (or
      // not) the caller gave us, and decoding gives the same bytes back.
      out += ch;
    }
  }
  out += '"';
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// A strict reader for the small JSON subset the renditions column uses:
// arrays of flat objects whose values are strings, integers, booleans or null.
class JsonReader {
 public:
  explicit JsonReader(std::string_view s) : s_(s) {}

  void SkipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ == s_.size();
  }
  bool Consume(char c) {
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool Peek(char c) {
    SkipSpace();
    return pos_ < s_.size() && s_[pos_] == c;
  }

  bool ReadString(std::string* out) {
    if (!Consume('"')) return false;
    out->clear();
    while (pos_ < s_.size()) {
      const auto c = static_cast<unsigned char>(s_[pos_++]);
      if (c == '"') return true;
      if (c < 0x20) return false;
      if (c != '\\') {
        *out += static_cast<char>(c);
        continue;
      }
      if (pos_ >= s_.size()) return false;
      switch (s_[pos_++]) {
        case '"':
          *out += '"';
          break;
        case '\\':
          *out += '\\';
          break;
        case '/':
          *out += '/';
          break;
        case 'b':
          *out += '\b';
          break;
        case 'f':
          *out += '\f';
          break;
        case 'n':
          *out += '\n';
          break;
        case 'r':
          *out += '\r';
          break;
        case 't':
          *out += '\t';
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!ReadHex4(&cp)) return false;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t low = 0;
            if (s_.substr(pos_, 2) != "\\u") return false;
            pos_ += 2;
            if (!ReadHex4(&low) || low < 0xDC00 || low > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          AppendUtf8(*out, cp);
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  bool ReadInt(int64_t* out) {
    SkipSpace();
    const char* begin = s_.data() + pos_;
    const char* end = s_.data() + s_.size();
    auto [ptr, ec] = std::from_chars(begin, end, *out);
    if (ec != std::errc() || ptr == begin) return false;
    pos_ += static_cast<size_t>(ptr - begin);
    // "1.5" or "1e3" is not an integer; refuse rather than truncate.
    return pos_ >= s_.size() || (s_[pos_] != '.' && s_[pos_] != 'e' && s_[pos_] != 'E');
  }

  // Skips a value of a key this version does not know.
  bool SkipScalar() {
    SkipSpace();
    if (Peek('"')) {
      std::string ignored;
      return ReadString(&ignored);
    }
    for (std::string_view word : {"true", "false", "null"}) {
      if (s_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return true;
      }
    }
    int64_t ignored = 0;
    return ReadInt(&ignored);
  }

 private:
  bool ReadHex4(uint32_t* out) {
    if (pos_ + 4 > s_.size()) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<uint32_t>(c - 'A' + 10);
      else
        return false;
    }
    *out = v;
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

bool ReadIntField(JsonReader& r, int* out) {
  int64_t v = 0;
  if (!r.ReadInt(&v) || v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
    return false;
  *out = static_cast<int>(v);
  return true;
}

std::optional<RenditionInfo> ReadRendition(JsonReader& r) {
  RenditionInfo info;
  if (!r.Consume('{')) return std::nullopt;
  if (r.Consume('}')) return info;
  do {
    std::string key;
    if (!r.ReadString(&key) || !r.Consume(':')) return std::nullopt;
    bool ok = true;
    if (key == "id")
      ok = r.ReadString(&info.id);
    else if (key == "name")
      ok = r.ReadString(&info.name);
    else if (key == "width")
      ok = ReadIntField(r, &info.width);
    else if (key == "height")
      ok = ReadIntField(r, &info.height);
    else if (key == "bitrate")
      ok = r.ReadInt(&info.bitrate);
    else
      ok = r.SkipScalar();
    if (!ok) return std::nullopt;
  } while (r.Consume(','));
  if (!r.Consume('}')) return std::nullopt;
  return info;
}

constexpr char kBase64UrlAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int Base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// Decimal int64 in canonical form (no sign on zero, no leading zeros, no '+').
std::optional<int64_t> ParseCanonicalInt(std::string_view s) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  if (std::to_string(v) != s) return std::nullopt;
  return v;
}

constexpr size_t kMaxCursorIdBytes = 256;

}  // namespace

std::string EncodeRenditions(const std::vector<RenditionInfo>& renditions) {
  std::string out = "[";
  for (size_t i = 0; i < renditions.size(); ++i) {
    const RenditionInfo& r = renditions[i];
    if (i > 0) out += ',';
    out += "{\"id\":";
    AppendJsonString(out, r.id);
    out += ",\"name\":";
    AppendJsonString(out, r.name);
    out += ",\"width\":" + std::to_string(r.width);
    out += ",\"height\":" + std::to_string(r.height);
    out += ",\"bitrate\":" + std::to_string(r.bitrate);
    out += '}';
  }
  out += ']';
  return out;
}

std::optional<std::vector<RenditionInfo>> DecodeRenditions(std::string_view json) {
  JsonReader r(json);
  std::vector<RenditionInfo> out;
  if (!r.Consume('[')) return std::nullopt;
  if (!r.Consume(']')) {
    do {
      std::optional<RenditionInfo> info = ReadRendition(r);
      if (!info) return std::nullopt;
      out.push_back(std::move(*info));
    } while (r.Consume(','));
    if (!r.Consume(']')) return std::nullopt;
  }
  if (!r.AtEnd()) return std::nullopt;
  return out;
}

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kBase64UrlAlphabet[(v >> 18) & 63];
    out += kBase64UrlAlphabet[(v >> 12) & 63];
    out += kBase64UrlAlphabet[(v >> 6) & 63];
    out += kBase64UrlAlphabet[v & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest == 1) {
    const uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    out += kBase64UrlAlphabet[(v >> 18) & 63];
    out += kBase64UrlAlphabet[(v >> 12) & 63];
  } else if (rest == 2) {
    const uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += kBase64UrlAlphabet[(v >> 18) & 63];
    out += kBase64UrlAlphabet[(v >> 12) & 63];
    out += kBase64UrlAlphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = Base64UrlValue(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  // Leftover bits must be zero, or two spellings would decode alike.
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

bool IsStorableVideoId(std::string_view id) {
  if (id.empty() || id.size() > kMaxCursorIdBytes) return false;
  return std::none_of(id.begin(), id.end(),
                      [](char ch) { return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F; });
}

std::string EncodeVideoCursor(const VideoCursor& c) {
  return Base64UrlEncode("v:" + std::to_string(c.created_at_ms) + ":" + c.id);
}

std::optional<VideoCursor> DecodeVideoCursor(std::string_view cursor) {
  std::optional<std::string> raw = Base64UrlDecode(cursor);
  if (!raw || raw->substr(0, 2) != "v:") return std::nullopt;
  const size_t colon = raw->find(':', 2);
  if (colon == std::string::npos) return std::nullopt;
  std::optional<int64_t> ms = ParseCanonicalInt(std::string_view(*raw).substr(2, colon - 2));
  std::string id = raw->substr(colon + 1);
  if (!ms || !IsStorableVideoId(id)) return std::nullopt;
  return VideoCursor{*ms, std::move(id)};
}

std::string EncodeNotificationCursor(int64_t last_id) {
  return Base64UrlEncode("n:" + std::to_string(last_id));
}

std::optional<int64_t> DecodeNotificationCursor(std::string_view cursor) {
  std::optional<std::string> raw = Base64UrlDecode(cursor);
  if (!raw || raw->substr(0, 2) != "n:") return std::nullopt;
  std::optional<int64_t> id = ParseCanonicalInt(std::string_view(*raw).substr(2));
  if (!id || *id <= 0) return std::nullopt;
  return id;
}

int ClampLimit(int limit) { return std::clamp(limit, 1, kMaxPageSize); }

}  // namespace vs::db::internal
