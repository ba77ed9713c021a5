#include "media/audio_track.h"

#include <algorithm>
#include <cmath>
#include <vector>

extern "C" {
#include <libavutil/channel_layout.h>
}

#include "media/errors.h"

namespace vs::media {

AudioPlacement PlaceAudioFrame(double start, int64_t written, int samples, int64_t silence_until) {
  AudioPlacement place;
  const int64_t expected = std::llround(start * kAudioRate);
  const int64_t diff = expected - written;
  // Tight on the first frame (start offset), loose afterwards (jitter).
  const int64_t tolerance = written == 0 ? 64 : kAudioRate / 10;
  if (diff > tolerance) {
    const int64_t room = std::max<int64_t>(0, silence_until - written);
    place.silence = std::min({diff, int64_t{kAudioRate} * 3600, room});
  } else if (diff < -tolerance) {
    place.skip = static_cast<int>(std::min<int64_t>(-diff, samples));
  }
  return place;
}

Status AudioTrack::Open(const TranscodeOptions& opt, AVStream* st, const std::string& id,
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
  if (ret < 0) return AvError(errc::kEncoderError, "cannot open the AAC encoder", ret);
  fifo_.reset(av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, kAudioChannels, e->frame_size * 4));
  VS_ASSIGN_OR_RETURN(writer_, CmafWriter::Open(dir, id, e, opt.segment_seconds));
  id_ = id;
  return {};
}

Status AudioTrack::Decode(AVPacket* pkt, double origin) {
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

Status AudioTrack::Drain(double origin) {
  if (drained_) return {};
  drained_ = true;
  return Decode(nullptr, origin);
}

Status AudioTrack::Finish(double origin) {
  VS_TRY(Drain(origin));
  VS_TRY(EncodeFifo(true));
  VS_TRY(Send(nullptr));
  return writer_->Finish();
}

Status AudioTrack::Consume(AVFrame* f, double origin) {
  if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
    av_channel_layout_default(&f->ch_layout, f->ch_layout.nb_channels);
  VS_TRY(ConfigureResampler(f));
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
  int n = swr_convert(swr_.get(), conv_->data, max_out,
                      const_cast<const uint8_t**>(f->extended_data), f->nb_samples);
  if (n <= 0) return {};
  AudioPlacement place;
  const int64_t ts = f->best_effort_timestamp;
  if (ts != AV_NOPTS_VALUE)
    place = PlaceAudioFrame(ts * av_q2d(tb_) - origin, samples_in_, n, silence_until_);
  if (place.silence > 0) VS_TRY(PushSilence(place.silence));
  const int skip = place.skip;
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

// (Re)creates the resampler for the first frame and whenever the decoded
// format changes midway.
Status AudioTrack::ConfigureResampler(AVFrame* f) {
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
  return {};
}

Status AudioTrack::PushSilence(int64_t samples) {
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

Status AudioTrack::EncodeFifo(bool drain) {
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

Status AudioTrack::Send(AVFrame* f) {
  int ret = avcodec_send_frame(enc_.get(), f);
  if (ret < 0) return AvError(errc::kEncoderError, "AAC encoding failed", ret);
  PacketPtr pkt = MakePacket();
  while ((ret = avcodec_receive_packet(enc_.get(), pkt.get())) >= 0) {
    Status s = writer_->Write(pkt.get());
    av_packet_unref(pkt.get());
    VS_TRY(s);
  }
  return {};
}

}  // namespace vs::media
