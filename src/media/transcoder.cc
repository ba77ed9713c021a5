#include "media/transcoder.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
}

#include "media/cmaf_writer.h"
#include "media/errors.h"
#include "media/input.h"
#include "media/manifest.h"
#include "media/rotate.h"

namespace vs::media {
namespace {

namespace fs = std::filesystem;

constexpr int kAudioRate = 48000;
constexpr int kAudioChannels = 2;

constexpr int kThumbMaxWidth = 1280;

// A bounded queue of decoded frames from the demux/decode thread to one rung.
// Push blocks while full; Abort wakes everybody and makes both sides give up.
class FrameQueue {
 public:
  // Deep enough that a rung busy with an expensive frame (an IDR) does not
  // stall the decoder and with it every other rung; each entry is a
  // reference to a shared decoded picture.
  void SetCapacity(size_t n) { capacity_ = std::max<size_t>(1, n); }
  bool Push(FramePtr f) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return q_.size() < capacity_ || aborted_; });
    if (aborted_) return false;
    q_.push_back(std::move(f));
    not_empty_.notify_one();
    return true;
  }
  // Returns nullptr once closed and drained, or aborted.
  FramePtr Pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return !q_.empty() || closed_ || aborted_; });
    if (aborted_ || q_.empty()) return nullptr;
    FramePtr f = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return f;
  }
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
  }
  void Abort() {
    std::lock_guard lock(mu_);
    aborted_ = true;
    q_.clear();
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<FramePtr> q_;
  size_t capacity_ = 16;
  bool closed_ = false;
  bool aborted_ = false;
};

// First error wins; recording it aborts every queue so no thread blocks.
class FailureState {
 public:
  void Fail(const Error& e) {
    std::vector<FrameQueue*> queues;
    {
      std::lock_guard lock(mu_);
      if (!error_) error_ = e;
      queues = queues_;
    }
    failed_.store(true);
    for (auto* q : queues) q->Abort();
  }
  bool failed() const { return failed_.load(); }
  std::optional<Error> error() {
    std::lock_guard lock(mu_);
    return error_;
  }
  void Watch(FrameQueue* q) {
    std::lock_guard lock(mu_);
    queues_.push_back(q);
  }

 private:
  std::mutex mu_;
  std::atomic<bool> failed_{false};
  std::optional<Error> error_;
  std::vector<FrameQueue*> queues_;
};

// Picture buffers of one size, recycled. A rung whose pictures feed smaller
// rungs cannot reuse its own buffer while they still hold it, and a fresh
// multi-megabyte allocation per frame costs page faults and zeroing in the
// kernel (about 2% of a transcode when measured).
class FramePool {
 public:
  FramePool() = default;
  FramePool(const FramePool&) = delete;
  FramePool& operator=(const FramePool&) = delete;
  ~FramePool() { av_buffer_pool_uninit(&pool_); }  // outstanding buffers keep it alive

