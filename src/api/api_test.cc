#include "api/api.h"

#include <gtest/gtest.h>

#include "api/api_util.h"
#include "db/repository.h"
#include "resilience/circuit_breaker.h"
#include "store/object_store.h"

namespace vs::api {
namespace {

TEST(ApiTest, TiersFollowTheOriginalTable) {
  EXPECT_EQ(TierFor("POST", "/api/upload/generate-presigned-url"), "upload");
  EXPECT_EQ(TierFor("PUT", "/upload/abc"), "upload");
  EXPECT_EQ(TierFor("POST", "/api/webhook/processing-complete"), "webhook");
  EXPECT_EQ(TierFor("GET", "/api/videos/search"), "search");
  EXPECT_EQ(TierFor("GET", "/api/videos/abc/status"), "status");
  EXPECT_EQ(TierFor("GET", "/api/videos/abc/manifest.mpd"), "streaming");
  EXPECT_EQ(TierFor("GET", "/api/videos/abc/segments/chunk-0-1.m4s"), "streaming");
  EXPECT_EQ(TierFor("GET", "/media/abc/chunk-0-1.m4s"), "streaming");
  EXPECT_EQ(TierFor("GET", "/api/videos"), "general");
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
  EXPECT_EQ(StatusFor(ErrorKind::kNotFound), 404);
  EXPECT_EQ(StatusFor(ErrorKind::kConflict), 409);
  EXPECT_EQ(StatusFor(ErrorKind::kTooLarge), 413);
  EXPECT_EQ(StatusFor(ErrorKind::kUnavailable), 503);
  EXPECT_EQ(StatusFor(ErrorKind::kInternal), 500);
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
}

}  // namespace
}  // namespace vs::api
