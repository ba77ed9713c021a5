#include "media/transcoder.h"

#include <gtest/gtest.h>

#include "media/errors.h"

namespace vs::media {
namespace {

struct RateCase {
  int num, den, want_num, want_den;
};

TEST(ChooseFrameRateTest, SnapsCommonRatesAndCapsHighOnes) {
  const RateCase cases[] = {
      {30, 1, 30, 1},          {2997, 100, 30000, 1001}, {30000, 1001, 30000, 1001},
      {25, 1, 25, 1},          {5994, 100, 60000, 1001}, {120, 1, 60, 1},
      {0, 0, 30, 1},           {24000, 1001, 24000, 1001}, {15, 1, 15, 1},
      {1, 10, 1, 1},
  };
  for (const auto& c : cases) {
    int n = 0, d = 0;
    ChooseFrameRate(c.num, c.den, &n, &d);
    EXPECT_EQ(n, c.want_num) << c.num << "/" << c.den;
    EXPECT_EQ(d, c.want_den) << c.num << "/" << c.den;
  }
}

TEST(ErrorMappingTest, InputErrorsAreRejectionsOthersAreInternal) {
  EXPECT_TRUE(IsRejectedInput(MakeError(errc::kUnsupportedContainer, "")));
  EXPECT_TRUE(IsRejectedInput(MakeError(errc::kTruncatedInput, "")));
  EXPECT_TRUE(IsRejectedInput(MakeError(errc::kDimensionsTooLarge, "")));
  EXPECT_FALSE(IsRejectedInput(MakeError(errc::kIoError, "")));
  EXPECT_FALSE(IsRejectedInput(MakeError(errc::kEncoderError, "")));
  EXPECT_FALSE(IsRejectedInput(MakeError(errc::kTimeLimit, "")));
}

TEST(ContainerWhitelistTest, AcceptsVideoContainersOnly) {
  EXPECT_TRUE(IsAllowedContainer("mov,mp4,m4a,3gp,3g2,mj2"));
  EXPECT_TRUE(IsAllowedContainer("matroska,webm"));
  EXPECT_TRUE(IsAllowedContainer("avi"));
  EXPECT_TRUE(IsAllowedContainer("ogg"));
  EXPECT_FALSE(IsAllowedContainer("hls"));
  EXPECT_FALSE(IsAllowedContainer("dash"));
  EXPECT_FALSE(IsAllowedContainer("concat"));
  EXPECT_FALSE(IsAllowedContainer("image2"));
  EXPECT_FALSE(IsAllowedContainer("tty"));
}

}  // namespace
}  // namespace vs::media
