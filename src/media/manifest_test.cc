#include "media/manifest.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace vs::media {
namespace {

namespace fs = std::filesystem;

// Builds back-to-back segments starting at `start`, as a muxer with a continuous tfdt produces.
std::vector<SegmentInfo> Contiguous(int64_t start, const std::vector<int64_t>& durations,
                                    const std::vector<uint64_t>& bytes) {
  std::vector<SegmentInfo> out;
  for (size_t i = 0; i < durations.size(); ++i) {
    out.push_back({start, durations[i], bytes[i]});
    start += durations[i];
  }
  return out;
}

Representation Video(const std::string& id, int width, int height, const std::string& codecs) {
  Representation r;
  r.id = id;
  r.kind = TrackKind::kVideo;
  r.codecs = codecs;
  r.width = width;
  r.height = height;
  r.frame_rate_num = 30;
  r.frame_rate_den = 1;
  return r;
}

// 20.053 s source transcoded to 1080p + 720p at 30 fps with 4 s segments, plus AAC-LC stereo.
// Video ends with a one-frame fragment; audio segments alternate 188/187 AAC frames and end with
// a three-frame tail. Those tails are what PeakBitrate must ignore.
Presentation AvPresentation() {
  constexpr int kVideoTimescale = 15360;  // 512 ticks per frame at 30 fps
  const std::vector<int64_t> video_durations = {61440, 61440, 61440, 61440, 61440, 512};

  Presentation p;
  p.duration_seconds = 20.053;
  p.segment_seconds = 4;

  Representation v1080 = Video("0", 1920, 1080, "avc1.640028");
  v1080.timescale = kVideoTimescale;
  v1080.init_bytes = 812;
  v1080.segments =
      Contiguous(0, video_durations, {2213587, 2198304, 2251876, 2187430, 2236915, 58912});

  Representation v720 = Video("1", 1280, 720, "avc1.64001f");
  v720.timescale = kVideoTimescale;
  v720.init_bytes = 809;
  v720.segments =
      Contiguous(0, video_durations, {1104821, 1098377, 1127654, 1091208, 1116739, 30215});

  Representation audio;
  audio.id = "2";
  audio.kind = TrackKind::kAudio;
  audio.codecs = "mp4a.40.2";
  audio.timescale = 48000;
  audio.sample_rate = 48000;
  audio.channels = 2;
  audio.init_bytes = 643;
  audio.segments = Contiguous(0, {192512, 191488, 192512, 191488, 192512, 3072},
                              {64291, 63944, 64305, 63917, 64288, 1104});

  p.representations = {v1080, v720, audio};
  return p;
}

// 6 s, 25 fps clip without audio: one 4 s segment and a 2 s remainder (exactly half, so it still
// counts towards the peak).
Presentation VideoOnlyPresentation() {
  constexpr int kTimescale = 12800;  // 512 ticks per frame at 25 fps
  Presentation p;
  p.duration_seconds = 6.0;
  p.segment_seconds = 4;

  Representation v720 = Video("0", 1280, 720, "avc1.64001f");
  v720.frame_rate_num = 25;
  v720.timescale = kTimescale;
  v720.init_bytes = 809;
  v720.segments = Contiguous(0, {51200, 25600}, {1302544, 661032});

  Representation v360 = Video("1", 640, 360, "avc1.64001e");
  v360.frame_rate_num = 25;
  v360.timescale = kTimescale;
  v360.init_bytes = 805;
  v360.segments = Contiguous(0, {51200, 25600}, {401233, 203877});

  p.representations = {v720, v360};
  return p;
}

fs::path TestdataDir() {
  const char* root = std::getenv("VS_SOURCE_DIR");
  if (root != nullptr && *root != '\0') return fs::path(root) / "src" / "media" / "testdata";
  return fs::path(__FILE__).parent_path() / "testdata";
}

bool UpdatingGoldens() {
  const char* update = std::getenv("VS_UPDATE_GOLDEN");
  return update != nullptr && std::string(update) == "1";
}

void ExpectMatchesGolden(const std::string& name, const std::string& actual) {
  const fs::path path = TestdataDir() / name;
  if (UpdatingGoldens()) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << "missing golden " << path << " (regenerate with VS_UPDATE_GOLDEN=1)";
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str()) << "golden " << path << " differs";
}

