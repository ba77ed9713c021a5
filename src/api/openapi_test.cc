// The OpenAPI description (openapi.json) against the router the binary
// builds: the same (method, path) pairs both ways, every operation named and
// answered, every $ref resolving, every path placeholder declared. Real
// answers are checked against the schemas by tests/node/openapi.test.mjs.
#include "api/openapi.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "api/api.h"
#include "core/clock.h"
#include "core/event_bus.h"
#include "db/sqlite_database.h"
#include "ratelimit/rate_limiter.h"
#include "realtime/realtime.h"
#include "service/video_service.h"
#include "store/object_store.h"

namespace vs::api {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

using Route = std::pair<std::string, std::string>;  // (METHOD, /openapi/{path})

constexpr const char* kMethods[] = {"get",   "put",  "post",    "delete",
                                    "patch", "head", "options", "trace"};

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// "/api/videos/:id/status" -> "/api/videos/{id}/status".
std::string OpenApiPath(const std::string& pattern) {
  std::string out;
  size_t i = 0;
  while (i < pattern.size()) {
    if (pattern[i] == ':' && (i == 0 || pattern[i - 1] == '/')) {
      const size_t end = std::min(pattern.find('/', i), pattern.size());
      out += "{" + pattern.substr(i + 1, end - i - 1) + "}";
      i = end;
    } else {
      out += pattern[i++];
    }
  }
  return out;
}

// The value a local "#/a/b~1c" reference names, or null.
const json::value* Resolve(const json::value& doc, const std::string& ref) {
  if (ref.rfind("#/", 0) != 0) return nullptr;
  const json::value* at = &doc;
  size_t i = 2;
  while (at && i <= ref.size()) {
    const size_t end = std::min(ref.find('/', i), ref.size());
    std::string key = ref.substr(i, end - i);
    for (size_t p; (p = key.find("~1")) != std::string::npos;) key.replace(p, 2, "/");
    for (size_t p; (p = key.find("~0")) != std::string::npos;) key.replace(p, 2, "~");
    at = at->is_object() ? at->as_object().if_contains(key) : nullptr;
    i = end + 1;
  }
  return at;
}

// Every "$ref" string anywhere in `v`.
void CollectRefs(const json::value& v, std::vector<std::string>& out) {
  if (v.is_object()) {
    for (const auto& [k, child] : v.as_object()) {
      if (k == "$ref" && child.is_string()) out.emplace_back(child.as_string());
      CollectRefs(child, out);
    }
  } else if (v.is_array()) {
    for (const auto& child : v.as_array()) CollectRefs(child, out);
  }
}

// The names of the path parameters in `params` (a parameters array, with
// $refs followed).
void PathParams(const json::value& doc, const json::value* params, std::set<std::string>& out) {
  if (!params || !params->is_array()) return;
  for (const json::value& p : params->as_array()) {
    const json::value* def = &p;
    if (const json::value* ref = p.as_object().if_contains("$ref"))
      def = Resolve(doc, std::string(ref->as_string()));
    if (!def || !def->is_object()) continue;
    const json::object& o = def->as_object();
    if (o.contains("in") && o.at("in") == "path") out.emplace(o.at("name").as_string());
  }
}

class OpenApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    boost::system::error_code ec;
    doc_ = json::parse(OpenApiJson(), ec);
    ASSERT_FALSE(ec) << "openapi.json does not parse: " << ec.message();
    ASSERT_TRUE(doc_.is_object());
  }

  // Each operation of the description: (METHOD, path) -> its object.
  std::map<Route, const json::object*> Operations() const {
    std::map<Route, const json::object*> ops;
    for (const auto& [path, item] : doc_.at("paths").as_object())
      for (const char* m : kMethods)
        if (const json::value* op = item.as_object().if_contains(m))
          ops[{Upper(m), std::string(path)}] = &op->as_object();
    return ops;
  }

  json::value doc_;
};

TEST_F(OpenApiTest, IsAnOpenApi31DocumentWhoseReferencesResolve) {
  EXPECT_EQ(doc_.at("openapi"), "3.1.0");
  ASSERT_TRUE(doc_.as_object().contains("info"));
  std::vector<std::string> refs;
  CollectRefs(doc_, refs);
  EXPECT_GT(refs.size(), 20u);
  for (const std::string& ref : refs)
    EXPECT_NE(Resolve(doc_, ref), nullptr) << "unresolved $ref " << ref;
}

