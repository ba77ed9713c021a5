// Helpers shared by the API's handler files: the response envelope, JSON
// body parsing and validation. Internal to the api module.
#pragma once

#include <optional>
#include <string>

#include <boost/json.hpp>

#include "core/result.h"
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
// with Retry-After; internal -> 500 "internal" (details stay in the log);
// any other kind -> StatusFor(kind) with the error's own code and message.
http::Response FromError(const Error& e);

// The request body as a JSON object, or a 400 response saying what is wrong.
Result<json::object> ParseObject(const std::string& body);

// Optional string field: missing or null -> nullopt; wrong type or length
// outside [min_len, max_len] (in characters) -> invalid_field error.
Result<std::optional<std::string>> StringField(const json::object& o, const char* name,
                                               size_t min_len, size_t max_len);
Result<std::optional<int64_t>> IntField(const json::object& o, const char* name);

// Number of Unicode code points in valid UTF-8.
size_t Utf8Length(const std::string& s);
// True when `s` contains control characters (other than tab/newline if allowed).
bool HasControlChars(const std::string& s, bool allow_newlines);
std::string UrlEncode(const std::string& s);

// Pagination parameters from ?limit=&cursor= (limit 1..100, default 20).
Result<std::pair<int, std::string>> PageParams(const http::Request& req);
json::value PaginationJson(int limit, const std::string& next_cursor);

}  // namespace vs::api
