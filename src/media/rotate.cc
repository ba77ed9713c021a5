#include "media/rotate.h"

namespace vs::media {

void RotatePlane(const uint8_t* src, int src_stride, int src_w, int src_h, uint8_t* dst,
                 int dst_stride, int degrees) {
  // Blocked loops keep both the reads and the writes within a few cache lines.
  constexpr int kBlock = 32;
  if (degrees == 180) {
    for (int y = 0; y < src_h; ++y) {
      const uint8_t* s = src + y * src_stride;
      uint8_t* d = dst + (src_h - 1 - y) * dst_stride + (src_w - 1);
      for (int x = 0; x < src_w; ++x) d[-x] = s[x];
    }
    return;
  }
  for (int by = 0; by < src_h; by += kBlock) {
    for (int bx = 0; bx < src_w; bx += kBlock) {
      const int ey = by + kBlock < src_h ? by + kBlock : src_h;
      const int ex = bx + kBlock < src_w ? bx + kBlock : src_w;
      for (int y = by; y < ey; ++y) {
        const uint8_t* s = src + y * src_stride;
        for (int x = bx; x < ex; ++x) {
          // 90 clockwise: source (x, y) lands at column (h-1-y), row x.
          // 270 clockwise: source (x, y) lands at column y, row (w-1-x).
          if (degrees == 90)
            dst[x * dst_stride + (src_h - 1 - y)] = s[x];
          else
            dst[(src_w - 1 - x) * dst_stride + y] = s[x];
        }
      }
    }
  }
}

}  // namespace vs::media
