#include "http/http.h"

#include <gtest/gtest.h>

namespace vs::http {
namespace {

Router MakeRouter() {
  Router r;
  r.Add("GET", "/api/videos", [](Request&) { return Response::Text(200, "list"); });
  r.Add("GET", "/api/videos/search", [](Request&) { return Response::Text(200, "search"); });
  r.Add("GET", "/api/videos/:id", [](Request&) { return Response::Text(200, "one"); });
  r.Add("PUT", "/api/videos/:id", [](Request&) { return Response::Text(200, "put"); });
  r.Add("GET", "/media/:id/*file", [](Request&) { return Response::Text(200, "media"); });
  r.Add("GET", "/", [](Request&) { return Response::Text(200, "root"); });
  return r;
}

std::string Call(const Router& r, const char* method, const char* path) {
  auto m = r.Find(method, path);
  if (!m.target) return m.path_matched ? "405:" + m.allowed : "404";
  Request req;
  req.params = m.params;
  return std::get<Handler>(*m.target)(req).body;
}

TEST(RouterTest, LiteralsBeatParameters) {
  Router r = MakeRouter();
  EXPECT_EQ(Call(r, "GET", "/api/videos/search"), "search");
  EXPECT_EQ(Call(r, "GET", "/api/videos/abc"), "one");
  EXPECT_EQ(Call(r, "GET", "/api/videos"), "list");
  EXPECT_EQ(Call(r, "GET", "/api/videos/"), "list");
  EXPECT_EQ(Call(r, "GET", "/"), "root");
  EXPECT_EQ(Call(r, "HEAD", "/api/videos"), "list");
}

TEST(RouterTest, ParamsAndRest) {
  Router r = MakeRouter();
  auto m = r.Find("GET", "/media/v1/sub/chunk-0-1.m4s");
  ASSERT_TRUE(m.target);
  ASSERT_EQ(m.params.size(), 2u);
  EXPECT_EQ(m.params[0].second, "v1");
  EXPECT_EQ(m.params[1].second, "sub/chunk-0-1.m4s");
  EXPECT_FALSE(r.Find("GET", "/media/v1").target);
}

TEST(RouterTest, MethodNotAllowedVersusNotFound) {
  Router r = MakeRouter();
  EXPECT_EQ(Call(r, "DELETE", "/api/videos/abc"), "405:GET, PUT");
  EXPECT_EQ(Call(r, "GET", "/nope"), "404");
  EXPECT_EQ(Call(r, "GET", "/api/videos/a/b"), "404");
}

TEST(RouterTest, CatchAllNeverShadowsAnotherMethodsRoute) {
  Router r = MakeRouter();
  r.Add("PUT", "/upload/:id", [](Request&) { return Response::Text(200, "upload"); });
  r.Add("GET", "/*path", [](Request&) { return Response::Text(200, "page"); });
  EXPECT_EQ(Call(r, "GET", "/upload/abc"), "405:PUT");
  EXPECT_EQ(Call(r, "HEAD", "/upload/abc"), "405:PUT");
  EXPECT_EQ(Call(r, "PUT", "/upload/abc"), "upload");
  EXPECT_EQ(Call(r, "GET", "/upload/abc/more"), "page");
  EXPECT_EQ(Call(r, "GET", "/videos/abc"), "page");
  EXPECT_EQ(Call(r, "GET", "/api/videos/abc"), "one");
  EXPECT_EQ(Call(r, "GET", "/media/v1/x.m4s"), "media");
}

TEST(DecodeTest, PercentAndQuery) {
  EXPECT_EQ(PercentDecode("a%20b+c", true), "a b c");
  EXPECT_EQ(PercentDecode("a%20b+c", false), "a b+c");
  EXPECT_EQ(PercentDecode("%E2%9C%93", false), "\xE2\x9C\x93");
  EXPECT_FALSE(PercentDecode("%2", false));
  EXPECT_FALSE(PercentDecode("%zz", false));
  EXPECT_FALSE(PercentDecode("a%00b", false));
  Request req;
  req.raw_query = "q=hello+world&limit=5&empty&x=%41";
  EXPECT_EQ(req.Query("q"), "hello world");
  EXPECT_EQ(req.Query("limit"), "5");
  EXPECT_EQ(req.Query("empty"), "");
  EXPECT_EQ(req.Query("x"), "A");
  EXPECT_FALSE(req.Query("missing"));
}

TEST(HeadersTest, CaseInsensitive) {
  Headers h;
  h.Set("Content-Type", "a");
  EXPECT_EQ(h.Get("content-type"), "a");
  h.Set("CONTENT-TYPE", "b");
  EXPECT_EQ(h.items().size(), 1u);
  EXPECT_EQ(h.Get("Content-Type"), "b");
  h.Add("Vary", "Origin");
  h.Remove("vary");
  EXPECT_FALSE(h.Has("Vary"));
}

}  // namespace
}  // namespace vs::http
