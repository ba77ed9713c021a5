#include "api/api.h"

#include <gtest/gtest.h>

#include "api/api_internal.h"
#include "api/api_util.h"
#include "db/repository.h"
#include "resilience/circuit_breaker.h"
#include "store/object_store.h"

namespace vs::api {
namespace {

TEST(ApiTest, TiersFollowTheOriginalTable) {
  EXPECT_EQ(TierFor("POST", "/api/upload/generate-presigned-url"), "upload");
  EXPECT_EQ(TierFor("PUT", "/upload/abc"), "transfer");
  EXPECT_EQ(TierFor("POST", "/api/upload/confirm/abc"), "transfer");
  EXPECT_EQ(TierFor("POST", "/api/webhook/processing-complete"), "webhook");
  EXPECT_EQ(TierFor("GET", "/api/videos/search"), "search");
  EXPECT_EQ(TierFor("GET", "/api/videos/abc/status"), "status");
  EXPECT_EQ(TierFor("GET", "/api/videos/abc/manifest.mpd"), "streaming");
  EXPECT_EQ(TierFor("GET", "/api/videos/abc/segments/chunk-0-1.m4s"), "streaming");
  EXPECT_EQ(TierFor("GET", "/media/abc/chunk-0-1.m4s"), "streaming");
  EXPECT_EQ(TierFor("GET", "/api/videos"), "general");
  EXPECT_EQ(TierFor("POST", "/api/auth/login"), "auth");
  EXPECT_EQ(TierFor("POST", "/api/auth/register"), "auth");
  EXPECT_EQ(TierFor("GET", "/api/auth/me"), "general");
  EXPECT_EQ(TierFor("POST", "/api/auth/logout"), "general");
  EXPECT_EQ(TierFor("GET", "/media/t/1-ab/abc/chunk-0-1.m4s"), "streaming");
  EXPECT_EQ(TierFor("GET", "/api/notifications"), "general");
  EXPECT_EQ(TierFor("GET", "/socket.io/"), "streaming");
}

TEST(ApiTest, MimeTypes) {
  EXPECT_EQ(MimeTypeFor("manifest.mpd"), "application/dash+xml");
  EXPECT_EQ(MimeTypeFor("master.m3u8"), "application/vnd.apple.mpegurl");
  EXPECT_EQ(MimeTypeFor("chunk-0-1.m4s"), "video/iso.segment");
  EXPECT_EQ(MimeTypeFor("thumbnail.jpg"), "image/jpeg");
  EXPECT_EQ(MimeTypeFor("x.unknown"), "application/octet-stream");
}

TEST(ApiTest, MagicBytes) {
  const unsigned char mp4[] = {0, 0, 0, 0x20, 'f', 't', 'y', 'p', 'i', 's', 'o', 'm'};
  const unsigned char avi[] = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'A', 'V', 'I', ' '};
  const unsigned char mkv[] = {0x1A, 0x45, 0xDF, 0xA3, 1, 2, 3, 4};
  const unsigned char ogg[] = {'O', 'g', 'g', 'S', 0, 2};
  const unsigned char txt[] = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '!'};
  EXPECT_TRUE(LooksLikeVideo(mp4, sizeof(mp4)));
  EXPECT_TRUE(LooksLikeVideo(avi, sizeof(avi)));
  EXPECT_TRUE(LooksLikeVideo(mkv, sizeof(mkv)));
  EXPECT_TRUE(LooksLikeVideo(ogg, sizeof(ogg)));
  EXPECT_FALSE(LooksLikeVideo(txt, sizeof(txt)));
  EXPECT_FALSE(LooksLikeVideo(mp4, 3));
}

TEST(ApiTest, StatusFollowsTheErrorKind) {
  EXPECT_EQ(StatusFor(ErrorKind::kInvalid), 400);
  EXPECT_EQ(StatusFor(ErrorKind::kForbidden), 403);
  EXPECT_EQ(StatusFor(ErrorKind::kUnauthenticated), 401);
  EXPECT_EQ(StatusFor(ErrorKind::kNotFound), 404);
  EXPECT_EQ(StatusFor(ErrorKind::kConflict), 409);
  EXPECT_EQ(StatusFor(ErrorKind::kTooLarge), 413);
  EXPECT_EQ(StatusFor(ErrorKind::kUnavailable), 503);
  EXPECT_EQ(StatusFor(ErrorKind::kInternal), 500);
  EXPECT_EQ(StatusFor(ErrorKind::kInsufficientStorage), 507);
}

TEST(ApiTest, UnavailableDependenciesAnswer503WithRetryAfter) {
  auto db = FromError(db::DbError("postgres: connect: host db-7 refused"));
  EXPECT_EQ(db.status, 503);
  EXPECT_EQ(db.headers.Get("Retry-After"), "5");
  EXPECT_EQ(db.body,
            http::ErrorJson("unavailable", "a storage dependency is unavailable; please retry"));
  auto store = FromError(store::StoreError("S3 GET x: timeout"));
  EXPECT_EQ(store.status, 503);
  EXPECT_EQ(store.body, db.body);
  // The breaker's message is written for clients and is passed on.
  auto open = FromError(MakeError(ErrorKind::kUnavailable, resilience::kCircuitOpen,
                                  "database is unavailable (circuit open); retry later"));
  EXPECT_EQ(open.status, 503);
  EXPECT_EQ(open.headers.Get("Retry-After"), "5");
  EXPECT_EQ(open.body,
            http::ErrorJson("unavailable", "database is unavailable (circuit open); retry later"));
}

