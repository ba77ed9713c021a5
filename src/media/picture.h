// Writable yuv pictures for the transcoder: a pool of recycled buffers, and
// scaling with rotation into display orientation. Internal to media.
#pragma once

#include <cstddef>

#include "core/result.h"
#include "media/libav_util.h"

namespace vs::media {

// Picture buffers of one size, recycled. A rung whose pictures feed smaller
// rungs cannot reuse its own buffer while they still hold it, and a fresh
// multi-megabyte allocation per frame costs page faults and zeroing in the
// kernel (about 2% of a transcode when measured). Not thread-safe: one rung
// owns it (the buffers it hands out may be released from any thread).
class FramePool {
 public:
  FramePool() = default;
  FramePool(const FramePool&) = delete;
  FramePool& operator=(const FramePool&) = delete;
  ~FramePool() { av_buffer_pool_uninit(&pool_); }  // outstanding buffers keep it alive

  // Points `f` (unreferenced) at a pooled w x h picture of format fmt.
  bool Get(AVFrame* f, int w, int h, AVPixelFormat fmt);

 private:
  static constexpr int kAlign = 64;
  static constexpr size_t kPadding = 256;
  AVBufferPool* pool_ = nullptr;
  int size_ = 0;
};

// Gives `f` a writable yuv buffer of the given size and format, reusing the
// current one when nobody else references it (the encoder copies its input),
// else taking one from `pool` (or a fresh one without a pool).
Status EnsureWritable(AVFrame* f, int w, int h, AVPixelFormat fmt, FramePool* pool);

// Scales `src` to out_w x out_h (display orientation) and applies a clockwise
// rotation of 0/90/180/270 degrees, scaling first because the scaled picture
// is smaller. `tmp` holds the pre-rotation picture when one is needed.
Status ScaleAndRotate(SwsContext** sws, const AVFrame* src, int out_w, int out_h, int rotation,
                      AVPixelFormat fmt, int sws_flags, AVFrame* tmp, AVFrame* dst,
                      FramePool* pool = nullptr);

}  // namespace vs::media