  // Points `f` (unreferenced) at a pooled w x h picture of format fmt.
  bool Get(AVFrame* f, int w, int h, AVPixelFormat fmt) {
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

 private:
  static constexpr int kAlign = 64;
  static constexpr size_t kPadding = 256;
  AVBufferPool* pool_ = nullptr;
  int size_ = 0;
};

// Gives `f` a writable yuv buffer of the given size and format, reusing the
// current one when nobody else references it (the encoder copies its input),
// else taking one from `pool` (or a fresh one without a pool).
Status EnsureWritable(AVFrame* f, int w, int h, AVPixelFormat fmt, FramePool* pool) {
  if (f->buf[0] && f->width == w && f->height == h && f->format == fmt &&
      av_frame_is_writable(f)) {
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

// Scales `src` to out_w x out_h (display orientation) and applies a clockwise
// rotation of 0/90/180/270 degrees, scaling first because the scaled picture
// is smaller. `tmp` holds the pre-rotation picture when one is needed.
Status ScaleAndRotate(SwsContext** sws, const AVFrame* src, int out_w, int out_h, int rotation,
                      AVPixelFormat fmt, int sws_flags, AVFrame* tmp, AVFrame* dst,
                      FramePool* pool = nullptr) {
  const bool swap = rotation == 90 || rotation == 270;
  const int sw = swap ? out_h : out_w;
  const int sh = swap ? out_w : out_h;
  *sws = sws_getCachedContext(*sws, src->width, src->height, static_cast<AVPixelFormat>(src->format),
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
      RotatePlane(tmp->data[p], tmp->linesize[p], sw / div, sh / div, dst->data[p], dst->linesize[p],
                  rotation);
    }
  }
  return {};
}

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

// One video rendition: owns its scaler, encoder and CMAF writer, and runs on
// its own thread, fed by its queue.
class VideoRung {
 public:
  VideoRung(Rung rung, std::string id, FailureState* failure)
      : rung_(std::move(rung)), id_(std::move(id)), failure_(failure) {}
  ~VideoRung() { sws_freeContext(sws_); }

  Status Open(const TranscodeOptions& opt, const AVCodecContext* dec, int fps_num, int fps_den,
              int rotation, const std::string& dir) {
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
    av_dict_set(&o, "x264-params", params.c_str(), 0);
    int ret = avcodec_open2(e, codec, &o);
    av_dict_free(&o);
    if (ret < 0) return MakeError(errc::kEncoderError, "cannot open H.264 encoder: " + AvErrorString(ret));
    VS_ASSIGN_OR_RETURN(writer_, CmafWriter::Open(dir, id_, e, opt.segment_seconds));
    return {};
  }

  // Feed `child` from this rung's output (display-oriented, so the child
  // applies no rotation of its own).
  void AddChild(VideoRung* child) {
    children_.push_back(child);
    child->rotation_ = 0;
  }

  void SetRole(bool top, int sws_flags, size_t queue_frames) {
    top_ = top;
    sws_flags_ = sws_flags;
    queue_.SetCapacity(queue_frames);
  }

  void Run() {
    Status s = Loop();
    if (!s.ok()) failure_->Fail(s.error());
  }

  FrameQueue& queue() { return queue_; }
  int64_t frames_done() const { return frames_done_.load(std::memory_order_relaxed); }
  const Rung& rung() const { return rung_; }
  const std::string& id() const { return id_; }
  const CmafWriter& writer() const { return *writer_; }
  std::string codecs() const { return AvcCodecsString(enc_.get()); }

 private:
  Status Loop() {
    FramePtr scaled = MakeFrame(), tmp = MakeFrame();
    Status s = Pump(scaled.get(), tmp.get());
    // Children see end of input whether we finished or failed.
    for (VideoRung* c : children_) c->queue().Close();
    VS_TRY(s);
    if (failure_->failed()) return {};
    VS_TRY(Encode(nullptr));
    return writer_->Finish();
  }

  Status Pump(AVFrame* scaled, AVFrame* tmp) {
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

  Status Encode(AVFrame* f) {
    int ret = avcodec_send_frame(enc_.get(), f);
    if (ret < 0) return MakeError(errc::kEncoderError, "H.264 encoding failed: " + AvErrorString(ret));
    PacketPtr pkt = MakePacket();
    while ((ret = avcodec_receive_packet(enc_.get(), pkt.get())) >= 0) {
      Status s = writer_->Write(pkt.get());
      av_packet_unref(pkt.get());
      VS_TRY(s);
    }
    if (ret != AVERROR(EAGAIN) && ret != AVERROR_EOF)
      return MakeError(errc::kEncoderError, "H.264 encoding failed: " + AvErrorString(ret));
    return {};
  }

  Rung rung_;
  std::string id_;
  FailureState* failure_;
  int rotation_ = 0;
  bool top_ = false;
  FramePool pool_;  // scaled pictures (shared with children, so not reusable in place)
  int sws_flags_ = SWS_BICUBIC;
  CodecContextPtr enc_;
  std::unique_ptr<CmafWriter> writer_;
  SwsContext* sws_ = nullptr;
  std::vector<VideoRung*> children_;
  FrameQueue queue_;
  std::atomic<int64_t> frames_done_{0};
};

// Audio: decode, resample to 48 kHz stereo, keep in sync with the video's
// time origin (silence for gaps, trimming for overlaps), encode AAC-LC.
// Runs on the demux thread: it is a small fraction of the work.
class AudioTrack {
 public:
  Status Open(const TranscodeOptions& opt, AVStream* st, const std::string& id,
              const std::string& dir) {
    tb_ = st->time_base;
    const AVCodec* dcodec = avcodec_find_decoder(st->codecpar->codec_id);
    dec_.reset(avcodec_alloc_context3(dcodec));
    if (avcodec_parameters_to_context(dec_.get(), st->codecpar) < 0)
      return MakeError(errc::kUndecodableAudio, "invalid audio parameters");
    dec_->pkt_timebase = st->time_base;
    if (avcodec_open2(dec_.get(), dcodec, nullptr) < 0)
      return MakeError(errc::kUndecodableAudio, "the audio track cannot be decoded");

    const AVCodec* ecodec = avcodec_find_encoder(AV_CODEC_ID_AAC);
    if (!ecodec) return MakeError(errc::kInternal, "AAC encoder is not available");
    enc_.reset(avcodec_alloc_context3(ecodec));
    AVCodecContext* e = enc_.get();
    e->sample_rate = kAudioRate;
    av_channel_layout_default(&e->ch_layout, kAudioChannels);
    e->sample_fmt = AV_SAMPLE_FMT_FLTP;
    e->bit_rate = int64_t{opt.audio_bitrate_kbps} * 1000;
    e->time_base = AVRational{1, kAudioRate};
    e->profile = FF_PROFILE_AAC_LOW;
    e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    int ret = avcodec_open2(e, ecodec, nullptr);
    if (ret < 0) return MakeError(errc::kEncoderError, "cannot open AAC encoder: " + AvErrorString(ret));
    fifo_.reset(av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, kAudioChannels, e->frame_size * 4));
    VS_ASSIGN_OR_RETURN(writer_, CmafWriter::Open(dir, id, e, opt.segment_seconds));
    id_ = id;
    return {};
  }

  // origin: the video's first timestamp, in seconds; audio sample 0 plays then.
  Status Decode(AVPacket* pkt, double origin) {
    int ret = avcodec_send_packet(dec_.get(), pkt);
    if (ret < 0 && ret != AVERROR(EAGAIN) && ret != AVERROR_EOF) {
      if (++errors_ > 1000) return MakeError(errc::kUndecodableAudio, "the audio track is corrupt");
      return {};  // a damaged packet: skip it, the next one may decode
    }
    FramePtr f = MakeFrame();
    while ((ret = avcodec_receive_frame(dec_.get(), f.get())) >= 0) {
      Status s = Consume(f.get(), origin);
      av_frame_unref(f.get());
      VS_TRY(s);
    }
    return {};
  }

  Status Finish(double origin) {
    VS_TRY(Decode(nullptr, origin));
    VS_TRY(EncodeFifo(true));
    VS_TRY(Send(nullptr));
    return writer_->Finish();
  }

  const CmafWriter& writer() const { return *writer_; }
  const std::string& id() const { return id_; }

 private:
  Status Consume(AVFrame* f, double origin) {
    if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
      av_channel_layout_default(&f->ch_layout, f->ch_layout.nb_channels);
    if (!swr_ || f->sample_rate != in_rate_ || f->format != in_fmt_ ||
        av_channel_layout_compare(&f->ch_layout, &in_layout_) != 0) {
      SwrContext* s = nullptr;
      AVChannelLayout out_layout;
      av_channel_layout_default(&out_layout, kAudioChannels);
      if (swr_alloc_set_opts2(&s, &out_layout, AV_SAMPLE_FMT_FLTP, kAudioRate, &f->ch_layout,
                              static_cast<AVSampleFormat>(f->format), f->sample_rate, 0,
                              nullptr) < 0 ||
          swr_init(s) < 0) {
        swr_free(&s);
        return MakeError(errc::kUndecodableAudio, "unsupported audio layout");
      }
      swr_.reset(s);
      in_rate_ = f->sample_rate;
      in_fmt_ = f->format;
      av_channel_layout_uninit(&in_layout_);
      av_channel_layout_copy(&in_layout_, &f->ch_layout);
    }
    const int max_out = static_cast<int>(swr_get_out_samples(swr_.get(), f->nb_samples));
    if (max_out <= 0) return {};
    if (!conv_ || conv_->nb_samples < max_out) {
      conv_ = MakeFrame();
      conv_->format = AV_SAMPLE_FMT_FLTP;
      av_channel_layout_default(&conv_->ch_layout, kAudioChannels);
      conv_->sample_rate = kAudioRate;
      conv_->nb_samples = max_out;
      if (av_frame_get_buffer(conv_.get(), 0) < 0)
        return MakeError(errc::kOutOfMemory, "cannot allocate audio buffer");
    }
    int n = swr_convert(swr_.get(), conv_->data, max_out, const_cast<const uint8_t**>(f->extended_data),
                        f->nb_samples);
    if (n <= 0) return {};
    int skip = 0;
    const int64_t ts = f->best_effort_timestamp;
    if (ts != AV_NOPTS_VALUE) {
      const int64_t expected = std::llround((ts * av_q2d(tb_) - origin) * kAudioRate);
      const int64_t diff = expected - samples_in_;
      // Tight on the first frame (start offset), loose afterwards (jitter).
      const int64_t tolerance = samples_in_ == 0 ? 64 : kAudioRate / 10;
      if (diff > tolerance) {
        VS_TRY(PushSilence(std::min<int64_t>(diff, int64_t{kAudioRate} * 3600)));
      } else if (diff < -tolerance) {
        skip = static_cast<int>(std::min<int64_t>(-diff, n));
      }
    }
    if (n > skip) {
      uint8_t* planes[kAudioChannels];
      for (int c = 0; c < kAudioChannels; ++c)
        planes[c] = conv_->data[c] + static_cast<size_t>(skip) * sizeof(float);
      if (av_audio_fifo_write(fifo_.get(), reinterpret_cast<void**>(planes), n - skip) < n - skip)
        return MakeError(errc::kOutOfMemory, "audio buffer overflow");
      samples_in_ += n - skip;
    }
    return EncodeFifo(false);
  }

  Status PushSilence(int64_t samples) {
    const int chunk = 4096;
    std::vector<float> zeros(chunk, 0.0f);
    void* planes[kAudioChannels] = {zeros.data(), zeros.data()};
    while (samples > 0) {
      const int n = static_cast<int>(std::min<int64_t>(samples, chunk));
      if (av_audio_fifo_write(fifo_.get(), planes, n) < n)
        return MakeError(errc::kOutOfMemory, "audio buffer overflow");
      samples -= n;
      samples_in_ += n;
      VS_TRY(EncodeFifo(false));
    }
    return {};
  }

  Status EncodeFifo(bool drain) {
    const int fs = enc_->frame_size;
    while (av_audio_fifo_size(fifo_.get()) >= fs || (drain && av_audio_fifo_size(fifo_.get()) > 0)) {
      const int n = std::min(fs, av_audio_fifo_size(fifo_.get()));
      FramePtr fr = MakeFrame();
      fr->format = AV_SAMPLE_FMT_FLTP;
      av_channel_layout_default(&fr->ch_layout, kAudioChannels);
      fr->sample_rate = kAudioRate;
      fr->nb_samples = n;
      if (av_frame_get_buffer(fr.get(), 0) < 0)
        return MakeError(errc::kOutOfMemory, "cannot allocate audio frame");
      av_audio_fifo_read(fifo_.get(), reinterpret_cast<void**>(fr->data), n);
      fr->pts = samples_out_;
      samples_out_ += n;
      VS_TRY(Send(fr.get()));
    }
    return {};
  }

  Status Send(AVFrame* f) {
    int ret = avcodec_send_frame(enc_.get(), f);
    if (ret < 0) return MakeError(errc::kEncoderError, "AAC encoding failed: " + AvErrorString(ret));
    PacketPtr pkt = MakePacket();
    while ((ret = avcodec_receive_packet(enc_.get(), pkt.get())) >= 0) {
      Status s = writer_->Write(pkt.get());
      av_packet_unref(pkt.get());
      VS_TRY(s);
    }
    return {};
  }

  AVRational tb_{1, 1};
  CodecContextPtr dec_, enc_;
  SwrPtr swr_;
  int in_rate_ = 0;
  int in_fmt_ = -1;
  AVChannelLayout in_layout_{};
  FramePtr conv_;
  AudioFifoPtr fifo_;
  std::unique_ptr<CmafWriter> writer_;
  std::string id_;
  int64_t samples_in_ = 0;
  int64_t samples_out_ = 0;
  int errors_ = 0;
};

Status EncodeThumbnail(const AVFrame* src, const ProbeInfo& info, const std::string& path) {
  int tw = std::min(kThumbMaxWidth, info.display_width) & ~1;
  int th = static_cast<int>(std::lround(double(info.display_height) * tw / info.display_width)) & ~1;
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

Status WriteTextFile(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  f.close();
  if (!f) return MakeError(errc::kIoError, "cannot write " + path);
  return {};
}


// The pipeline state of one Transcode() call.
class Pipeline {
 public:
  Pipeline(const TranscodeOptions& opt, const ProgressCallback& cb) : opt_(opt), cb_(cb) {}

  Result<TranscodeSummary> Run() {
    Report("probing", 0, true);
    VS_ASSIGN_OR_RETURN(in_, OpenInput(opt_.input, opt_.limits));
    const ProbeInfo& info = in_->info;
    rungs_spec_ = SelectRungs(info.display_width, info.display_height, opt_.ladder);
    if (rungs_spec_.empty()) return MakeError(errc::kInvalidDimensions, "no rendition fits the video size");
    ChooseFrameRate(info.frame_rate_num, info.frame_rate_den, &fps_num_, &fps_den_);

    std::error_code ec;
    fs::create_directories(opt_.output_dir, ec);
    if (ec) return MakeError(errc::kIoError, "cannot create output folder: " + ec.message());
    // A manifest from an earlier run must not outlive a failure of this one.
    fs::remove(fs::path(opt_.output_dir) / "manifest.mpd", ec);
    fs::remove(fs::path(opt_.output_dir) / "master.m3u8", ec);
    work_ = (fs::path(opt_.output_dir) / (".partial-" + std::to_string(getpid()))).string();
    fs::remove_all(work_, ec);
    fs::create_directories(work_, ec);
    if (ec) return MakeError(errc::kIoError, "cannot create work folder: " + ec.message());

    auto result = Process();
    if (!result.ok()) fs::remove_all(work_, ec);
    return result;
  }

 private:
  Status OpenVideoDecoder() {
    AVStream* st = in_->fmt->streams[in_->video_index];
    const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
    vdec_.reset(avcodec_alloc_context3(codec));
    if (avcodec_parameters_to_context(vdec_.get(), st->codecpar) < 0)
      return MakeError(errc::kUndecodableVideo, "invalid video parameters");
    vdec_->pkt_timebase = st->time_base;
    vdec_->thread_count = opt_.tuning.decode_threads;
    vdec_->max_pixels = opt_.limits.max_pixels;
    if (avcodec_open2(vdec_.get(), codec, nullptr) < 0)
      return MakeError(errc::kUndecodableVideo, "the video stream cannot be decoded");
    return {};
  }

  Result<TranscodeSummary> Process() {
    VS_TRY(OpenVideoDecoder());
    const ProbeInfo& info = in_->info;
    // Bilinear by default: cheaper than bicubic and, at these bitrates, it
    // scores higher SSIM/PSNR against a bicubic-scaled source because it
    // leaves less aliasing for x264 to spend bits on (bench/README.md).
    const int sws_flags = opt_.tuning.bicubic ? SWS_BICUBIC : SWS_BILINEAR;
    const bool cascade = opt_.tuning.cascade;
    for (size_t i = 0; i < rungs_spec_.size(); ++i) {
      auto r = std::make_unique<VideoRung>(rungs_spec_[i], std::to_string(i), &failure_);
      r->SetRole(i == 0, sws_flags, static_cast<size_t>(opt_.tuning.queue_frames));
      VS_TRY(r->Open(opt_, vdec_.get(), fps_num_, fps_den_, info.rotation, work_));
      failure_.Watch(&r->queue());
      rungs_.push_back(std::move(r));
    }
    // Cascade: a rung scales from the smallest larger rung that is at least
    // 1.5x its size (when that rung is itself smaller than the source), so
    // 480p and 360p read a 720p picture instead of a 1080p or 4K one.
    const auto short_side = [](const Rung& r) { return std::min(r.width, r.height); };
    const int src_short = std::min(info.display_width, info.display_height);
    for (size_t i = 0; i < rungs_.size(); ++i) {
      VideoRung* parent = nullptr;
      for (size_t j = 0; cascade && j < i; ++j) {
        const int pj = short_side(rungs_[j]->rung());
        if (pj * 2 >= short_side(rungs_[i]->rung()) * 3 && pj < src_short) parent = rungs_[j].get();
      }
      if (parent) {
        parent->AddChild(rungs_[i].get());
      } else {
        roots_.push_back(rungs_[i].get());
      }
    }
    if (in_->audio_index >= 0) {
      audio_ = std::make_unique<AudioTrack>();
      VS_TRY(audio_->Open(opt_, in_->fmt->streams[in_->audio_index],
                          std::to_string(rungs_.size()), work_));
    }
    thumb_time_ = info.duration_seconds > 0 ? std::min(2.0, info.duration_seconds / 3) : 0;

    std::vector<std::thread> threads_v;
    for (auto& r : rungs_) threads_v.emplace_back([p = r.get()] { p->Run(); });
    Status demux = Demux();
    if (!demux.ok()) failure_.Fail(demux.error());
    for (VideoRung* r : roots_) r->queue().Close();
    for (auto& t : threads_v) t.join();
    if (auto e = failure_.error()) return *e;
    if (audio_) VS_TRY(audio_->Finish(origin_sec_));
    Report("packaging", 99, true);
    return Package();
  }

  Status Demux() {
    AVFormatContext* fmt = in_->fmt.get();
    PacketPtr pkt = MakePacket();
    FramePtr frame = MakeFrame();
    int ret;
    while (!failure_.failed()) {
      ret = av_read_frame(fmt, pkt.get());
      if (ret == AVERROR_EOF || ret == AVERROR(EIO)) break;
      if (ret < 0) {
        // A read error mid-file: stop here; the truncation check below
        // decides whether what was read is the whole video.
        read_error_ = ret;
        break;
      }
      Status s;
      if (pkt->stream_index == in_->video_index) {
        s = DecodeVideo(pkt.get(), frame.get());
      } else if (audio_ && pkt->stream_index == in_->audio_index) {
        if (have_origin_) {
          s = audio_->Decode(pkt.get(), origin_sec_);
        } else {
          // Audio before the first video frame: hold it until the origin is known.
          held_audio_.push_back(PacketPtr(av_packet_clone(pkt.get())));
          if (held_audio_.size() > 4096)
            return MakeError(errc::kUndecodableVideo, "no decodable video at the start of the file");
        }
      }
      av_packet_unref(pkt.get());
      VS_TRY(s);
    }
    if (failure_.failed()) return {};
    VS_TRY(DecodeVideo(nullptr, frame.get()));
    if (frames_out_ == 0) {
      return MakeError(errc::kUndecodableVideo,
                       "no video frame could be decoded" +
                           (read_error_ ? " (" + AvErrorString(read_error_) + ")" : std::string()));
    }
    // Flush the last frame's duration and check the video is complete.
    const double decoded = double(frames_out_) * fps_den_ / fps_num_;
    const double declared = in_->info.duration_seconds;
    if (declared > 2 && decoded < declared * 0.9 - 0.5) {
      char buf[200];
      snprintf(buf, sizeof(buf),
               "the file ends after %.1f s of video but declares %.1f s (truncated upload?)",
               decoded, declared);
      return MakeError(errc::kTruncatedInput, buf);
    }
    if (!thumb_) thumb_.reset(av_frame_clone(last_.get()));
    return {};
  }

  Status DecodeVideo(AVPacket* pkt, AVFrame* frame) {
    int ret = avcodec_send_packet(vdec_.get(), pkt);
    if (ret < 0 && ret != AVERROR(EAGAIN) && ret != AVERROR_EOF) {
      // Damaged data: skip the packet, but give up on files that are mostly damage.
      if (++decode_errors_ > 200 && decode_errors_ > frames_in_)
        return MakeError(errc::kUndecodableVideo, "the video stream is corrupt (" + AvErrorString(ret) + ")");
      return {};
    }
    while ((ret = avcodec_receive_frame(vdec_.get(), frame)) >= 0) {
      Status s = OnVideoFrame(frame);
      av_frame_unref(frame);
      VS_TRY(s);
    }
    if (ret != AVERROR(EAGAIN) && ret != AVERROR_EOF) {
      if (++decode_errors_ > 200 && decode_errors_ > frames_in_)
        return MakeError(errc::kUndecodableVideo, "the video stream is corrupt (" + AvErrorString(ret) + ")");
    }
    return {};
  }

  Status OnVideoFrame(AVFrame* frame) {
    ++frames_in_;
    const AVRational tb = in_->fmt->streams[in_->video_index]->time_base;
    int64_t ts = frame->best_effort_timestamp;
    if (!have_origin_) {
      origin_ts_ = ts == AV_NOPTS_VALUE ? 0 : ts;
      origin_sec_ = origin_ts_ * av_q2d(tb);
      have_origin_ = true;
      for (auto& p : held_audio_) VS_TRY(audio_->Decode(p.get(), origin_sec_));
      held_audio_.clear();
    }
    // Constant frame rate: each frame goes to the output slot nearest its
    // timestamp; late frames are dropped and gaps repeat the previous frame.
    int64_t target = frames_out_;
    if (ts != AV_NOPTS_VALUE) {
      const double t = (ts - origin_ts_) * av_q2d(tb);
      target = std::llround(t * fps_num_ / fps_den_);
    }
    if (target < frames_out_) {
      if (frames_out_ > 0) return {};
      target = 0;
    }
    const int64_t max_gap = int64_t{fps_num_} * 60 / fps_den_;
    if (target - frames_out_ > max_gap) {
      // A timestamp jump of over a minute is a broken file, not a pause:
      // continue without inventing a minute of frozen picture.
      origin_ts_ += static_cast<int64_t>((target - frames_out_) * fps_den_ / (fps_num_ * av_q2d(tb)));
      target = frames_out_;
    }
    while (frames_out_ < target && last_) VS_TRY(Emit(last_.get()));
    VS_TRY(Emit(frame));
    last_.reset(av_frame_clone(frame));
    const double out_time = double(frames_out_) * fps_den_ / fps_num_;
    if (!thumb_ && out_time >= thumb_time_) thumb_.reset(av_frame_clone(frame));
    if (out_time > opt_.limits.max_duration_seconds) {
      return MakeError(errc::kDurationTooLong, "the video is longer than the accepted maximum");
    }
    return {};
  }

  bool IsSegmentStart(int64_t i) const {
    if (i == 0) return true;
    const int64_t per = int64_t{fps_num_} * opt_.segment_seconds;
    return (i * fps_den_) / per != ((i - 1) * fps_den_) / per;
  }

  Status Emit(const AVFrame* src) {
    for (VideoRung* r : roots_) {
      FramePtr f(av_frame_clone(src));
      if (!f) return MakeError(errc::kOutOfMemory, "cannot reference frame");
      f->pts = frames_out_;
      f->pict_type = IsSegmentStart(frames_out_) ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
      if (!r->queue().Push(std::move(f))) return {};  // aborted: a rung failed
    }
    ++frames_out_;
    ReportEncoding();
    return {};
  }

  void ReportEncoding() {
    const double duration = in_->info.duration_seconds;
    if (duration <= 0) return;
    int64_t done = INT64_MAX;
    for (auto& r : rungs_) done = std::min(done, r->frames_done());
    const double pct = std::min(98.9, 100.0 * done * fps_den_ / fps_num_ / duration);
    Report("encoding", pct, false);
  }

  void Report(const std::string& stage, double pct, bool force) {
    if (!cb_) return;
    auto now = std::chrono::steady_clock::now();
    pct = std::max(pct, last_pct_);  // monotonic
    if (!force && stage == last_stage_ && pct - last_pct_ < 1.0 &&
        now - last_report_ < std::chrono::seconds(1)) {
      return;
    }
    if (!force && stage == last_stage_ && pct == last_pct_ && now - last_report_ < std::chrono::seconds(1))
      return;
    last_pct_ = pct;
    last_stage_ = stage;
    last_report_ = now;
    cb_(Progress{stage, std::floor(pct * 10) / 10});
  }

  Result<TranscodeSummary> Package() {
    Presentation p;
    p.segment_seconds = opt_.segment_seconds;
    TranscodeSummary sum;
    for (auto& r : rungs_) {
      Representation rep;
      rep.id = r->id();
      rep.kind = TrackKind::kVideo;
      rep.codecs = r->codecs();
      rep.timescale = r->writer().timescale();
      rep.segments = r->writer().segments();
      rep.init_bytes = r->writer().init_bytes();
      rep.width = r->rung().width;
      rep.height = r->rung().height;
      rep.frame_rate_num = fps_num_;
      rep.frame_rate_den = fps_den_;
      p.representations.push_back(rep);
    }
    if (audio_) {
      Representation rep;
      rep.id = audio_->id();
      rep.kind = TrackKind::kAudio;
      rep.codecs = "mp4a.40.2";
      rep.timescale = audio_->writer().timescale();
      rep.segments = audio_->writer().segments();
      rep.init_bytes = audio_->writer().init_bytes();
      rep.sample_rate = kAudioRate;
      rep.channels = kAudioChannels;
      p.representations.push_back(rep);
    }
    for (const auto& rep : p.representations) {
      if (rep.segments.empty()) return MakeError(errc::kInternal, "rendition " + rep.id + " is empty");
      const auto& last = rep.segments.back();
      const double end = double(last.start + last.duration) / rep.timescale;
      if (rep.kind == TrackKind::kVideo) p.duration_seconds = std::max(p.duration_seconds, end);
    }
    for (const auto& rep : p.representations) {
      RenditionSummary rs;
      rs.id = rep.id;
      rs.kind = rep.kind == TrackKind::kVideo ? "video" : "audio";
      rs.codecs = rep.codecs;
      rs.width = rep.width;
      rs.height = rep.height;
      rs.bitrate = rep.AverageBitrate();
      rs.peak_bitrate = rep.PeakBitrate();
      rs.bytes = rep.init_bytes;
      for (const auto& s : rep.segments) rs.bytes += s.bytes;
      const auto& last = rep.segments.back();
      rs.duration_seconds = double(last.start + last.duration) / rep.timescale;
      rs.segments = static_cast<int>(rep.segments.size());
      sum.renditions.push_back(rs);
    }
    for (size_t i = 0; i < rungs_.size(); ++i) sum.renditions[i].name = rungs_[i]->rung().name;
    if (audio_) sum.renditions.back().name = "audio";

    const std::string w = work_;
    VS_TRY(EncodeThumbnail(thumb_.get(), in_->info, w + "/thumbnail.jpg"));
    for (const auto& rep : p.representations)
      VS_TRY(WriteTextFile(w + "/" + MediaPlaylistName(rep.id), WriteHlsMedia(p, rep)));
    VS_TRY(WriteTextFile(w + "/master.m3u8", WriteHlsMaster(p)));
    VS_TRY(WriteTextFile(w + "/manifest.mpd", WriteMpd(p)));
    VS_TRY(Publish());

    sum.duration_seconds = p.duration_seconds;
    sum.width = rungs_.front()->rung().width;
    sum.height = rungs_.front()->rung().height;
    sum.has_audio = audio_ != nullptr;
    sum.frame_rate = double(fps_num_) / fps_den_;
    Report("packaging", 100, true);
    return sum;
  }

  // Moves the finished files into the output folder, the manifests last, so
  // a reader that sees manifest.mpd finds every file it names.
  Status Publish() {
    std::vector<fs::path> files, last;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(work_, ec)) {
      const std::string name = e.path().filename().string();
      if (name == "manifest.mpd" || name == "master.m3u8")
        last.push_back(e.path());
      else
        files.push_back(e.path());
    }
    std::sort(last.begin(), last.end(), [](const fs::path& a, const fs::path&) {
      return a.filename() == "master.m3u8";  // master first, manifest.mpd last
    });
    files.insert(files.end(), last.begin(), last.end());
    for (const auto& f : files) {
      fs::rename(f, fs::path(opt_.output_dir) / f.filename(), ec);
      if (ec) return MakeError(errc::kIoError, "cannot publish " + f.filename().string() + ": " + ec.message());
    }
    fs::remove(work_, ec);
    return {};
  }

  const TranscodeOptions& opt_;
  const ProgressCallback& cb_;
  std::unique_ptr<InputFile> in_;
  std::vector<Rung> rungs_spec_;
  int fps_num_ = 30, fps_den_ = 1;
  std::string work_;
  CodecContextPtr vdec_;
  FailureState failure_;
  std::vector<std::unique_ptr<VideoRung>> rungs_;
  std::vector<VideoRung*> roots_;  // fed by the decoder; the others by a larger rung
  std::unique_ptr<AudioTrack> audio_;
  std::vector<PacketPtr> held_audio_;
  bool have_origin_ = false;
  int64_t origin_ts_ = 0;
  double origin_sec_ = 0;
  int64_t frames_in_ = 0;
  int64_t frames_out_ = 0;
  int decode_errors_ = 0;
  int read_error_ = 0;
  FramePtr last_, thumb_;
  double thumb_time_ = 0;
  double last_pct_ = -1;
  std::string last_stage_;
  std::chrono::steady_clock::time_point last_report_{};
};

}  // namespace

void ChooseFrameRate(int num, int den, int* out_num, int* out_den) {
  struct Rate {
    int num, den;
  };
  static constexpr Rate kStandard[] = {{24000, 1001}, {24, 1},    {25, 1},    {30000, 1001},
                                       {30, 1},       {48, 1},    {50, 1},    {60000, 1001},
                                       {60, 1}};
  if (num <= 0 || den <= 0) {
    *out_num = 30;
    *out_den = 1;
    return;
  }
  const double fps = double(num) / den;
  if (fps > 60.5) {
    *out_num = 60;
    *out_den = 1;
    return;
  }
  const Rate* best = nullptr;
  double best_err = 0.0025;  // within 0.25%: timing jitter, not a different rate
  for (const Rate& r : kStandard) {
    const double s = double(r.num) / r.den;
    const double err = std::fabs(fps - s) / s;
    if (err < best_err) {
      best = &r;
      best_err = err;
    }
  }
  if (best) {
    *out_num = best->num;
    *out_den = best->den;
    return;
  }
  if (fps < 1) {
    *out_num = 1;
    *out_den = 1;
    return;
  }
  AVRational q = av_d2q(fps, 1001);
  *out_num = q.num;
  *out_den = q.den;
}

Result<TranscodeSummary> Transcode(const TranscodeOptions& options,
                                   const ProgressCallback& on_progress) {
  Pipeline p(options, on_progress);
  return p.Run();
}

}  // namespace vs::media
