#include "media/picture.h"

extern "C" {
#include <libavutil/imgutils.h>
}

#include "media/errors.h"
#include "media/rotate.h"

namespace vs::media {

bool FramePool::Get(AVFrame* f, int w, int h, AVPixelFormat fmt) {
  const int size = av_image_get_buffer_size(fmt, w, h, kAlign);
  if (size <= 0) return false;
  if (pool_ == nullptr || size != size_) {
    av_buffer_pool_uninit(&pool_);
    // Padding: SIMD scalers and encoders may read a little past the end.
    pool_ = av_buffer_pool_init(static_cast<size_t>(size) + kPadding, nullptr);
    size_ = size;
    if (pool_ == nullptr) return false;
  }
  f->buf[0] = av_buffer_pool_get(pool_);
  if (f->buf[0] == nullptr) return false;
  f->width = w;
  f->height = h;
  f->format = fmt;
  return av_image_fill_arrays(f->data, f->linesize, f->buf[0]->data, fmt, w, h, kAlign) >= 0;
}

Status EnsureWritable(AVFrame* f, int w, int h, AVPixelFormat fmt, FramePool* pool) {
  if (f->buf[0] && f->width == w && f->height == h && f->format == fmt && av_frame_is_writable(f)) {
    return {};
  }
  av_frame_unref(f);
  if (pool != nullptr) {
    if (!pool->Get(f, w, h, fmt)) return MakeError(errc::kOutOfMemory, "cannot allocate frame");
    return {};
  }
  f->width = w;
  f->height = h;
  f->format = fmt;
  if (av_frame_get_buffer(f, 0) < 0) return MakeError(errc::kOutOfMemory, "cannot allocate frame");
  return {};
}

Status ScaleAndRotate(SwsContext** sws, const AVFrame* src, int out_w, int out_h, int rotation,
                      AVPixelFormat fmt, int sws_flags, AVFrame* tmp, AVFrame* dst,
                      FramePool* pool) {
  const bool swap = rotation == 90 || rotation == 270;
  const int sw = swap ? out_h : out_w;
  const int sh = swap ? out_w : out_h;
  *sws =
      sws_getCachedContext(*sws, src->width, src->height, static_cast<AVPixelFormat>(src->format),
                           sw, sh, fmt, sws_flags, nullptr, nullptr, nullptr);
  if (!*sws) return MakeError(errc::kUndecodableVideo, "unsupported picture format in the video");
  AVFrame* target = rotation == 0 ? dst : tmp;
  VS_TRY(EnsureWritable(target, sw, sh, fmt, rotation == 0 ? pool : nullptr));
  if (sws_scale(*sws, src->data, src->linesize, 0, src->height, target->data, target->linesize) <=
      0) {
    return MakeError(errc::kInternal, "scaling failed");
  }
  if (rotation != 0) {
    VS_TRY(EnsureWritable(dst, out_w, out_h, fmt, pool));
    for (int p = 0; p < 3; ++p) {
      const int div = p == 0 ? 1 : 2;
      RotatePlane(tmp->data[p], tmp->linesize[p], sw / div, sh / div, dst->data[p],
                  dst->linesize[p], rotation);
    }
  }
  return {};
}

}  // namespace vs::media
