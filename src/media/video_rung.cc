#include "media/video_rung.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

extern "C" {
#include <libavutil/opt.h>
}

#include "media/errors.h"

namespace vs::media {
namespace {

// The RFC 6381 codecs string of an H.264 stream, from its SPS (avcC or
// Annex B extradata).
std::string AvcCodecsString(const AVCodecContext* enc) {
  const uint8_t* d = enc->extradata;
  const int n = enc->extradata_size;
  const uint8_t* sps = nullptr;
  if (n >= 4 && d[0] == 1) {
    sps = d + 1;  // avcC: profile, compat, level follow the version byte
  } else {
    for (int i = 0; i + 4 < n; ++i) {
      if (d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1 && (d[i + 3] & 0x1f) == 7 && i + 6 < n) {
        sps = d + i + 4;
        break;
      }
    }
  }
  if (!sps) return "avc1.640028";
  char buf[16];
  snprintf(buf, sizeof(buf), "avc1.%02x%02x%02x", sps[0], sps[1], sps[2]);
  return buf;
}

}  // namespace

Status VideoRung::Open(const TranscodeOptions& opt, const AVCodecContext* dec, int fps_num,
                       int fps_den, int rotation, const std::string& dir) {
  rotation_ = rotation;
  const AVCodec* codec = avcodec_find_encoder_by_name("libx264");
  if (!codec) return MakeError(errc::kInternal, "libx264 encoder is not available");
  enc_.reset(avcodec_alloc_context3(codec));
  AVCodecContext* e = enc_.get();
  e->width = rung_.width;
  e->height = rung_.height;
  e->pix_fmt = AV_PIX_FMT_YUV420P;
  e->time_base = AVRational{fps_den, fps_num};
  e->framerate = AVRational{fps_num, fps_den};
  e->sample_aspect_ratio = AVRational{1, 1};
  e->bit_rate = int64_t{rung_.bitrate_kbps} * 1000;
  e->rc_max_rate = int64_t{rung_.maxrate_kbps} * 1000;
  e->rc_buffer_size = rung_.bufsize_kbps * 1000;
  // IDRs come only from the 4 s grid (forced below); x264 must not add its
  // own, so its maximum interval is longer than a segment.
  const int seg_frames =
      static_cast<int>(std::ceil(double(opt.segment_seconds) * fps_num / fps_den));
  e->gop_size = seg_frames * 2 + 1;
  e->keyint_min = seg_frames;
  e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  // The top rung is about half of all the work: on one thread it would be
  // the critical path, so it gets frame threads; smaller rungs run one
  // thread each and fill the cores around it.
  e->thread_count = top_ ? opt.tuning.top_threads : opt.tuning.rung_threads;
  e->color_range = AVCOL_RANGE_MPEG;
  if (dec->color_primaries != AVCOL_PRI_UNSPECIFIED) e->color_primaries = dec->color_primaries;
  if (dec->color_trc != AVCOL_TRC_UNSPECIFIED) e->color_trc = dec->color_trc;
  if (dec->colorspace != AVCOL_SPC_UNSPECIFIED) e->colorspace = dec->colorspace;
  AVDictionary* o = nullptr;
  av_dict_set(&o, "preset", opt.x264_preset.c_str(), 0);
  av_dict_set(&o, "profile", "high", 0);
  av_dict_set(&o, "forced-idr", "1", 0);
  av_dict_set(&o, "x264-params", X264Params(opt).c_str(), 0);
  int ret = avcodec_open2(e, codec, &o);
  av_dict_free(&o);
  if (ret < 0) return AvError(errc::kEncoderError, "cannot open the H.264 encoder", ret);
  VS_ASSIGN_OR_RETURN(writer_, CmafWriter::Open(dir, id_, e, opt.segment_seconds));
  return {};
}

// Scene cuts and open GOPs off (IDRs only on the segment grid), then the
// tuning's options for this rung, with the overrides last.
std::string VideoRung::X264Params(const TranscodeOptions& opt) const {
  const TranscodeTuning& t = opt.tuning;
  const int short_side = std::min(rung_.width, rung_.height);
  std::string params = "scenecut=0:open-gop=0";
  // The per-rung choices were measured against the default preset; with
  // another preset its own analysis settings stand.
  const std::string* tuned = opt.x264_preset != "veryfast" ? nullptr
                             : top_                        ? &t.top_params
                             : short_side >= 600           ? &t.mid_params
                                                           : &t.small_params;
  for (const std::string* extra : {tuned, &t.x264_params})
    if (extra != nullptr && !extra->empty()) params += ":" + *extra;
  if (auto it = t.rung_params.find(short_side); it != t.rung_params.end() && !it->second.empty())
    params += ":" + it->second;
  return params;
}

std::string VideoRung::codecs() const { return AvcCodecsString(enc_.get()); }

Status VideoRung::Loop() {
  FramePtr scaled = MakeFrame(), tmp = MakeFrame();
  Status s = Pump(scaled.get(), tmp.get());
  // Children see end of input whether we finished or failed.
  for (VideoRung* c : children_) c->queue().Close();
  VS_TRY(s);
  if (failure_->failed()) return {};
  VS_TRY(Encode(nullptr));
  return writer_->Finish();
}

Status VideoRung::Pump(AVFrame* scaled, AVFrame* tmp) {
  while (FramePtr in = queue_.Pop()) {
    AVFrame* pic = scaled;
    if (rotation_ == 0 && in->width == rung_.width && in->height == rung_.height &&
        in->format == AV_PIX_FMT_YUV420P) {
      pic = in.get();  // already the right picture: encode it as is, no copy
    } else {
      VS_TRY(ScaleAndRotate(&sws_, in.get(), rung_.width, rung_.height, rotation_,
                            AV_PIX_FMT_YUV420P, sws_flags_, tmp, scaled, &pool_));
      scaled->pts = in->pts;
      scaled->pict_type = in->pict_type;
    }
    // Smaller rungs scale from this picture instead of the full-size source.
    for (VideoRung* c : children_) {
      FramePtr ref(av_frame_clone(pic));
      if (!ref) return MakeError(errc::kOutOfMemory, "cannot reference frame");
      ref->pts = in->pts;
      ref->pict_type = in->pict_type;
      if (!c->queue().Push(std::move(ref))) return {};
    }
    if (pic != scaled) pic->pict_type = in->pict_type;
    VS_TRY(Encode(pic));
    in.reset();
    frames_done_.fetch_add(1, std::memory_order_relaxed);
  }
  return {};
}

Status VideoRung::Encode(AVFrame* f) {
  int ret = avcodec_send_frame(enc_.get(), f);
  if (ret < 0) return AvError(errc::kEncoderError, "H.264 encoding failed", ret);
  PacketPtr pkt = MakePacket();
  while ((ret = avcodec_receive_packet(enc_.get(), pkt.get())) >= 0) {
    Status s = writer_->Write(pkt.get());
    av_packet_unref(pkt.get());
    VS_TRY(s);
  }
  if (ret != AVERROR(EAGAIN) && ret != AVERROR_EOF)
    return AvError(errc::kEncoderError, "H.264 encoding failed", ret);
  return {};
}

}  // namespace vs::media