TEST(ManifestNamesTest, MatchCmafFileLayout) {
  EXPECT_EQ(InitSegmentName("0"), "init-0.m4s");
  EXPECT_EQ(MediaSegmentName("720p", 12), "chunk-720p-12.m4s");
  EXPECT_EQ(MediaPlaylistName("a_1"), "media-a_1.m3u8");
}

TEST(BitrateTest, EmptyRepresentationIsZero) {
  Representation r;
  r.timescale = 1000;
  EXPECT_EQ(r.AverageBitrate(), 0);
  EXPECT_EQ(r.PeakBitrate(), 0);
}

TEST(BitrateTest, AverageCoversAllSegmentsAndRoundsUp) {
  Representation r;
  r.timescale = 1000;
  r.segments = Contiguous(0, {3000, 1000}, {1000, 1});  // 8008 bits over 4 s = 2002 bps
  EXPECT_EQ(r.AverageBitrate(), 2002);
  r.segments = Contiguous(0, {3000}, {1000});  // 8000 / 3 = 2666.67 bps
  EXPECT_EQ(r.AverageBitrate(), 2667);
}

TEST(BitrateTest, PeakIgnoresShortTailSegment) {
  const Presentation p = AvPresentation();
  const Representation& video = p.representations[0];
  // The one-frame tail (58912 bytes in 1/30 s) would be 14.1 Mbit/s.
  EXPECT_EQ(video.PeakBitrate(), 2251876 * 8 / 4);
  const Representation& audio = p.representations[2];
  // The 64 ms tail would be 138 kbit/s; the densest full segment is 64305 bytes in 4.010667 s.
  EXPECT_EQ(audio.PeakBitrate(), (int64_t{64305} * 8 * 48000 + 192511) / 192512);
}

TEST(BitrateTest, PeakCountsSegmentOfExactlyHalfTheLongest) {
  const Presentation p = VideoOnlyPresentation();
  EXPECT_EQ(p.representations[0].PeakBitrate(), 661032 * 8 / 2);
}

TEST(BitrateTest, PeakUsesOnlySegmentWhenAlone) {
  Representation r;
  r.timescale = 48000;
  r.segments = Contiguous(0, {3072}, {1104});
  EXPECT_EQ(r.PeakBitrate(), 138000);
}

TEST(MpdTest, AudioVideoMatchesGolden) {
  ExpectMatchesGolden("manifest_av.mpd", WriteMpd(AvPresentation()));
}

TEST(MpdTest, VideoOnlyMatchesGolden) {
  ExpectMatchesGolden("manifest_video_only.mpd", WriteMpd(VideoOnlyPresentation()));
}

TEST(MpdTest, TimelineEmitsTOnlyAtStartAndAfterGaps) {
  Presentation p = VideoOnlyPresentation();
  p.representations.resize(1);
  // Starts at 1024 (not 0), then a 100-tick hole before the third segment.
  p.representations[0].segments = {
      {1024, 51200, 1}, {52224, 51200, 1}, {103524, 51200, 1}, {154724, 25600, 1}};
  const std::string mpd = WriteMpd(p);
  EXPECT_NE(mpd.find("<S t=\"1024\" d=\"51200\" r=\"1\"/>\n"
                     "            <S t=\"103524\" d=\"51200\"/>\n"
                     "            <S d=\"25600\"/>\n"),
            std::string::npos)
      << mpd;
}

