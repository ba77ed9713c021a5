#include "media/audio_track.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>

extern "C" {
#include <libavutil/channel_layout.h>
}

namespace vs::media {
namespace {

constexpr int kFrame = 1024;  // one AAC frame's worth, a typical decoded frame
constexpr int64_t kHour = int64_t{kAudioRate} * 3600;

// Seconds after the video origin of sample `n` of the output track.
double At(int64_t n) { return double(n) / kAudioRate; }

// The output track as AudioTrack builds it from the placements.
struct Track {
  int64_t written = 0;
  AudioPlacement Add(double start, int samples) {
    const AudioPlacement p = PlaceAudioFrame(start, written, samples);
    written += p.silence;
    if (samples > p.skip) written += samples - p.skip;
    return p;
  }
};

void ExpectPlacement(const AudioPlacement& p, int64_t silence, int skip) {
  EXPECT_EQ(p.silence, silence);
  EXPECT_EQ(p.skip, skip);
}

TEST(PlaceAudioFrameTest, FrameInPlacePassesThrough) {
  ExpectPlacement(PlaceAudioFrame(0.0, 0, kFrame), 0, 0);
  ExpectPlacement(PlaceAudioFrame(At(48000), 48000, kFrame), 0, 0);
  Track t;
  for (int i = 0; i < 100; ++i) ExpectPlacement(t.Add(At(int64_t{i} * kFrame), kFrame), 0, 0);
  EXPECT_EQ(t.written, 100 * kFrame);
}

TEST(PlaceAudioFrameTest, FirstFrameStartingLateIsPrecededBySilence) {
  ExpectPlacement(PlaceAudioFrame(0.5, 0, kFrame), 24000, 0);
  // The first frame is held to 64 samples (1.3 ms): a start offset, not jitter.
  ExpectPlacement(PlaceAudioFrame(At(64), 0, kFrame), 0, 0);
  ExpectPlacement(PlaceAudioFrame(At(65), 0, kFrame), 65, 0);
}

TEST(PlaceAudioFrameTest, FirstFrameStartingEarlyLosesItsHead) {
  ExpectPlacement(PlaceAudioFrame(At(-480), 0, kFrame), 0, 480);
  ExpectPlacement(PlaceAudioFrame(At(-64), 0, kFrame), 0, 0);
  ExpectPlacement(PlaceAudioFrame(At(-65), 0, kFrame), 0, 65);
}

TEST(PlaceAudioFrameTest, FramesWhollyBeforeTheOriginAreDroppedUntilOneReachesIt) {
  Track t;
  const int64_t lead = 4800;  // audio from 0.1 s before the first video frame
  for (int i = 0; i < 4; ++i) ExpectPlacement(t.Add(At(-lead + i * kFrame), kFrame), 0, kFrame);
  EXPECT_EQ(t.written, 0);  // so the next frame is still held to the first frame's tolerance
  // The fifth frame straddles the origin: its first 4800 - 4 * 1024 samples go.
  ExpectPlacement(t.Add(At(-lead + 4 * kFrame), kFrame), 0, 704);
  EXPECT_EQ(t.written, kFrame - 704);
  ExpectPlacement(t.Add(At(-lead + 5 * kFrame), kFrame), 0, 0);
}

TEST(PlaceAudioFrameTest, GapMidStreamBecomesSilenceOfItsLength) {
  Track t;
  t.Add(0.0, kFrame);
  t.Add(At(kFrame), kFrame);
  // The next frame arrives half a second after where the track ends.
  ExpectPlacement(t.Add(At(2 * kFrame + 24000), kFrame), 24000, 0);
  EXPECT_EQ(t.written, 3 * kFrame + 24000);
  ExpectPlacement(t.Add(At(3 * kFrame + 24000), kFrame), 0, 0);  // in place again
}

TEST(PlaceAudioFrameTest, OverlapMidStreamIsTrimmed) {
  Track t;
  t.Add(0.0, 48000);
  // A frame that starts 6000 samples before the end of what is written: its
  // first 6000 samples repeat time already covered.
  ExpectPlacement(t.Add(At(48000 - 6000), 8192), 0, 6000);
  EXPECT_EQ(t.written, 48000 + 8192 - 6000);
  // A frame wholly inside covered time is dropped: the skip is capped at its length.
  ExpectPlacement(PlaceAudioFrame(At(0), 96000, kFrame), 0, kFrame);
}

TEST(PlaceAudioFrameTest, OverlapOfSmallFramesIsCutOnlyDownToTheTolerance) {
  Track t;
  t.Add(0.0, 48000);
  // A second run of 20 ms frames that restarts half a second back in time:
  // frames are dropped whole while they start more than 0.1 s early, then the
  // first within the tolerance passes, and the run stays 0.1 s late.
  const int per = 960;
  for (int k = 0; k < 20; ++k) ExpectPlacement(t.Add(At(24000 + k * per), per), 0, per);
  EXPECT_EQ(t.written, 48000);
  for (int k = 20; k < 50; ++k) ExpectPlacement(t.Add(At(24000 + k * per), per), 0, 0);
  EXPECT_EQ(t.written, 48000 + 30 * per);  // 1.6 s, where the timestamps end at 1.5 s
}

TEST(PlaceAudioFrameTest, JitterUpToATenthOfASecondIsToleratedAfterTheFirstFrame) {
  const int64_t written = 48000;
  const int64_t tol = kAudioRate / 10;  // 4800
  ExpectPlacement(PlaceAudioFrame(At(written + tol), written, kFrame), 0, 0);
  ExpectPlacement(PlaceAudioFrame(At(written - tol), written, kFrame), 0, 0);
  ExpectPlacement(PlaceAudioFrame(At(written + tol + 1), written, kFrame), tol + 1, 0);
  ExpectPlacement(PlaceAudioFrame(At(written - tol - 1), written, 8192), 0, int(tol + 1));
}

TEST(PlaceAudioFrameTest, ExpectedPositionIsRoundedToTheNearestSample) {
  ExpectPlacement(PlaceAudioFrame(64.4 / kAudioRate, 0, kFrame), 0, 0);
  ExpectPlacement(PlaceAudioFrame(64.6 / kAudioRate, 0, kFrame), 65, 0);
}

TEST(PlaceAudioFrameTest, SilenceIsCappedAtAnHourPerFrameAndLaterFramesCatchUp) {
  ExpectPlacement(PlaceAudioFrame(At(kHour + 4801), 0, kFrame), kHour, 0);
  ExpectPlacement(PlaceAudioFrame(At(48000) + 3 * 3600.0, 48000, kFrame), kHour, 0);

  // A two-hour hole after one second of audio.
  Track t;
  t.Add(0.0, 48000);
  const int64_t resume = 48000 + 2 * kHour;
  // The frame after the hole gets one hour of silence and so plays an hour early...
  ExpectPlacement(t.Add(At(resume), kFrame), kHour, 0);
  EXPECT_EQ(t.written, 48000 + kHour + kFrame);
  // ...and the next one gets the rest, which puts it in its place.
  ExpectPlacement(t.Add(At(resume + kFrame), kFrame), kHour, 0);
  EXPECT_EQ(t.written, resume + 2 * kFrame);
  ExpectPlacement(t.Add(At(resume + 2 * kFrame), kFrame), 0, 0);
}

TEST(PlaceAudioFrameTest, SilenceStopsAtTheLimitAndLaterFramesFollowOn) {
  // The picture (and so the limit) ends at 3 s; the sound's clock jumps to 3 h.
  const int64_t limit = 3 * kAudioRate;
  Track t;
  t.written = 48000;
  const AudioPlacement p = PlaceAudioFrame(At(48000) + 3 * 3600.0, t.written, kFrame, limit);
  ExpectPlacement(p, limit - 48000, 0);
  t.written += p.silence + kFrame;
  // At the limit: no more silence, each frame follows the last.
  ExpectPlacement(PlaceAudioFrame(At(48000 + kFrame) + 3 * 3600.0, t.written, kFrame, limit), 0, 0);
  // A gap within the limit is still filled to its full length.
  ExpectPlacement(PlaceAudioFrame(At(96000), 48000, kFrame, limit), 48000, 0);
  // Overlaps are trimmed as before, whatever the limit.
  ExpectPlacement(PlaceAudioFrame(At(0), 96000, kFrame, 0), 0, kFrame);
}

// AudioTrack itself, fed 48 kHz stereo float PCM packets of a ramp signal
// with chosen timestamps; the length of the AAC track it writes shows the
// silence added and the samples cut.
class AudioTrackRun {
 public:
  explicit AudioTrackRun(double origin = 0) : origin_(origin) {
    char tmpl[] = "/tmp/vs-audio-track-XXXXXX";
    dir_ = mkdtemp(tmpl);
    fmt_ = avformat_alloc_context();
    st_ = avformat_new_stream(fmt_, nullptr);
    st_->time_base = AVRational{1, kAudioRate};
    st_->codecpar->codec_type = AVMEDIA_TYPE_AUDIO;
    st_->codecpar->codec_id = AV_CODEC_ID_PCM_F32LE;
    st_->codecpar->sample_rate = kAudioRate;
    av_channel_layout_default(&st_->codecpar->ch_layout, kAudioChannels);
    Status s = track_.Open(TranscodeOptions{}, st_, "1", dir_);
    EXPECT_TRUE(s.ok()) << s.error().message;
  }
  ~AudioTrackRun() {
    avformat_free_context(fmt_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // `seconds` of audio in 20 ms packets, the first at `start` seconds.
  void Add(double start, double seconds) {
    const int per = kAudioRate / 50;
    const int64_t first = std::llround(start * kAudioRate);
    for (int64_t n = 0; n < std::llround(seconds * kAudioRate); n += per) {
      PacketPtr pkt = MakePacket();
      ASSERT_EQ(av_new_packet(pkt.get(), per * kAudioChannels * int(sizeof(float))), 0);
      auto* samples = reinterpret_cast<float*>(pkt->data);
      for (int i = 0; i < per * kAudioChannels; ++i) samples[i] = float((n + i / 2) % 1000) / 1000;
      pkt->pts = pkt->dts = first + n;
      Status s = track_.Decode(pkt.get(), origin_);
      ASSERT_TRUE(s.ok()) << s.error().message;
    }
  }

  void Limit(double seconds) { track_.SetSilenceLimit(seconds); }

  // The length of the finished track in seconds.
  double Finish() {
    Status s = track_.Finish(origin_);
    EXPECT_TRUE(s.ok()) << s.error().message;
    const auto& segments = track_.writer().segments();
    if (segments.empty()) return 0;
    return double(segments.back().start + segments.back().duration) / track_.writer().timescale();
  }

 private:
  double origin_;
  std::string dir_;
  AVFormatContext* fmt_ = nullptr;
  AVStream* st_ = nullptr;
  AudioTrack track_;
};

// One AAC frame: the encoder's granularity at the end of the track.
constexpr double kAacFrame = 1024.0 / kAudioRate;

TEST(AudioTrackTest, ContinuousAudioKeepsItsLength) {
  AudioTrackRun run;
  run.Add(0, 2);
  EXPECT_NEAR(run.Finish(), 2.0, kAacFrame);
}

TEST(AudioTrackTest, GapBecomesSilence) {
  AudioTrackRun run;
  run.Add(0, 1);
  run.Add(2, 1);
  EXPECT_NEAR(run.Finish(), 3.0, kAacFrame);
}

TEST(AudioTrackTest, OverlapIsCutDownToTheTolerance) {
  AudioTrackRun run;
  run.Add(0, 1);
  run.Add(0.5, 1);
  // Whole packets go while they start more than 0.1 s early; the rest of the
  // second run plays 0.1 s late.
  EXPECT_NEAR(run.Finish(), 1.6, kAacFrame);
}

TEST(AudioTrackTest, ATimestampJumpAddsSilenceOnlyUpToTheLimit) {
  AudioTrackRun run;
  run.Limit(3);
  run.Add(0, 1);
  run.Add(2 * 3600, 1);  // the clock jumps two hours
  // One second, silence up to the 3 s limit, then the second run of sound.
  EXPECT_NEAR(run.Finish(), 4.0, kAacFrame);
}

TEST(AudioTrackTest, LateStartIsPaddedToTheVideoOrigin) {
  AudioTrackRun run(/*origin=*/1.0);
  run.Add(1.5, 1);
  EXPECT_NEAR(run.Finish(), 1.5, kAacFrame);
}

TEST(AudioTrackTest, EarlyStartIsCutAtTheVideoOrigin) {
  AudioTrackRun run(/*origin=*/0.5);
  run.Add(0, 2);
  EXPECT_NEAR(run.Finish(), 1.5, kAacFrame);
}

}  // namespace
}  // namespace vs::media
