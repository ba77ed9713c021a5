#include "http/conditional.h"

#include <gtest/gtest.h>

namespace vs::http {
namespace {

using Kind = ByteRange::Kind;

TEST(EtagMatchesTest, ListsWildcardAndWeakTags) {
  EXPECT_TRUE(EtagMatches("\"a\"", "\"a\""));
  EXPECT_TRUE(EtagMatches("*", "\"a\""));
  EXPECT_TRUE(EtagMatches("\"x\", \"a\"", "\"a\""));
  EXPECT_TRUE(EtagMatches(" W/\"a\" ", "\"a\""));
  EXPECT_TRUE(EtagMatches("\"x\",W/\"a\"", "\"a\""));
  EXPECT_FALSE(EtagMatches("\"b\"", "\"a\""));
  EXPECT_FALSE(EtagMatches("a", "\"a\""));
  EXPECT_FALSE(EtagMatches("\"x\",", "\"a\""));
  EXPECT_FALSE(EtagMatches("", "\"a\""));
}

void ExpectRange(std::string_view header, uint64_t size, uint64_t first, uint64_t last) {
  const ByteRange r = ParseRange(header, size);
  EXPECT_EQ(r.kind, Kind::kSatisfiable) << header;
  EXPECT_EQ(r.first, first) << header;
  EXPECT_EQ(r.last, last) << header;
}

TEST(ParseRangeTest, SatisfiableRanges) {
  ExpectRange("bytes=0-99", 1000, 0, 99);
  ExpectRange("bytes=100-", 1000, 100, 999);
  ExpectRange("bytes=900-5000", 1000, 900, 999);  // clamped to the end
  ExpectRange("bytes=5-5", 1000, 5, 5);
  ExpectRange("bytes=-100", 1000, 900, 999);  // suffix
  ExpectRange("bytes=-5000", 1000, 0, 999);
}

TEST(ParseRangeTest, UnsatisfiableRanges) {
  EXPECT_EQ(ParseRange("bytes=1000-", 1000).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(ParseRange("bytes=2000-3000", 1000).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(ParseRange("bytes=-0", 1000).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(ParseRange("bytes=-10", 0).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(ParseRange("bytes=0-", 0).kind, Kind::kUnsatisfiable);
}

TEST(ParseRangeTest, IgnoredRanges) {
  for (const char* h : {"", "items=0-1", "bytes=0-1,5-6", "bytes=5", "bytes=-", "bytes=a-1", "bytes=1-a",
                        "bytes=9-5", "bytes=-x", "bytes= 0-1", "bytes=12345678901234567890-"}) {
    EXPECT_EQ(ParseRange(h, 1000).kind, Kind::kIgnored) << h;
  }
}

Headers With(std::initializer_list<std::pair<const char*, const char*>> fields) {
  Headers h;
  for (const auto& [k, v] : fields) h.Set(k, v);
  return h;
}

TEST(AnswerConditionalTest, WholeBodyWithoutConditions) {
  const ConditionalAnswer a = AnswerConditional(Headers(), "\"e\"", 1000);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.offset, 0u);
  EXPECT_EQ(a.length, 1000u);
  EXPECT_TRUE(a.content_range.empty());
}

TEST(AnswerConditionalTest, NotModifiedBeatsRange) {
  const ConditionalAnswer a =
      AnswerConditional(With({{"If-None-Match", "\"e\""}, {"Range", "bytes=0-1"}}), "\"e\"", 1000);
  EXPECT_EQ(a.status, 304);
  EXPECT_EQ(AnswerConditional(With({{"If-None-Match", "\"old\""}}), "\"e\"", 1000).status, 200);
}

TEST(AnswerConditionalTest, PartialContent) {
  const ConditionalAnswer a = AnswerConditional(With({{"Range", "bytes=10-19"}}), "\"e\"", 1000);
  EXPECT_EQ(a.status, 206);
  EXPECT_EQ(a.offset, 10u);
  EXPECT_EQ(a.length, 10u);
  EXPECT_EQ(a.content_range, "bytes 10-19/1000");
}

TEST(AnswerConditionalTest, IfRangeMustNameTheCurrentTag) {
  const Headers stale = With({{"Range", "bytes=10-19"}, {"If-Range", "\"old\""}});
  const ConditionalAnswer whole = AnswerConditional(stale, "\"e\"", 1000);
  EXPECT_EQ(whole.status, 200);
  EXPECT_EQ(whole.length, 1000u);
  const Headers current = With({{"Range", "bytes=10-19"}, {"If-Range", "\"e\""}});
  EXPECT_EQ(AnswerConditional(current, "\"e\"", 1000).status, 206);
}

TEST(AnswerConditionalTest, UnsatisfiableAndIgnoredRanges) {
  const ConditionalAnswer a = AnswerConditional(With({{"Range", "bytes=1000-"}}), "\"e\"", 1000);
  EXPECT_EQ(a.status, 416);
  EXPECT_EQ(a.content_range, "bytes */1000");
  const ConditionalAnswer b = AnswerConditional(With({{"Range", "bytes=0-1,4-5"}}), "\"e\"", 1000);
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(b.length, 1000u);
}

}  // namespace
}  // namespace vs::http
