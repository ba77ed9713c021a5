#include "core/video.h"

#include <gtest/gtest.h>

#include <set>

#include "core/ids.h"

namespace vs {
namespace {

TEST(VideoStatusTest, RoundTripsAndParsesLowerCase) {
  for (VideoStatus s : kAllVideoStatuses) EXPECT_EQ(ParseVideoStatus(ToString(s)), s);
  EXPECT_EQ(ParseVideoStatus("ready"), VideoStatus::kReady);
  EXPECT_FALSE(ParseVideoStatus("done").has_value());
  EXPECT_FALSE(ParseVideoStatus("").has_value());
}

TEST(VideoStatusTest, ReadyIsFinal) {
  for (VideoStatus s : kAllVideoStatuses) EXPECT_FALSE(CanTransition(VideoStatus::kReady, s));
  EXPECT_TRUE(CanTransition(VideoStatus::kUploading, VideoStatus::kUploaded));
  EXPECT_TRUE(CanTransition(VideoStatus::kUploaded, VideoStatus::kProcessing));
  EXPECT_TRUE(CanTransition(VideoStatus::kProcessing, VideoStatus::kReady));
  EXPECT_TRUE(CanTransition(VideoStatus::kProcessing, VideoStatus::kError));
  EXPECT_FALSE(CanTransition(VideoStatus::kUploading, VideoStatus::kReady));
  EXPECT_FALSE(CanTransition(VideoStatus::kError, VideoStatus::kReady));
}

TEST(VisibilityTest, RoundTripsAndParsesOnlyExactNames) {
  for (Visibility v : kAllVisibilities) EXPECT_EQ(ParseVisibility(ToString(v)), v);
  EXPECT_EQ(ToString(Visibility::kUnlisted), "unlisted");
  EXPECT_FALSE(ParseVisibility("Public").has_value());
  EXPECT_FALSE(ParseVisibility("public ").has_value());
  EXPECT_FALSE(ParseVisibility("").has_value());
}

TEST(IdsTest, ValidUniqueAndTimeOrdered) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewId(1'700'000'000'000);
    EXPECT_TRUE(IsValidId(id)) << id;
    EXPECT_TRUE(seen.insert(id).second);
  }
  EXPECT_LT(NewId(1'700'000'000'000).substr(0, 8), NewId(1'700'000'100'000).substr(0, 8));
  EXPECT_FALSE(IsValidId("../../etc/passwd"));
  EXPECT_FALSE(IsValidId("ABCDEF0123456789abcdef01"));
  EXPECT_EQ(RandomHex(32).size(), 64u);
}

}  // namespace
}  // namespace vs
