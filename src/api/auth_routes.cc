// Accounts: register, login, logout, me and sessions under /api/auth; and
// who the caller of any request is (bearer token or session cookie), with
// the CSRF rule for cookie sessions and the video access checks every route
// shares.
#include <cctype>

#include "api/api_internal.h"
#include "api/api_util.h"
#include "core/ids.h"
#include "core/time_format.h"

namespace vs::api {
namespace {

// The value of cookie `name` in a Cookie header, "" when absent.
std::string CookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const size_t semi = header.find(';');
    std::string_view pair = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return std::string(pair.substr(eq + 1));
  }
  return "";
}

// "scheme://host[:port]" of a URL, lower-cased; "" when it has none.
std::string OriginOf(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  const size_t end = url.find('/', scheme + 3);
  return Lower(url.substr(0, end));
}

bool Unsafe(const std::string& method) { return method != "GET" && method != "HEAD" && method != "OPTIONS"; }

// Whether a cookie-authenticated change comes from our own pages.
bool FromOurPages(const Context& ctx, const http::Request& req) {
  const std::string origin = Lower(std::string(req.headers.Get("Origin")));
  if (origin.empty()) return Lower(std::string(req.headers.Get("Sec-Fetch-Site"))) == "same-origin";
  for (const std::string& allowed :
       {OriginOf(RequestBase(req, ctx.cfg)), OriginOf(ctx.cfg.public_url), OriginOf(ctx.cfg.frontend_url)})
    if (!allowed.empty() && origin == allowed) return true;
  return false;
}

json::object UserJson(const User& u) {
  return json::object{{"id", u.id},
                      {"email", u.email},
                      {"name", u.name},
                      {"isAdmin", u.is_admin},
                      {"createdAt", IsoTime(u.created_at_ms)}};
}

std::string SessionCookie(const Context& ctx, const std::string& token, int64_t max_age_s) {
  std::string c = std::string(kSessionCookie) + "=" + token + "; Path=/; HttpOnly; SameSite=Lax; Max-Age=" +
                  std::to_string(max_age_s);
  if (Lower(ctx.cfg.public_url).starts_with("https://")) c += "; Secure";
  return c;
}

http::Response SignedInAnswer(const Context& ctx, const service::SignedIn& in, const char* message, int status) {
  auto r = Ok(json::object{{"user", UserJson(in.user)}, {"token", in.token},
                           {"expiresAt", IsoTime(in.session.expires_at_ms)}},
              message, status);
  r.headers.Set("Set-Cookie", SessionCookie(ctx, in.token, ctx.cfg.session_ttl_s));
  r.headers.Set("Cache-Control", "no-store");
  return r;
}

// The email and password fields (and name) of a register/login body.
struct Credentials {
  std::string email, password, name;
};
std::variant<Credentials, http::Response> ReadCredentials(const http::Request& req, bool with_name) {
  auto body = with_name ? JsonBody(req, {"email", "password", "name"}) : JsonBody(req, {"email", "password"});
  if (auto* r = std::get_if<http::Response>(&body)) return std::move(*r);
  const json::object& fields = std::get<json::object>(body);
  auto email = StringField(fields, "email", 1, 320);
  if (!email.ok()) return FromError(email.error());
  auto password = StringField(fields, "password", 0, 4096);
  if (!password.ok()) return FromError(password.error());
  if (!*email || !*password) return Fail(400, "invalid_field", "email and password are required");
  Credentials c{**email, **password, ""};
  if (with_name) {
    auto name = StringField(fields, "name", 0, 100);
    if (!name.ok()) return FromError(name.error());
    c.name = name->value_or("");
  }
  return c;
}

http::Response Register(const Context& ctx, http::Request& req) {
  auto creds = ReadCredentials(req, true);
  if (auto* r = std::get_if<http::Response>(&creds)) return std::move(*r);
  const Credentials& c = std::get<Credentials>(creds);
  auto in = ctx.auth->Register(c.email, c.password, c.name);
  if (!in.ok()) return FromError(in.error());
  return SignedInAnswer(ctx, *in, "account created", 201);
}

http::Response Login(const Context& ctx, http::Request& req) {
  auto creds = ReadCredentials(req, false);
  if (auto* r = std::get_if<http::Response>(&creds)) return std::move(*r);
  const Credentials& c = std::get<Credentials>(creds);
  auto in = ctx.auth->Login(c.email, c.password);
  if (!in.ok()) return FromError(in.error());
  return SignedInAnswer(ctx, *in, "signed in", 200);
}

// The signed-in caller, or the refusal.
std::variant<service::Identity, http::Response> SignedIn(const Context& ctx, const http::Request& req) {
  auto caller = Identify(ctx, req);
  if (auto* r = std::get_if<http::Response>(&caller)) return std::move(*r);
  auto& c = std::get<Caller>(caller);
  if (!c.identity) return Fail(401, "unauthenticated", "sign in first");
  return std::move(*c.identity);
}

http::Response Logout(const Context& ctx, http::Request& req) {
  auto who = SignedIn(ctx, req);
  if (auto* r = std::get_if<http::Response>(&who)) return std::move(*r);
  if (Status s = ctx.auth->Logout(std::get<service::Identity>(who).session.id); !s.ok()) return FromError(s.error());
  auto r = Ok(json::object{}, "signed out");
  r.headers.Set("Set-Cookie", SessionCookie(ctx, "", 0));
  return r;
}

http::Response Me(const Context& ctx, http::Request& req) {
  auto who = SignedIn(ctx, req);
  if (auto* r = std::get_if<http::Response>(&who)) return std::move(*r);
  auto r = Ok(json::object{{"user", UserJson(std::get<service::Identity>(who).user)}});
  r.headers.Set("Cache-Control", "no-store");
  return r;
}