TEST_F(OpenApiTest, EveryOperationIsNamedAnsweredAndDeclaresItsPathParameters) {
  std::set<std::string> ids;
  for (const auto& [route, op] : Operations()) {
    const std::string where = route.first + " " + route.second;
    ASSERT_TRUE(op->contains("operationId")) << where;
    EXPECT_TRUE(ids.emplace(op->at("operationId").as_string()).second)
        << where << ": operationId " << op->at("operationId") << " is used twice";
    const json::value* responses = op->if_contains("responses");
    EXPECT_TRUE(responses && responses->is_object() && !responses->as_object().empty())
        << where << " has no responses";
    std::set<std::string> declared;
    PathParams(doc_, doc_.at("paths").at(route.second).as_object().if_contains("parameters"),
               declared);
    PathParams(doc_, op->if_contains("parameters"), declared);
    std::set<std::string> in_path;
    for (size_t open = route.second.find('{'); open != std::string::npos;
         open = route.second.find('{', open + 1))
      in_path.insert(route.second.substr(open + 1, route.second.find('}', open) - open - 1));
    EXPECT_EQ(declared, in_path) << where << ": path parameters declared vs in the path";
  }
}

// The router as `visionsync serve` builds it (realtime first, then the API),
// over an in-memory database and a temporary local store.
class OpenApiRouterTest : public OpenApiTest {
 protected:
  void SetUp() override {
    OpenApiTest::SetUp();
    std::string tmpl = (fs::path(::testing::TempDir()) / "vs_openapi_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    auto db = db::SqliteDatabase::Open(":memory:", clock_);
    ASSERT_TRUE(db.ok());
    db_ = std::move(*db);
    auto store = store::NewLocalStore(root_);
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
    svc_ = std::make_unique<service::VideoService>(db_->videos(), db_->notifications(), *store_,
                                                   bus_, clock_, service::UrlConfig{});
    limiter_ = ratelimit::NewMemoryRateLimiter(ratelimit::DefaultTiers(), clock_);
    api_ = std::make_unique<Api>(ApiConfig{}, *svc_, *limiter_, clock_);
    auth_ = std::make_unique<service::AuthService>(db_->users(), db_->sessions(), clock_);
    api_->SetAuth(auth_.get());
    realtime_ =
        std::make_unique<realtime::RealtimeServer>(realtime::RealtimeOptions{}, bus_, clock_);
    realtime_->Register(router_);
    api_->Register(router_);
  }
  void TearDown() override {
    if (realtime_) realtime_->Shutdown();
    fs::remove_all(root_);
  }

  FakeClock clock_;
  std::string root_;
  EventBus bus_;
  std::unique_ptr<db::SqliteDatabase> db_;
  std::unique_ptr<store::ObjectStore> store_;
  std::unique_ptr<service::VideoService> svc_;
  std::unique_ptr<ratelimit::RateLimiter> limiter_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<service::AuthService> auth_;
  std::unique_ptr<realtime::RealtimeServer> realtime_;
  http::Router router_;
};

TEST_F(OpenApiRouterTest, DescribesExactlyTheRoutesTheRouterHas) {
  std::set<Route> routed;
  for (const auto& [method, pattern] : router_.Routes()) {
    // The web UI's static files (index.html for any other path) are not
    // part of the API and "/*path" has no OpenAPI spelling.
    if (method == "GET" && (pattern == "/" || pattern == "/*path")) continue;
    routed.emplace(method, OpenApiPath(pattern));
  }
  std::set<Route> described;
  for (const auto& [route, op] : Operations()) {
    // Served by the realtime upgrade handler before routing (the SSE
    // stream), so no router entry can match it.
    if (op->contains("x-served-by")) continue;
    described.insert(route);
  }
  for (const Route& r : routed)
    EXPECT_TRUE(described.count(r))
        << r.first << " " << r.second << " is routed but not in openapi.json";
  for (const Route& r : described)
    EXPECT_TRUE(routed.count(r)) << r.first << " " << r.second
                                 << " is in openapi.json but not routed";
  EXPECT_GE(routed.size(), 25u);
}

TEST_F(OpenApiRouterTest, ServesTheDescription) {
  const http::Router::Match m = router_.Find("GET", "/api/openapi.json");
  ASSERT_NE(m.target, nullptr);
  http::Request req;
  req.method = "GET";
  req.path = "/api/openapi.json";
  http::Response r = std::get<http::Handler>(*m.target)(req);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.Get("Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(r.headers.Get("Cache-Control"), "public, max-age=300");
  EXPECT_EQ(r.body, OpenApiJson());
}

}  // namespace
}  // namespace vs::api
