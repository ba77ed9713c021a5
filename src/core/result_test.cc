#include "core/result.h"

#include <gtest/gtest.h>

namespace vs {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return MakeError("odd", "value is odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  VS_ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

Status CheckEven(int x) {
  VS_TRY(Half(x));
  return {};
}

TEST(ResultTest, ValueAndErrorPropagate) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);  // 6/2 = 3 is odd
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "odd");
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_EQ(CheckEven(5).error().message, "value is odd");
}

TEST(ResultTest, ErrorKindDefaultsToInternal) {
  EXPECT_EQ(MakeError("odd", "value is odd").kind, ErrorKind::kInternal);
  EXPECT_EQ(Error{}.kind, ErrorKind::kInternal);
}

TEST(ResultTest, ErrorKindTravelsWithTheError) {
  Error e = MakeError(ErrorKind::kUnavailable, "db_error", "down");
  EXPECT_EQ(e.kind, ErrorKind::kUnavailable);
  EXPECT_EQ(e.code, "db_error");
  EXPECT_EQ(e.message, "down");
  Status s = e;
  EXPECT_EQ(s.error().kind, ErrorKind::kUnavailable);
}

TEST(ResultTest, ErrorKindNames) {
  EXPECT_EQ(ToString(ErrorKind::kInvalid), "invalid");
  EXPECT_EQ(ToString(ErrorKind::kNotFound), "not_found");
  EXPECT_EQ(ToString(ErrorKind::kConflict), "conflict");
  EXPECT_EQ(ToString(ErrorKind::kUnavailable), "unavailable");
  EXPECT_EQ(ToString(ErrorKind::kTooLarge), "too_large");
  EXPECT_EQ(ToString(ErrorKind::kUnauthenticated), "unauthenticated");
  EXPECT_EQ(ToString(ErrorKind::kForbidden), "forbidden");
  EXPECT_EQ(ToString(ErrorKind::kInternal), "internal");
  EXPECT_EQ(ToString(ErrorKind::kInsufficientStorage), "insufficient_storage");
}

}  // namespace
}  // namespace vs
