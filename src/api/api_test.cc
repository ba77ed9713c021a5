#include "api/api.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace vs::api
