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

}  // namespace
}  // namespace vs
