#include "media/ladder.h"

#include <gtest/gtest.h>

namespace vs::media {
namespace {

TEST(LadderTest, Landscape1080pGetsFourRungs) {
  auto rungs = SelectRungs(1920, 1080, DefaultLadder());
  ASSERT_EQ(rungs.size(), 4u);
  EXPECT_EQ(rungs[0].name, "1080p");
  EXPECT_EQ(rungs[0].width, 1920);
  EXPECT_EQ(rungs[0].height, 1080);
  EXPECT_EQ(rungs[1].width, 1280);
  EXPECT_EQ(rungs[1].height, 720);
  EXPECT_EQ(rungs[2].width, 854);  // 853.33 rounded to even
  EXPECT_EQ(rungs[2].height, 480);
  EXPECT_EQ(rungs[3].width, 640);
  EXPECT_EQ(rungs[3].height, 360);
  EXPECT_EQ(rungs[0].bitrate_kbps, 4500);
  EXPECT_EQ(rungs[0].maxrate_kbps, 4950);
  EXPECT_EQ(rungs[0].bufsize_kbps, 9000);
  EXPECT_EQ(rungs[3].bitrate_kbps, 600);
}

TEST(LadderTest, PortraitUsesShortSide) {
  auto rungs = SelectRungs(1080, 1920, DefaultLadder());
  ASSERT_EQ(rungs.size(), 4u);
  EXPECT_EQ(rungs[0].width, 1080);
  EXPECT_EQ(rungs[0].height, 1920);
  EXPECT_EQ(rungs[3].width, 360);
  EXPECT_EQ(rungs[3].height, 640);
  EXPECT_EQ(rungs[3].name, "360p");
}

TEST(LadderTest, NeverUpscales720pSource) {
  auto rungs = SelectRungs(1280, 720, DefaultLadder());
  ASSERT_EQ(rungs.size(), 3u);
  EXPECT_EQ(rungs[0].name, "720p");
  EXPECT_EQ(rungs[0].width, 1280);
}

TEST(LadderTest, FourKCapsAt1080p) {
  auto rungs = SelectRungs(3840, 2160, DefaultLadder());
  ASSERT_EQ(rungs.size(), 4u);
  EXPECT_EQ(rungs[0].width, 1920);
  EXPECT_EQ(rungs[0].height, 1080);
}

TEST(LadderTest, SlightlyUndersizedSourceKeepsItsOwnSize) {
  auto rungs = SelectRungs(1916, 1076, DefaultLadder());
  ASSERT_EQ(rungs.size(), 4u);
  EXPECT_EQ(rungs[0].name, "1080p");
  EXPECT_EQ(rungs[0].height, 1076);  // not upscaled to 1080
  EXPECT_EQ(rungs[0].width, 1916);
}

TEST(LadderTest, TinySourceGetsOneRungAtItsOwnEvenSize) {
  auto rungs = SelectRungs(321, 241, DefaultLadder());
  ASSERT_EQ(rungs.size(), 1u);
  EXPECT_EQ(rungs[0].width % 2, 0);
  EXPECT_EQ(rungs[0].height % 2, 0);
  EXPECT_LE(rungs[0].height, 242);
  EXPECT_GE(rungs[0].height, 240);
  EXPECT_LT(rungs[0].bitrate_kbps, 600);
  EXPECT_GE(rungs[0].bitrate_kbps, 100);
}

TEST(LadderTest, KeepsDisplayAspectForOddShapes) {
  auto rungs = SelectRungs(2000, 1000, DefaultLadder());  // 2:1
  ASSERT_EQ(rungs.size(), 3u);                            // 720, 480, 360 (1000 < 1080)
  for (const auto& r : rungs) {
    EXPECT_EQ(r.width % 2, 0);
    EXPECT_EQ(r.height % 2, 0);
    EXPECT_NEAR(static_cast<double>(r.width) / r.height, 2.0, 0.01);
  }
}

TEST(LadderTest, ParseLadder) {
  auto l = ParseLadder("720:2500,1080:4500");
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].short_side, 1080);
  EXPECT_EQ(l[1].bitrate_kbps, 2500);
  EXPECT_TRUE(ParseLadder("720").empty());
  EXPECT_TRUE(ParseLadder("720:abc").empty());
  EXPECT_TRUE(ParseLadder("99999:100").empty());
}

TEST(LadderTest, EmptyOrInvalidSourceGivesNoRungs) {
  EXPECT_TRUE(SelectRungs(0, 1080, DefaultLadder()).empty());
  EXPECT_TRUE(SelectRungs(1920, 1080, {}).empty());
}

}  // namespace
}  // namespace vs::media