TEST(MpdTest, FormatsLongDurationAndFractionalFrameRate) {
  Presentation p = VideoOnlyPresentation();
  p.duration_seconds = 3723.5;
  p.representations[0].frame_rate_num = 30000;
  p.representations[0].frame_rate_den = 1001;
  p.representations[1].frame_rate_num = 24000;
  p.representations[1].frame_rate_den = 1001;
  const std::string mpd = WriteMpd(p);
  EXPECT_NE(mpd.find("mediaPresentationDuration=\"PT1H2M3.500S\""), std::string::npos) << mpd;
  EXPECT_NE(mpd.find("maxFrameRate=\"30000/1001\""), std::string::npos) << mpd;
  EXPECT_NE(mpd.find("frameRate=\"24000/1001\""), std::string::npos) << mpd;
  EXPECT_NE(WriteHlsMaster(p).find(",FRAME-RATE=29.970\n"), std::string::npos);
}

TEST(MpdTest, IsWellFormedXml) {
  if (std::system("command -v xmllint >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "xmllint not installed";
  }
  const std::vector<std::pair<std::string, Presentation>> cases = {
      {"av.mpd", AvPresentation()}, {"video_only.mpd", VideoOnlyPresentation()}};
  for (const auto& [name, presentation] : cases) {
    const fs::path path = fs::path(::testing::TempDir()) / ("manifest_test_" + name);
    std::ofstream(path, std::ios::binary) << WriteMpd(presentation);
    const std::string command = "xmllint --noout '" + path.string() + "'";
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    fs::remove(path);
  }
}

TEST(HlsMasterTest, AudioVideoMatchesGolden) {
  ExpectMatchesGolden("master_av.m3u8", WriteHlsMaster(AvPresentation()));
}

TEST(HlsMasterTest, VideoOnlyMatchesGolden) {
  ExpectMatchesGolden("master_video_only.m3u8", WriteHlsMaster(VideoOnlyPresentation()));
}

TEST(HlsMasterTest, VideoOnlyHasNoAudioGroup) {
  const std::string master = WriteHlsMaster(VideoOnlyPresentation());
  EXPECT_EQ(master.find("#EXT-X-MEDIA"), std::string::npos) << master;
  EXPECT_EQ(master.find("AUDIO="), std::string::npos) << master;
  EXPECT_EQ(master.find("mp4a"), std::string::npos) << master;
}

TEST(HlsMasterTest, BandwidthIncludesAudioRendition) {
  const Presentation p = AvPresentation();
  const Representation& video = p.representations[0];
  const Representation& audio = p.representations[2];
  const std::string expected =
      "#EXT-X-STREAM-INF:BANDWIDTH=" + std::to_string(video.PeakBitrate() + audio.PeakBitrate()) +
      ",AVERAGE-BANDWIDTH=" + std::to_string(video.AverageBitrate() + audio.AverageBitrate()) +
      ",CODECS=\"avc1.640028,mp4a.40.2\",";
  EXPECT_NE(WriteHlsMaster(p).find(expected), std::string::npos);
}

TEST(HlsMediaTest, VideoMatchesGolden) {
  const Presentation p = AvPresentation();
  ExpectMatchesGolden("media_av_0.m3u8", WriteHlsMedia(p, p.representations[0]));
}

TEST(HlsMediaTest, AudioMatchesGolden) {
  const Presentation p = AvPresentation();
  ExpectMatchesGolden("media_av_2.m3u8", WriteHlsMedia(p, p.representations[2]));
}

TEST(HlsMediaTest, TargetDurationIsLongestRoundedSegment) {
  Presentation p;
  Representation r = Video("0", 640, 360, "avc1.64001e");
  r.timescale = 1000;
  r.segments = Contiguous(0, {4400, 2000}, {1, 1});
  EXPECT_NE(WriteHlsMedia(p, r).find("#EXT-X-TARGETDURATION:4\n"), std::string::npos);
  r.segments = Contiguous(0, {4000, 4500}, {1, 1});
  EXPECT_NE(WriteHlsMedia(p, r).find("#EXT-X-TARGETDURATION:5\n"), std::string::npos);
  r.segments = Contiguous(0, {200}, {1});
  EXPECT_NE(WriteHlsMedia(p, r).find("#EXT-X-TARGETDURATION:1\n"), std::string::npos);
}

}  // namespace
}  // namespace vs::media
