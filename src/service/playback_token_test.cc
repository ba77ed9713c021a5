#include "service/playback_token.h"

#include <gtest/gtest.h>

namespace vs::service {
namespace {

const std::string kVideo = "0123456789abcdef01234567";

TEST(PlaybackTokenTest, ValidForItsVideoUntilItExpires) {
  const std::string t = SignPlayback("secret", kVideo, 1000);
  EXPECT_EQ(t.rfind("1000-", 0), 0u);
  EXPECT_EQ(CheckPlayback("secret", kVideo, t, 999), PlaybackCheck::kValid);
  EXPECT_EQ(CheckPlayback("secret", kVideo, t, 1000), PlaybackCheck::kExpired);
  EXPECT_EQ(PlaybackExpiry(t), 1000);
  EXPECT_EQ(PlaybackExpiry("x-1"), 0);
  EXPECT_EQ(PlaybackPath(t, kVideo, "manifest.mpd"), "/media/t/" + t + "/" + kVideo + "/manifest.mpd");
}

TEST(PlaybackTokenTest, RefusesOtherVideosSecretsAndAlterations) {
  const std::string t = SignPlayback("secret", kVideo, 1000);
  EXPECT_EQ(CheckPlayback("secret", "0123456789abcdef01234568", t, 1), PlaybackCheck::kInvalid);
  EXPECT_EQ(CheckPlayback("other", kVideo, t, 1), PlaybackCheck::kInvalid);
  std::string later = t;
  later.replace(0, 4, "9999");  // a longer life, same signature
  EXPECT_EQ(CheckPlayback("secret", kVideo, later, 1), PlaybackCheck::kInvalid);
  std::string flipped = t;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  EXPECT_EQ(CheckPlayback("secret", kVideo, flipped, 1), PlaybackCheck::kInvalid);
  for (const std::string& bad : {std::string(""), std::string("-"), std::string("1000"),
                                 std::string("x-") + t.substr(5), std::string("-") + t.substr(5),
                                 std::string("+100-") + t.substr(5)})
    EXPECT_EQ(CheckPlayback("secret", kVideo, bad, 1), PlaybackCheck::kInvalid) << bad;
}

}  // namespace
}  // namespace vs::service
