// Helpers shared by the API's handler files: the response envelope, JSON
// body parsing and validation. Internal to the api module.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <boost/json.hpp>

#include "core/result.h"
#include "core/video.h"
#include "http/http.h"

namespace vs::api {

namespace json = boost::json;

// { "data": data, "message": message }
http::Response Ok(json::value data, const std::string& message = "", int status = 200);
// The same envelope around `data_json`, which is already JSON text.
http::Response OkText(std::string_view data_json, std::string_view message = "", int status = 200);
// `json` as is, never cached (listings whose envelope is not Ok's).
http::Response JsonNoStore(std::string json);
// { "error": { "code": code, "message": message } }
http::Response Fail(int status, const std::string& code, const std::string& message);
// The HTTP status for an error of `kind` (the one place that decides it).
int StatusFor(ErrorKind kind);
// The answer for an error, by its kind: unavailable -> 503 "unavailable"
// with Retry-After; insufficient_storage -> 507 "insufficient_storage" with
// Retry-After; internal -> 500 "internal"; any other kind -> StatusFor(kind)
// with the error's own code and message. Every 5xx carries the error's own
// code and message in log_note, for the access log.
http::Response FromError(const Error& e);

// The request body as a JSON object, or a 400 response saying what is wrong.
Result<json::object> ParseObject(const std::string& body);

// True for "application/json", with or without parameters ("; charset=utf-8").
bool IsJsonContentType(std::string_view content_type);
// The body of a JSON request (POST/PUT) as an object whose fields are all
// named in `allowed` (the endpoint's declaration of what it reads), or the
// refusal: 415 unsupported_media_type unless the Content-Type is JSON, 400
// invalid_json, or 400 invalid_field "unknown field: <name>".
std::variant<json::object, http::Response> JsonBody(const http::Request& req,
                                                    std::initializer_list<std::string_view> allowed);

// Optional string field: missing or null -> nullopt; wrong type or length
// outside [min_len, max_len] (in characters) -> invalid_field error.
Result<std::optional<std::string>> StringField(const json::object& o, const char* name,
                                               size_t min_len, size_t max_len);
Result<std::optional<int64_t>> IntField(const json::object& o, const char* name);
// The optional "visibility" field: "public", "unlisted" or "private".
Result<std::optional<Visibility>> VisibilityField(const json::object& o);

// Number of Unicode code points in valid UTF-8.
size_t Utf8Length(const std::string& s);
// True when `s` contains control characters (other than tab/newline if allowed).
bool HasControlChars(const std::string& s, bool allow_newlines);
std::string UrlEncode(const std::string& s);

// Pagination parameters from ?limit=&cursor= (limit 1..100, default 20).
Result<std::pair<int, std::string>> PageParams(const http::Request& req);
json::value PaginationJson(int limit, const std::string& next_cursor);

}  // namespace vs::api
