#include "media/thumbnail.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include "media/errors.h"
#include "media/picture.h"

namespace vs::media {
namespace {

constexpr int kThumbMaxWidth = 1280;

}  // namespace

Status EncodeThumbnail(const AVFrame* src, const ProbeInfo& info, const std::string& path) {
  int tw = std::min(kThumbMaxWidth, info.display_width) & ~1;
  int th =
      static_cast<int>(std::lround(double(info.display_height) * tw / info.display_width)) & ~1;
  tw = std::max(tw, 2);
  th = std::max(th, 2);
  SwsContext* sws = nullptr;
  FramePtr tmp = MakeFrame(), out = MakeFrame();
  Status s = ScaleAndRotate(&sws, src, tw, th, info.rotation, AV_PIX_FMT_YUVJ420P, SWS_BICUBIC,
                            tmp.get(), out.get());
  sws_freeContext(sws);
  VS_TRY(s);
  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
  if (!codec) return MakeError(errc::kInternal, "JPEG encoder is not available");
  CodecContextPtr enc(avcodec_alloc_context3(codec));
  enc->width = tw;
  enc->height = th;
  enc->pix_fmt = AV_PIX_FMT_YUVJ420P;
  enc->time_base = AVRational{1, 25};
  enc->flags |= AV_CODEC_FLAG_QSCALE;
  enc->global_quality = FF_QP2LAMBDA * 3;
  if (avcodec_open2(enc.get(), codec, nullptr) < 0)
    return MakeError(errc::kInternal, "cannot open JPEG encoder");
  out->pts = 0;
  out->quality = enc->global_quality;
  PacketPtr pkt = MakePacket();
  if (avcodec_send_frame(enc.get(), out.get()) < 0 || avcodec_send_frame(enc.get(), nullptr) < 0 ||
      avcodec_receive_packet(enc.get(), pkt.get()) < 0) {
    return MakeError(errc::kInternal, "thumbnail encoding failed");
  }
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(pkt->data), pkt->size);
  if (!f) return MakeError(errc::kIoError, "cannot write thumbnail");
  return {};
}

}  // namespace vs::media