TEST(ApiTest, ClientErrorsKeepTheirCodeAndMessage) {
  auto bad = FromError(MakeError(ErrorKind::kInvalid, "invalid_field", "title must be a string"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body, http::ErrorJson("invalid_field", "title must be a string"));
  auto cursor = FromError(MakeError(ErrorKind::kInvalid, db::kBadCursor, "malformed cursor"));
  EXPECT_EQ(cursor.status, 400);
  EXPECT_EQ(cursor.body, http::ErrorJson("invalid_cursor", "malformed cursor"));
}

TEST(ApiTest, InternalErrorsHideTheirDetails) {
  auto r = FromError(MakeError("encoder_error", "libx264 exploded at /tmp/x"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, http::ErrorJson("internal", "internal error; please retry"));
  EXPECT_TRUE(r.headers.Get("Retry-After").empty());
  EXPECT_EQ(r.log_note, "encoder_error: libx264 exploded at /tmp/x") << "the cause goes to the access log";
}

// A full disk (the local store's ENOSPC, SQLite's SQLITE_FULL) is 507 with a
// message a person can act on; the errno text stays in the log.
TEST(ApiTest, AFullDiskAnswers507AndLogsItsCause) {
  auto r = FromError(store::StorageFull("write: No space left on device"));
  EXPECT_EQ(r.status, 507);
  EXPECT_EQ(r.body, http::ErrorJson("insufficient_storage",
                                    "the server's storage is full; nothing was stored. Try again later"));
  EXPECT_EQ(r.headers.Get("Retry-After"), "60");
  EXPECT_EQ(r.log_note, "insufficient_storage: write: No space left on device");
  EXPECT_TRUE(FromError(MakeError(ErrorKind::kInvalid, "invalid_field", "x")).log_note.empty())
      << "client errors are not logged as causes";
}

http::Request JsonRequest(std::string content_type, std::string body) {
  http::Request req;
  if (!content_type.empty()) req.headers.Set("Content-Type", std::move(content_type));
  req.body = std::move(body);
  return req;
}

TEST(ApiTest, JsonBodiesNeedTheJsonContentType) {
  EXPECT_TRUE(IsJsonContentType("application/json"));
  EXPECT_TRUE(IsJsonContentType("Application/JSON; charset=utf-8"));
  EXPECT_TRUE(IsJsonContentType(" application/json ;charset=UTF-8"));
  EXPECT_FALSE(IsJsonContentType(""));
  EXPECT_FALSE(IsJsonContentType("text/plain"));
  EXPECT_FALSE(IsJsonContentType("application/jsonp"));
  EXPECT_FALSE(IsJsonContentType("application/x-www-form-urlencoded"));
  for (const char* type : {"text/plain", "", "multipart/form-data; boundary=x"}) {
    auto r = JsonBody(JsonRequest(type, R"({"title":"x"})"), {"title"});
    ASSERT_TRUE(std::holds_alternative<http::Response>(r)) << type;
    EXPECT_EQ(std::get<http::Response>(r).status, 415) << type;
    EXPECT_EQ(std::get<http::Response>(r).body,
              http::ErrorJson("unsupported_media_type", "send the body as Content-Type: application/json"));
  }
}

TEST(ApiTest, JsonBodiesNameTheFirstUnknownField) {
  auto ok = JsonBody(JsonRequest("application/json; charset=utf-8", R"({"title":"x","description":""})"),
                     {"title", "description"});
  ASSERT_TRUE(std::holds_alternative<json::object>(ok));
  EXPECT_EQ(std::get<json::object>(ok).size(), 2u);
  auto unknown = JsonBody(JsonRequest("application/json", R"({"title":"x","status":"READY"})"), {"title"});
  ASSERT_TRUE(std::holds_alternative<http::Response>(unknown));
  EXPECT_EQ(std::get<http::Response>(unknown).status, 400);
  EXPECT_EQ(std::get<http::Response>(unknown).body, http::ErrorJson("invalid_field", "unknown field: status"));
  auto bad = JsonBody(JsonRequest("application/json", "[1]"), {"title"});
  ASSERT_TRUE(std::holds_alternative<http::Response>(bad));
  EXPECT_EQ(std::get<http::Response>(bad).status, 400);
}

TEST(ApiTest, ThePagePolicyAllowsItsOwnScriptsAndTheMediaOrigins) {
  ApiConfig cfg;
  const std::string plain = ContentSecurityPolicy(cfg, "http://localhost:8080");
  EXPECT_NE(plain.find("script-src 'self';"), std::string::npos) << plain;
  EXPECT_NE(plain.find("media-src 'self' blob:;"), std::string::npos) << plain;
  EXPECT_NE(plain.find("connect-src 'self' ws://localhost:8080;"), std::string::npos) << plain;
  EXPECT_NE(plain.find("frame-ancestors 'none'"), std::string::npos) << plain;
  EXPECT_EQ(plain.find("unsafe-eval"), std::string::npos) << plain;
  cfg.content_urls = {"https://cdn.example.com/videos/", "http://127.0.0.1:4569"};
  const std::string cdn = ContentSecurityPolicy(cfg, "https://vs.example.com");
  EXPECT_NE(cdn.find("connect-src 'self' wss://vs.example.com https://cdn.example.com https://*.cdn.example.com "
                     "http://127.0.0.1:4569 http://*.127.0.0.1:4569;"),
            std::string::npos)
      << cdn;
  EXPECT_NE(cdn.find("media-src 'self' blob: https://cdn.example.com"), std::string::npos) << cdn;
  EXPECT_NE(cdn.find("img-src 'self' data: blob: https://cdn.example.com"), std::string::npos) << cdn;
}

}  // namespace
}  // namespace vs::api
