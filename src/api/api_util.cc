#include "api/api_util.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "core/json_text.h"
#include "resilience/circuit_breaker.h"

namespace vs::api {

http::Response Ok(json::value data, const std::string& message, int status) {
  return OkText(json_text::Serialize(data), message, status);
}

http::Response OkText(std::string_view data_json, std::string_view message, int status) {
  std::string body;
  body.reserve(data_json.size() + message.size() + 32);
  {
    json_text::Object o(body);
    o.Raw("data", data_json);
    if (!message.empty()) o.String("message", message);
  }
  auto r = http::Response::Json(status, std::move(body));
  r.headers.Set("Cache-Control", "no-store");
  return r;
}

http::Response JsonNoStore(std::string json) {
  auto r = http::Response::Json(200, std::move(json));
  r.headers.Set("Cache-Control", "no-store");
  return r;
}

http::Response Fail(int status, const std::string& code, const std::string& message) {
  auto r = http::Response::Json(status, http::ErrorJson(code, message));
  r.headers.Set("Cache-Control", "no-store");
  return r;
}

namespace {

http::Response AnswerFor(const Error& e) {
  const int status = StatusFor(e.kind);
  switch (e.kind) {
    case ErrorKind::kUnavailable: {
      // A dependency that is down (or being given a rest by its breaker) is
      // a passing condition: 503 tells clients and load balancers to come
      // back. The breaker's message is written for clients; an adapter's
      // names hosts and queries, so it stays in the log.
      auto r = Fail(status, "unavailable",
                    e.code == resilience::kCircuitOpen
                        ? e.message
                        : "a storage dependency is unavailable; please retry");
      r.headers.Set("Retry-After", "5");
      return r;
    }
    case ErrorKind::kInsufficientStorage: {
      // Full, not down: the request may work once space is freed, or with a
      // smaller file; nothing is wrong with the request itself.
      auto r = Fail(status, "insufficient_storage",
                    "the server's storage is full; nothing was stored. Try again later");
      r.headers.Set("Retry-After", "60");
      return r;
    }
    case ErrorKind::kInternal:
      return Fail(status, "internal", "internal error; please retry");
    default:
      // The caller's own mistake: its code and message say what to fix.
      return Fail(status, e.code, e.message);
  }
}

}  // namespace

int StatusFor(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalid:
      return 400;
    case ErrorKind::kForbidden:
      return 403;
    case ErrorKind::kUnauthenticated:
      return 401;
    case ErrorKind::kNotFound:
      return 404;
    case ErrorKind::kConflict:
      return 409;
    case ErrorKind::kTooLarge:
      return 413;
    case ErrorKind::kUnavailable:
      return 503;
    case ErrorKind::kInternal:
      return 500;
    case ErrorKind::kInsufficientStorage:
      return 507;
  }
  return 500;
}

http::Response FromError(const Error& e) {
  http::Response r = AnswerFor(e);
  // The words clients do not get (paths, hosts, errno text) go to the
  // access log with the request.
  if (r.status >= 500) r.log_note = e.code + ": " + e.message;
  return r;
}

Result<json::object> ParseObject(const std::string& body) {
  if (body.empty())
    return MakeError(ErrorKind::kInvalid, "invalid_json", "the request body must be a JSON object");
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec)
    return MakeError(ErrorKind::kInvalid, "invalid_json",
                     "the request body is not valid JSON: " + ec.message());
  if (!v.is_object())
    return MakeError(ErrorKind::kInvalid, "invalid_json", "the request body must be a JSON object");
  return std::move(v.as_object());
}

