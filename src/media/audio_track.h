// The audio rendition: decode, resample, keep in step with the video, AAC
// encoding and its CMAF writer. Internal to media.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>

#include "core/result.h"
#include "media/cmaf_writer.h"
#include "media/libav_util.h"
#include "media/transcoder.h"

namespace vs::media {

inline constexpr int kAudioRate = 48000;
inline constexpr int kAudioChannels = 2;

// What to do with one resampled frame so that the audio stays in sync with
// the video's time origin: silence for gaps, trimming for overlaps.
struct AudioPlacement {
  int64_t silence = 0;  // samples of silence to insert before the frame
  int skip = 0;         // samples to drop from the start of the frame
};

// Places a frame of `samples` samples (at kAudioRate) whose timestamp is
// `start` seconds after the video origin, on a track that holds `written`
// samples so far. A frame within the tolerance of the track's end (64
// samples while the track is empty, 0.1 s after that) passes as it is; a
// later one is preceded by silence up to its timestamp, but silence never
// takes the track past `silence_until` samples (nor adds more than an hour
// per frame): a timestamp jump beyond the picture is a broken clock, not a
// pause, and its frames follow on without a gap. An earlier frame loses the
// samples that fall before the track's end, up to the whole frame. Pure;
// thread-safe.
AudioPlacement PlaceAudioFrame(double start, int64_t written, int samples,
                               int64_t silence_until = INT64_MAX);

// Audio: decode, resample to 48 kHz stereo, keep in sync with the video's
// time origin (silence for gaps, trimming for overlaps), encode AAC-LC.
// Runs on the demux thread: it is a small fraction of the work. Not
// thread-safe.
class AudioTrack {
 public:
  Status Open(const TranscodeOptions& opt, AVStream* st, const std::string& id,
              const std::string& dir);
  // origin: the video's first timestamp, in seconds; audio sample 0 plays then.
  Status Decode(AVPacket* pkt, double origin);
  // Silence for gaps may fill the track up to `seconds` after the origin and
  // no further (the pipeline keeps it a little ahead of the decoded picture).
  void SetSilenceLimit(double seconds) { silence_until_ = std::llround(seconds * kAudioRate); }
  // Decodes what the decoder still holds; Decode must not be called after.
  Status Drain(double origin);
  Status Finish(double origin);
  // Where the track ends so far, in seconds after the video origin.
  double end_seconds() const { return double(samples_in_) / kAudioRate; }

  const CmafWriter& writer() const { return *writer_; }
  const std::string& id() const { return id_; }

 private:
  Status Consume(AVFrame* f, double origin);
  Status ConfigureResampler(AVFrame* f);
  Status PushSilence(int64_t samples);
  Status EncodeFifo(bool drain);
  Status Send(AVFrame* f);

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
  int64_t silence_until_ = INT64_MAX;
  bool drained_ = false;
  int errors_ = 0;
};

}  // namespace vs::media
