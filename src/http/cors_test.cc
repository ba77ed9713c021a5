#include "http/cors.h"

#include <gtest/gtest.h>

#include <string>

namespace vs::http {
namespace {

Request WithOrigin(std::string origin, std::string host = "api.example") {
  Request r;
  if (!origin.empty()) r.headers.Set("Origin", std::move(origin));
  r.headers.Set("Host", std::move(host));
  return r;
}

TEST(CorsTest, FixedHeadersNameTheConfiguredOriginOrAny) {
  for (const char* any : {"", "*"}) {
    Headers h = CorsHeaders(any);
    EXPECT_EQ(h.Get("Access-Control-Allow-Origin"), "*");
    EXPECT_FALSE(h.Has("Vary"));
  }
  Headers h = CorsHeaders("http://app.example");
  EXPECT_EQ(h.Get("Access-Control-Allow-Origin"), "http://app.example");
  EXPECT_EQ(h.Get("Vary"), "Origin");
  EXPECT_FALSE(h.Has("Access-Control-Allow-Credentials"));
}

TEST(CorsTest, CredentialedHeadersEchoAnAllowedOrigin) {
  Headers h = CredentialedCorsHeaders(WithOrigin("http://app.example"), "http://app.example");
  EXPECT_EQ(h.Get("Access-Control-Allow-Origin"), "http://app.example");
  EXPECT_EQ(h.Get("Access-Control-Allow-Credentials"), "true");
  EXPECT_EQ(h.Get("Vary"), "Origin");

  h = CredentialedCorsHeaders(WithOrigin("http://other.example"), "");
  EXPECT_EQ(h.Get("Access-Control-Allow-Origin"), "http://other.example");
  EXPECT_EQ(h.Get("Access-Control-Allow-Credentials"), "true");
}

TEST(CorsTest, CredentialedHeadersNeverEchoAForeignOrigin) {
  Headers h = CredentialedCorsHeaders(WithOrigin("http://evil.example"), "http://app.example");
  EXPECT_EQ(h.Get("Access-Control-Allow-Origin"), "http://app.example");
  EXPECT_FALSE(h.Has("Access-Control-Allow-Credentials"));
  EXPECT_EQ(h.Get("Vary"), "Origin");
}

TEST(CorsTest, CredentialedHeadersWithoutAnOrigin) {
  Headers h = CredentialedCorsHeaders(WithOrigin(""), "*");
  EXPECT_EQ(h.Get("Access-Control-Allow-Origin"), "*");
  EXPECT_FALSE(h.Has("Access-Control-Allow-Credentials"));
  EXPECT_FALSE(h.Has("Vary"));
  h = CredentialedCorsHeaders(WithOrigin(""), "http://app.example");
  EXPECT_EQ(h.Get("Access-Control-Allow-Origin"), "http://app.example");
  EXPECT_FALSE(h.Has("Vary"));
}

TEST(CorsTest, AllowAnyOriginReplacesTheHeader) {
  Headers h;
  h.Set("Access-Control-Allow-Origin", "http://app.example");
  AllowAnyOrigin(h);
  EXPECT_EQ(h.Get("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(h.items().size(), 1u);
}

TEST(CorsTest, PreflightAllowsTheAskedHeaders) {
  Request req;
  Response r = PreflightResponse(req);
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.headers.Get("Access-Control-Allow-Methods"), "GET, HEAD, POST, PUT, DELETE, OPTIONS");
  EXPECT_EQ(r.headers.Get("Access-Control-Allow-Headers"), "Content-Type, Range, X-Request-Id");
  EXPECT_EQ(r.headers.Get("Access-Control-Max-Age"), "86400");
  EXPECT_TRUE(r.body.empty());
  req.headers.Set("Access-Control-Request-Headers", "content-type, x-custom");
  EXPECT_EQ(PreflightResponse(req).headers.Get("Access-Control-Allow-Headers"), "content-type, x-custom");
}

TEST(CorsTest, OriginAllowed) {
  EXPECT_TRUE(OriginAllowed(WithOrigin(""), "http://app.example"));  // not a browser
  EXPECT_TRUE(OriginAllowed(WithOrigin("http://x.example"), ""));
  EXPECT_TRUE(OriginAllowed(WithOrigin("http://x.example"), "*"));
  EXPECT_TRUE(OriginAllowed(WithOrigin("http://app.example"), "http://app.example"));
  // The server's own origin: the web UI it serves.
  EXPECT_TRUE(OriginAllowed(WithOrigin("https://api.example"), "http://app.example"));
  EXPECT_TRUE(OriginAllowed(WithOrigin("http://api.example"), "http://app.example"));
  EXPECT_FALSE(OriginAllowed(WithOrigin("http://evil.example"), "http://app.example"));
  EXPECT_FALSE(OriginAllowed(WithOrigin("ftp://api.example"), "http://app.example"));
  EXPECT_FALSE(OriginAllowed(WithOrigin("http://", ""), "http://app.example"));
  EXPECT_FALSE(OriginAllowed(WithOrigin("null"), "http://app.example"));
}

}  // namespace
}  // namespace vs::http
