// AWS Signature Version 4 (AWS4-HMAC-SHA256): header signing for requests
// this process sends and query-string signing for presigned URLs handed to
// browsers. Written for S3 (no path normalization, single URI encoding) but
// service-agnostic, so the official generic test suite applies too.
//
// Pure functions of their inputs (the time is a parameter): thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vs::store::sigv4 {

inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

using Fields = std::vector<std::pair<std::string, std::string>>;

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary credentials
};

struct Scope {
  std::string region;
  std::string service = "s3";
};

struct Request {
  std::string method;
  // Host header value exactly as the client sends it: "host" or
  // "host:port" (the port only when it is not the scheme's default).
  std::string host;
  // Canonical URI: the path as sent, already percent-encoded once ("/" kept).
  std::string path = "/";
  Fields query;    // decoded names and values; encoded while signing
  Fields headers;  // further headers to sign, any case, values as sent
  // Hex SHA-256 of the body, or kUnsignedPayload.
  std::string payload_hash = std::string(kUnsignedPayload);
};

// RFC 3986 percent-encoding: A-Z a-z 0-9 - _ . ~ kept, everything else %XX
// (upper-case hex); '/' kept too when `keep_slash` (for paths).
std::string UriEncode(std::string_view s, bool keep_slash);
// ASCII lower case (header names, schemes).
std::string AsciiLower(std::string_view s);
// "20130524T000000Z" for a Unix time in seconds.
std::string AmzDate(int64_t epoch_s);

// The six-line canonical request (query without X-Amz-Signature, headers
// lower-cased, trimmed, sequential spaces folded, sorted; host included).
std::string CanonicalRequest(const Request& request);
// "host;range;x-amz-date": the names CanonicalRequest signs.
std::string SignedHeaderNames(const Request& request);
std::string StringToSign(std::string_view amz_date, const Scope& scope,
                         std::string_view canonical_request);
// Lower-case hex signature of `string_to_sign` under the key derived from
// the secret, the date part of `amz_date`, region and service.
std::string Sign(std::string_view secret, std::string_view amz_date, const Scope& scope,
                 std::string_view string_to_sign);

// Header authentication. Returns the headers to send besides request.headers
// and Host: X-Amz-Date, X-Amz-Security-Token (temporary credentials) and
// Authorization. S3 also wants x-amz-content-sha256 among request.headers.
Fields SignHeaders(const Request& request, const Credentials& credentials, const Scope& scope,
                   int64_t now_s);

// Query authentication: the complete query string (canonical order, encoded)
// for a presigned URL valid `expires_s` seconds from `now_s`, ending in
// X-Amz-Signature. request.headers become signed headers the client must
// send byte-identical (e.g. Content-Type).
std::string PresignQuery(const Request& request, const Credentials& credentials, const Scope& scope,
                         int64_t now_s, int64_t expires_s);

}  // namespace vs::store::sigv4
