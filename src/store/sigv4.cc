#include "store/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

#include "core/hmac.h"

namespace vs::store::sigv4 {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

// Raw (binary) HMAC-SHA256: the key derivation chains raw digests, which the
// hex helper in core cannot do.
std::string HmacRaw(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string Hex(std::string_view raw) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

// Trims both ends and folds runs of spaces into one, as SigV4 asks.
std::string CanonicalValue(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// Lower-cased names → values (repeated names joined with ','), host first
// among equals since it is always signed.
std::map<std::string, std::string> CanonicalHeaderMap(const Request& r) {
  std::map<std::string, std::string> m;
  m["host"] = CanonicalValue(r.host);
  for (const auto& [name, value] : r.headers) {
    std::string n = AsciiLower(CanonicalValue(name));
    if (n == "host") continue;
    auto [it, inserted] = m.emplace(n, CanonicalValue(value));
    if (!inserted) it->second += "," + CanonicalValue(value);
  }
  return m;
}

std::string CanonicalQuery(const Fields& query) {
  std::vector<std::pair<std::string, std::string>> enc;
  enc.reserve(query.size());
  for (const auto& [k, v] : query) {
    if (k == "X-Amz-Signature") continue;
    enc.emplace_back(UriEncode(k, false), UriEncode(v, false));
  }
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [k, v] : enc) {
    if (!out.empty()) out += '&';
    out += k + "=" + v;
  }
  return out;
}

std::string ScopeString(std::string_view amz_date, const Scope& scope) {
  return std::string(amz_date.substr(0, 8)) + "/" + scope.region + "/" + scope.service +
         "/aws4_request";
}

}  // namespace

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string UriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 15];
    }
  }
  return out;
}

std::string AmzDate(int64_t epoch_s) {
  const time_t t = static_cast<time_t>(epoch_s);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string CanonicalRequest(const Request& r) {
  std::string out = r.method + "\n" + r.path + "\n" + CanonicalQuery(r.query) + "\n";
  for (const auto& [name, value] : CanonicalHeaderMap(r)) out += name + ":" + value + "\n";
  out += "\n" + SignedHeaderNames(r) + "\n" + r.payload_hash;
  return out;
}

std::string SignedHeaderNames(const Request& r) {
  std::string out;
  for (const auto& entry : CanonicalHeaderMap(r)) {
    if (!out.empty()) out += ';';
    out += entry.first;
  }
  return out;
}

std::string StringToSign(std::string_view amz_date, const Scope& scope,
                         std::string_view canonical_request) {
  return std::string(kAlgorithm) + "\n" + std::string(amz_date) + "\n" +
         ScopeString(amz_date, scope) + "\n" + Sha256Hex(canonical_request);
}

std::string Sign(std::string_view secret, std::string_view amz_date, const Scope& scope,
                 std::string_view string_to_sign) {
  std::string key = HmacRaw("AWS4" + std::string(secret), amz_date.substr(0, 8));
  key = HmacRaw(key, scope.region);
  key = HmacRaw(key, scope.service);
  key = HmacRaw(key, "aws4_request");
  return Hex(HmacRaw(key, string_to_sign));
}

Fields SignHeaders(const Request& request, const Credentials& credentials, const Scope& scope,
                   int64_t now_s) {
  const std::string date = AmzDate(now_s);
  Fields added = {{"X-Amz-Date", date}};
  if (!credentials.session_token.empty()) {
    added.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  Request r = request;
  r.headers.insert(r.headers.end(), added.begin(), added.end());
  const std::string signature = Sign(credentials.secret_access_key, date, scope,
                                     StringToSign(date, scope, CanonicalRequest(r)));
  added.emplace_back("Authorization",
                     std::string(kAlgorithm) + " Credential=" + credentials.access_key_id + "/" +
                         ScopeString(date, scope) + ", SignedHeaders=" + SignedHeaderNames(r) +
                         ", Signature=" + signature);
  return added;
}

std::string PresignQuery(const Request& request, const Credentials& credentials, const Scope& scope,
                         int64_t now_s, int64_t expires_s) {
  const std::string date = AmzDate(now_s);
  Request r = request;
  r.query.emplace_back("X-Amz-Algorithm", std::string(kAlgorithm));
  r.query.emplace_back("X-Amz-Credential",
                       credentials.access_key_id + "/" + ScopeString(date, scope));
  r.query.emplace_back("X-Amz-Date", date);
  r.query.emplace_back("X-Amz-Expires", std::to_string(expires_s));
  if (!credentials.session_token.empty()) {
    r.query.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  r.query.emplace_back("X-Amz-SignedHeaders", SignedHeaderNames(r));
  const std::string signature = Sign(credentials.secret_access_key, date, scope,
                                     StringToSign(date, scope, CanonicalRequest(r)));
  return CanonicalQuery(r.query) + "&X-Amz-Signature=" + signature;
}

}  // namespace vs::store::sigv4