bool IsJsonContentType(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
  constexpr std::string_view kJson = "application/json";
  return media.size() == kJson.size() &&
         std::equal(media.begin(), media.end(), kJson.begin(),
                    [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
}

std::variant<json::object, http::Response> JsonBody(const http::Request& req,
                                                    std::initializer_list<std::string_view> allowed) {
  if (!IsJsonContentType(req.headers.Get("Content-Type")))
    return Fail(415, "unsupported_media_type", "send the body as Content-Type: application/json");
  auto body = ParseObject(req.body);
  if (!body.ok()) return FromError(body.error());
  for (const auto& field : *body) {
    if (std::find(allowed.begin(), allowed.end(), std::string_view(field.key())) == allowed.end())
      return Fail(400, "invalid_field", "unknown field: " + std::string(field.key()));
  }
  return std::move(*body);
}

size_t Utf8Length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

bool HasControlChars(const std::string& s, bool allow_newlines) {
  for (unsigned char c : s) {
    if (c == 0x7f) return true;
    if (c < 0x20 && !(allow_newlines && (c == '\n' || c == '\r' || c == '\t'))) return true;
  }
  return false;
}

Result<std::optional<std::string>> StringField(const json::object& o, const char* name,
                                               size_t min_len, size_t max_len) {
  auto it = o.find(name);
  if (it == o.end() || it->value().is_null()) return std::optional<std::string>();
  if (!it->value().is_string())
    return MakeError(ErrorKind::kInvalid, "invalid_field", std::string(name) + " must be a string");
  std::string s(it->value().as_string());
  const size_t len = Utf8Length(s);
  if (len < min_len || len > max_len) {
    return MakeError(ErrorKind::kInvalid, "invalid_field",
                     std::string(name) + " must be " + std::to_string(min_len) + " to " +
                         std::to_string(max_len) + " characters");
  }
  return std::optional<std::string>(std::move(s));
}

Result<std::optional<int64_t>> IntField(const json::object& o, const char* name) {
  auto it = o.find(name);
  if (it == o.end() || it->value().is_null()) return std::optional<int64_t>();
  const json::value& v = it->value();
  if (v.is_int64()) return std::optional<int64_t>(v.as_int64());
  if (v.is_uint64() && v.as_uint64() <= static_cast<uint64_t>(INT64_MAX))
    return std::optional<int64_t>(static_cast<int64_t>(v.as_uint64()));
  if (v.is_double() && v.as_double() == static_cast<double>(static_cast<int64_t>(v.as_double())))
    return std::optional<int64_t>(static_cast<int64_t>(v.as_double()));
  return MakeError(ErrorKind::kInvalid, "invalid_field",
                   std::string(name) + " must be a whole number");
}

Result<std::optional<Visibility>> VisibilityField(const json::object& o) {
  auto it = o.find("visibility");
  if (it == o.end() || it->value().is_null()) return std::optional<Visibility>();
  const json::value& v = it->value();
  if (v.is_string())
    if (auto parsed = ParseVisibility(std::string_view(v.as_string()))) return std::optional<Visibility>(*parsed);
  return MakeError(ErrorKind::kInvalid, "invalid_field", "visibility must be \"public\", \"unlisted\" or \"private\"");
}

std::string UrlEncode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Result<std::pair<int, std::string>> PageParams(const http::Request& req) {
  int limit = 20;
  if (auto l = req.Query("limit")) {
    char* end = nullptr;
    long v = std::strtol(l->c_str(), &end, 10);
    if (l->empty() || *end != '\0' || v < 1 || v > 100)
      return MakeError(ErrorKind::kInvalid, "invalid_limit",
                       "limit must be a whole number from 1 to 100");
    limit = static_cast<int>(v);
  }
  std::string cursor = req.Query("cursor").value_or("");
  if (cursor.size() > 200)
    return MakeError(ErrorKind::kInvalid, "invalid_cursor", "the cursor is not valid");
  return std::make_pair(limit, cursor);
}

json::value PaginationJson(int limit, const std::string& next_cursor) {
  return json::object{{"limit", limit},
                      {"nextCursor", next_cursor.empty() ? json::value(nullptr) : json::value(next_cursor)},
                      {"hasMore", !next_cursor.empty()}};
}

}  // namespace vs::api
