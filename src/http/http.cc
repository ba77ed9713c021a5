#include "http/http.h"

#include <strings.h>

#include <algorithm>

#include "core/json_text.h"

namespace vs::http {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.emplace_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view Headers::Get(std::string_view name) const {
  for (const auto& [k, v] : items_)
    if (IEquals(k, name)) return v;
  return {};
}

bool Headers::Has(std::string_view name) const {
  for (const auto& kv : items_)
    if (IEquals(kv.first, name)) return true;
  return false;
}

void Headers::Set(std::string name, std::string value) {
  Remove(name);
  items_.emplace_back(std::move(name), std::move(value));
}

void Headers::Add(std::string name, std::string value) {
  items_.emplace_back(std::move(name), std::move(value));
}

void Headers::Remove(std::string_view name) {
  items_.erase(std::remove_if(items_.begin(), items_.end(),
                              [&](const auto& kv) { return IEquals(kv.first, name); }),
               items_.end());
}

std::string Request::Param(std::string_view name) const {
  for (const auto& [k, v] : params)
    if (k == name) return v;
  return {};
}

std::optional<std::string> Request::Query(std::string_view name) const {
  std::string_view q = raw_query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    size_t eq = pair.find('=');
    auto key = PercentDecode(pair.substr(0, eq), true);
    if (!key || *key != name) continue;
    if (eq == std::string_view::npos) return std::string();
    auto value = PercentDecode(pair.substr(eq + 1), true);
    return value ? *value : std::string();
  }
  return std::nullopt;
}

Response Response::Json(int status, std::string json) {
  Response r;
  r.status = status;
  r.headers.Set("Content-Type", "application/json; charset=utf-8");
  r.body = std::move(json);
  return r;
}

Response Response::Text(int status, std::string text, std::string content_type) {
  Response r;
  r.status = status;
  r.headers.Set("Content-Type", std::move(content_type));
  r.body = std::move(text);
  return r;
}

void Router::AddRoute(std::string method, std::string pattern, Target t) {
  Route r{std::move(method), pattern, SplitPath(pattern), std::move(t)};
  routes_.push_back(std::move(r));
}
std::vector<std::pair<std::string, std::string>> Router::Routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Route& r : routes_) out.emplace_back(r.method, r.pattern);
  return out;
}

void Router::Add(std::string method, std::string pattern, Handler h) {
  AddRoute(std::move(method), std::move(pattern), std::move(h));
}
void Router::AddAsync(std::string method, std::string pattern, AsyncHandler h) {
  AddRoute(std::move(method), std::move(pattern), std::move(h));
}
void Router::AddStream(std::string method, std::string pattern, StreamHandler h) {
  AddRoute(std::move(method), std::move(pattern), std::move(h));
}

Router::Match Router::Find(std::string_view method, std::string_view path) const {
  const std::vector<std::string> segs = SplitPath(path);
  Match best;
  int best_score = -1;
  bool best_is_rest = false;
  std::string exact_allowed;  // methods of the matching routes without a "*rest"
  for (const Route& r : routes_) {
    std::vector<std::pair<std::string, std::string>> params;
    int score = 0;
    bool ok = true;
    size_t i = 0;
    for (; i < r.segments.size(); ++i) {
      const std::string& p = r.segments[i];
      if (!p.empty() && p[0] == '*') {
        std::string rest;
        for (size_t k = i; k < segs.size(); ++k) rest += (k > i ? "/" : "") + segs[k];
        if (rest.empty()) ok = false;
        params.emplace_back(p.substr(1), rest);
        i = segs.size();
        break;
      }
      if (i >= segs.size()) {
        ok = false;
        break;
      }
      if (!p.empty() && p[0] == ':') {
        params.emplace_back(p.substr(1), segs[i]);
      } else if (p == segs[i]) {
        score += 2;  // literal segments outrank parameters
      } else {
        ok = false;
        break;
      }
    }
    if (!ok || (i != segs.size() && !(r.segments.empty() && segs.empty()))) continue;
    if (r.segments.size() < segs.size() &&
        (r.segments.empty() || r.segments.back()[0] != '*'))
      continue;
    best.path_matched = true;
    if (!best.allowed.empty()) best.allowed += ", ";
    best.allowed += r.method;
    const bool is_rest = !r.segments.empty() && r.segments.back()[0] == '*';
    if (!is_rest) exact_allowed += (exact_allowed.empty() ? "" : ", ") + r.method;
    const bool method_ok = r.method == method || (method == "HEAD" && r.method == "GET");
    if (method_ok && (score > best_score || (score == best_score && best_is_rest && !is_rest))) {
      best_score = score;
      best.target = &r.target;
      best.params = std::move(params);
      best.pattern = r.pattern;
      best_is_rest = is_rest;
    }
  }
  // A "*rest" route (the web UI's fallback) never takes a path that another
  // method's route names exactly: GET on a PUT-only upload URL is a 405.
  if (best_is_rest && !exact_allowed.empty()) {
    best.target = nullptr;
    best.params.clear();
    best.pattern.clear();
    best.allowed = exact_allowed;
  }
  return best;
}

std::optional<std::string> PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      if (c == '\0') return std::nullopt;
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    out.push_back(c);
  }
  return out;
}

std::string_view StatusReason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
  }
}

void AppendField(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  const size_t start = out.size();
  out += value;
  for (size_t i = start; i < out.size(); ++i)
    if (out[i] == '\r' || out[i] == '\n') out[i] = ' ';
  out += "\r\n";
}

void AppendSafetyFields(std::string& out) { AppendField(out, "X-Content-Type-Options", "nosniff"); }

std::string ErrorJson(std::string_view code, std::string_view message) {
  std::string body;
  json_text::Object o(body);
  json_text::Object(o.Key("error")).String("code", code).String("message", message);
  return body;
}

}  // namespace vs::http