http::Response Sessions(const Context& ctx, http::Request& req) {
  auto who = SignedIn(ctx, req);
  if (auto* r = std::get_if<http::Response>(&who)) return std::move(*r);
  const service::Identity& me = std::get<service::Identity>(who);
  auto list = ctx.auth->Sessions(me.user.id);
  if (!list.ok()) return FromError(list.error());
  json::array items;
  for (const Session& s : *list)
    items.push_back(json::object{{"id", s.id},
                                 {"createdAt", IsoTime(s.created_at_ms)},
                                 {"expiresAt", IsoTime(s.expires_at_ms)},
                                 {"current", s.id == me.session.id}});
  auto r = Ok(std::move(items));
  r.headers.Set("Cache-Control", "no-store");
  return r;
}

http::Response RevokeSession(const Context& ctx, http::Request& req) {
  auto who = SignedIn(ctx, req);
  if (auto* r = std::get_if<http::Response>(&who)) return std::move(*r);
  const std::string id = req.Param("id");
  auto gone = IsValidId(id) ? ctx.auth->Revoke(std::get<service::Identity>(who).user.id, id) : Result<bool>(false);
  if (!gone.ok()) return FromError(gone.error());
  if (!*gone) return Fail(404, "not_found", "no such session");
  return Ok(json::object{{"id", id}}, "session ended");
}

}  // namespace

namespace {

// The bearer token, if the request has one.
std::optional<std::string> BearerToken(const http::Headers& headers) {
  const std::string_view authorization = headers.Get("Authorization");
  if (authorization.size() > 7 && Lower(std::string(authorization.substr(0, 7))) == "bearer ")
    return std::string(authorization.substr(7));
  return std::nullopt;
}

}  // namespace

std::string SessionToken(const http::Headers& headers) {
  if (auto bearer = BearerToken(headers)) return *bearer;
  return CookieValue(headers.Get("Cookie"), kSessionCookie);
}

std::variant<Caller, http::Response> Identify(const Context& ctx, const http::Request& req) {
  Caller c;
  if (!ctx.auth) return c;
  const bool bearer = BearerToken(req.headers).has_value();
  const std::string token = SessionToken(req.headers);
  if (token.empty()) return c;
  auto who = ctx.auth->Authenticate(token);
  if (!who.ok()) return FromError(who.error());
  if (!who->has_value()) {
    if (bearer) {
      auto r = Fail(401, "invalid_token", "the bearer token is not valid (expired, revoked or altered)");
      r.headers.Set("WWW-Authenticate", "Bearer error=\"invalid_token\"");
      return r;
    }
    return c;  // a stale cookie: browse as anyone would
  }
  if (!bearer && Unsafe(req.method) && !FromOurPages(ctx, req))
    return Fail(403, "csrf_rejected", "this change did not come from this site's pages; reload and try again");
  c.viewer = (*who)->viewer();
  c.identity = std::move(**who);
  return c;
}

std::optional<http::Response> RequireAccount(const Context& ctx, const Caller& caller, bool upload) {
  if (!caller.viewer.anonymous()) return std::nullopt;
  if (upload && ctx.cfg.anonymous_uploads) return std::nullopt;
  auto r = Fail(401, "unauthenticated", "sign in first");
  r.headers.Set("WWW-Authenticate", "Bearer");
  return r;
}

http::Response NotFoundVideo(const std::string& id) { return Fail(404, "not_found", "no video with id " + id); }

std::variant<Video, http::Response> LoadVisible(const Context& ctx, const http::Request& req, const Caller& caller) {
  auto loaded = LoadVideo(ctx, req);
  if (auto* v = std::get_if<Video>(&loaded); v && !service::CanView(caller.viewer, *v)) return NotFoundVideo(v->id);
  return loaded;
}

std::variant<Video, http::Response> LoadChangeable(const Context& ctx, const http::Request& req,
                                                   const Caller& caller) {
  if (!IsValidId(req.Param("id"))) return LoadVideo(ctx, req);
  if (auto refused = RequireAccount(ctx, caller, /*upload=*/true)) return std::move(*refused);
  auto loaded = LoadVideo(ctx, req);
  if (auto* v = std::get_if<Video>(&loaded); v && !service::CanChange(caller.viewer, *v, ctx.cfg.anonymous_uploads))
    return NotFoundVideo(v->id);
  return loaded;
}

std::variant<Video, http::Response> LoadVisible(const Context& ctx, const http::Request& req) {
  auto caller = Identify(ctx, req);
  if (auto* r = std::get_if<http::Response>(&caller)) return std::move(*r);
  return LoadVisible(ctx, req, std::get<Caller>(caller));
}

std::variant<Video, http::Response> LoadChangeable(const Context& ctx, const http::Request& req) {
  auto caller = Identify(ctx, req);
  if (auto* r = std::get_if<http::Response>(&caller)) return std::move(*r);
  return LoadChangeable(ctx, req, std::get<Caller>(caller));
}

void RegisterAuthRoutes(http::Router& router, const ContextPtr& ctx) {
  if (!ctx->auth) return;
  router.Add("POST", "/api/auth/register", Bind(ctx, &Register));
  router.Add("POST", "/api/auth/login", Bind(ctx, &Login));
  router.Add("POST", "/api/auth/logout", Bind(ctx, &Logout));
  router.Add("GET", "/api/auth/me", Bind(ctx, &Me));
  router.Add("GET", "/api/auth/sessions", Bind(ctx, &Sessions));
  router.Add("DELETE", "/api/auth/sessions/:id", Bind(ctx, &RevokeSession));
}

}  // namespace vs::api
