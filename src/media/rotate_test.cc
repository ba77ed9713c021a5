#include "media/rotate.h"

#include <gtest/gtest.h>

#include <vector>

namespace vs::media {
namespace {

// 3 wide, 2 high:  a b c
//                  d e f
const std::vector<uint8_t> kSrc = {'a', 'b', 'c', 'd', 'e', 'f'};

std::string Rotate(int degrees, int dst_w, int dst_h) {
  std::vector<uint8_t> dst(dst_w * dst_h, '.');
  RotatePlane(kSrc.data(), 3, 3, 2, dst.data(), dst_w, degrees);
  return std::string(dst.begin(), dst.end());
}

TEST(RotateTest, Clockwise90) {
  // d a
  // e b
  // f c
  EXPECT_EQ(Rotate(90, 2, 3), "daebfc");
}

TEST(RotateTest, Clockwise270) {
  // c f
  // b e
  // a d
  EXPECT_EQ(Rotate(270, 2, 3), "cfbead");
}

TEST(RotateTest, Half) { EXPECT_EQ(Rotate(180, 3, 2), "fedcba"); }

TEST(RotateTest, LargerThanOneBlockRoundTrips) {
  const int w = 70, h = 45;
  std::vector<uint8_t> src(w * h), r90(w * h), back(w * h);
  for (int i = 0; i < w * h; ++i) src[i] = static_cast<uint8_t>(i * 7 + i / w);
  RotatePlane(src.data(), w, w, h, r90.data(), h, 90);
  RotatePlane(r90.data(), h, h, w, back.data(), w, 270);
  EXPECT_EQ(src, back);
}

}  // namespace
}  // namespace vs::media
