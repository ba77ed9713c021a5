// End-to-end checks of `visionsync transcode` on the shared clips and on
// hostile files the tests make themselves, verified with the real ffprobe
// and ffmpeg CLI.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cmath>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>

#include "test_util.h"

namespace vs::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

struct Rep {
  std::string id;
  int width = 0, height = 0;
  bool audio = false;
};

json::object Summary(const std::string& out) {
  json::value v = ParseJson(LastLine(ReadFile(out + ".progress")));
  return v.at("result").as_object();
}

std::vector<Rep> Reps(const std::string& out) {
  std::vector<Rep> reps;
  const json::object summary = Summary(out);
  for (const auto& r : summary.at("renditions").as_array()) {
    Rep rep;
    rep.id = json::value_to<std::string>(r.at("id"));
    rep.audio = r.at("kind").as_string() == "audio";
    if (!rep.audio) {
      rep.width = static_cast<int>(r.at("width").to_number<double>());
      rep.height = static_cast<int>(r.at("height").to_number<double>());
    }
    reps.push_back(rep);
  }
  return reps;
}

// init + chunks of one representation, concatenated into a playable file.
std::string Assemble(const std::string& out, const std::string& id) {
  std::string data = ReadFile(out + "/init-" + id + ".m4s");
  for (int n = 1; fs::exists(out + "/chunk-" + id + "-" + std::to_string(n) + ".m4s"); ++n)
    data += ReadFile(out + "/chunk-" + id + "-" + std::to_string(n) + ".m4s");
  std::string path = TempDir() + "/rep-" + id + ".mp4";
  WriteFile(path, data);
  return path;
}

int CountChunks(const std::string& out, const std::string& id) {
  int n = 0;
  while (fs::exists(out + "/chunk-" + id + "-" + std::to_string(n + 1) + ".m4s")) ++n;
  return n;
}

// Decodes everything with ffmpeg; returns its error output (empty = clean).
std::string DecodeErrors(const std::string& input) {
  ProcessResult r = RunProcess({"ffmpeg", "-nostdin", "-v", "error", "-i", input, "-map", "0", "-f", "null", "-"});
  return r.exit_code == 0 ? r.err : "exit " + std::to_string(r.exit_code) + ": " + r.err;
}

std::vector<double> KeyframeTimes(const std::string& file) {
  json::value v = FfprobeJson({"-select_streams", "v:0", "-skip_frame", "nokey", "-show_entries",
                               "frame=pts_time", file});
  std::vector<double> t;
  for (const auto& f : v.at("frames").as_array())
    t.push_back(std::stod(json::value_to<std::string>(f.at("pts_time"))));
  return t;
}

double StreamDuration(const std::string& file, const std::string& sel) {
  json::value v = FfprobeJson({"-select_streams", sel, "-show_entries", "packet=pts_time,duration_time", file});
  double end = 0;
  for (const auto& p : v.at("packets").as_array()) {
    double pts = std::stod(json::value_to<std::string>(p.at("pts_time")));
    double d = p.as_object().contains("duration_time")
                   ? std::stod(json::value_to<std::string>(p.at("duration_time")))
                   : 0;
    end = std::max(end, pts + d);
  }
  return end;
}

// Checks shared by every successful transcode.
void ExpectValidLadder(const std::string& out, double source_duration) {
  ASSERT_TRUE(fs::exists(out + "/manifest.mpd"));
  ASSERT_TRUE(fs::exists(out + "/master.m3u8"));
  ASSERT_TRUE(fs::exists(out + "/thumbnail.jpg"));
  EXPECT_EQ(DecodeErrors(out + "/manifest.mpd"), "");
  EXPECT_EQ(DecodeErrors(out + "/master.m3u8"), "");
  const int expected_segments = static_cast<int>(std::ceil(source_duration / 4.0 - 0.01));
  for (const Rep& rep : Reps(out)) {
    SCOPED_TRACE("representation " + rep.id);
    const std::string file = Assemble(out, rep.id);
    EXPECT_EQ(DecodeErrors(file), "");
    EXPECT_EQ(CountChunks(out, rep.id), expected_segments);
    EXPECT_NEAR(StreamDuration(file, rep.audio ? "a:0" : "v:0"), source_duration, 0.1);
    if (rep.audio) continue;
    json::value s = FfprobeJson({"-show_entries", "stream=width,height,pix_fmt,profile", file});
    const auto& st = s.at("streams").as_array().at(0);
    EXPECT_EQ(st.at("width").as_int64(), rep.width);
    EXPECT_EQ(st.at("height").as_int64(), rep.height);
    EXPECT_EQ(st.at("pix_fmt").as_string(), "yuv420p");
    EXPECT_EQ(st.at("profile").as_string(), "High");
    // One IDR exactly on every 4 s boundary and nowhere else.
    std::vector<double> keys = KeyframeTimes(file);
    ASSERT_EQ(static_cast<int>(keys.size()), expected_segments);
    for (size_t k = 0; k < keys.size(); ++k) EXPECT_NEAR(keys[k], 4.0 * k, 0.001);
  }
}

TEST(TranscodeTest, Landscape1080pFullLadderWithAudio) {
  const std::string out = TranscodeOnce("src-1080p30-20s.mp4");
  std::vector<Rep> reps = Reps(out);
  ASSERT_EQ(reps.size(), 5u);
  EXPECT_EQ(reps[0].width, 1920);
  EXPECT_EQ(reps[0].height, 1080);
  EXPECT_EQ(reps[1].height, 720);
  EXPECT_EQ(reps[2].width, 854);
  EXPECT_EQ(reps[2].height, 480);
  EXPECT_EQ(reps[3].width, 640);
  EXPECT_EQ(reps[3].height, 360);
  EXPECT_TRUE(reps[4].audio);
  ExpectValidLadder(out, 20.0);
}

TEST(TranscodeTest, BitratesFollowTheLadder) {
  const std::string out = TranscodeOnce("src-1080p30-20s.mp4");
  const double targets[] = {4500e3, 2500e3, 1200e3, 600e3, 128e3};
  const json::object summary = Summary(out);
  const auto& reps = summary.at("renditions").as_array();
  ASSERT_EQ(reps.size(), 5u);
  for (size_t i = 0; i < reps.size(); ++i) {
    const double avg = reps[i].at("bitrate").to_number<double>();
    EXPECT_GT(avg, targets[i] * 0.75) << "rendition " << i;
    EXPECT_LT(avg, targets[i] * 1.15) << "rendition " << i;
  }
}

// x264 records its options in the stream (an SEI message in the first
// segment). Each rung must carry the analysis settings chosen for it: trellis
// on the top rung at the preset's subpixel refinement, the quick refinement
// below it, trellis kept on the rungs of 600 lines or more.
std::string X264Options(const std::string& out, const std::string& id) {
  const std::string data = ReadFile(out + "/chunk-" + id + "-1.m4s");
  const size_t at = data.find("options: ");
  if (at == std::string::npos) return "";
  return " " + data.substr(at + 9, data.find('\0', at) - at - 9) + " ";
}

TEST(TranscodeTest, EachRungCarriesItsOwnEncoderSettings) {
  const std::string out = TranscodeOnce("src-1080p30-20s.mp4");
  struct Want {
    const char* id;
    const char* subme;
    const char* trellis;
  };
  for (const Want& w : {Want{"0", "subme=2", "trellis=1"}, Want{"1", "subme=1", "trellis=1"},
                        Want{"2", "subme=1", "trellis=0"}, Want{"3", "subme=1", "trellis=0"}}) {
    SCOPED_TRACE(std::string("representation ") + w.id);
    const std::string opts = X264Options(out, w.id);
    ASSERT_FALSE(opts.empty()) << "no x264 option string in the first segment";
    EXPECT_NE(opts.find(std::string(" ") + w.subme + " "), std::string::npos) << opts;
    EXPECT_NE(opts.find(std::string(" ") + w.trellis + " "), std::string::npos) << opts;
    EXPECT_NE(opts.find(" scenecut=0 "), std::string::npos) << opts;
    EXPECT_NE(opts.find(" me=hex "), std::string::npos) << opts;  // the preset's search on every rung
  }
}

TEST(TranscodeTest, AudioIsAacStereo48kAndInSync) {
  const std::string out = TranscodeOnce("src-1080p30-20s.mp4");
  const std::string audio = Assemble(out, "4");
  json::value s = FfprobeJson({"-show_entries", "stream=codec_name,profile,sample_rate,channels", audio});
  const auto& st = s.at("streams").as_array().at(0);
  EXPECT_EQ(st.at("codec_name").as_string(), "aac");
  EXPECT_EQ(st.at("profile").as_string(), "LC");
  EXPECT_EQ(st.at("sample_rate").as_string(), "48000");
  EXPECT_EQ(st.at("channels").as_int64(), 2);
  const std::string video = Assemble(out, "0");
  EXPECT_NEAR(StreamDuration(audio, "a:0"), StreamDuration(video, "v:0"), 0.05);
  // Both start at zero once the edit lists are applied.
  json::value vp = FfprobeJson({"-select_streams", "v:0", "-read_intervals", "%+#1", "-show_entries",
                                "frame=pts_time", video});
  EXPECT_NEAR(std::stod(json::value_to<std::string>(vp.at("frames").as_array().at(0).at("pts_time"))),
              0.0, 0.001);
}

TEST(TranscodeTest, ManifestsDescribeTheFiles) {
  const std::string out = TranscodeOnce("src-1080p30-20s.mp4");
  const std::string mpd = ReadFile(out + "/manifest.mpd");
  EXPECT_NE(mpd.find("type=\"static\""), std::string::npos);
  EXPECT_NE(mpd.find("media=\"chunk-$RepresentationID$-$Number$.m4s\""), std::string::npos);
  EXPECT_NE(mpd.find("initialization=\"init-$RepresentationID$.m4s\""), std::string::npos);
  EXPECT_NE(mpd.find("codecs=\"avc1.64"), std::string::npos);
  EXPECT_NE(mpd.find("<SegmentTimeline>"), std::string::npos);
  EXPECT_EQ(RunProcess({"xmllint", "--noout", out + "/manifest.mpd"}).exit_code, 0);
  const std::string master = ReadFile(out + "/master.m3u8");
  EXPECT_NE(master.find("#EXT-X-VERSION:7"), std::string::npos);
  EXPECT_NE(master.find("RESOLUTION=1920x1080"), std::string::npos);
  EXPECT_NE(master.find("RESOLUTION=640x360"), std::string::npos);
  EXPECT_NE(master.find("AUDIO=\"aac\""), std::string::npos);
  const std::string media = ReadFile(out + "/media-0.m3u8");
  EXPECT_NE(media.find("#EXT-X-MAP:URI=\"init-0.m4s\""), std::string::npos);
  EXPECT_NE(media.find("chunk-0-5.m4s"), std::string::npos);
  EXPECT_NE(media.find("#EXT-X-ENDLIST"), std::string::npos);
  // No working files are left behind.
  for (const auto& e : fs::directory_iterator(out))
    EXPECT_NE(e.path().filename().string().rfind(".partial", 0), 0u) << e.path();
}

TEST(TranscodeTest, ThumbnailIsAJpegOfDisplaySize) {
  const std::string out = TranscodeOnce("src-1080p30-20s.mp4");
  json::value s = FfprobeJson({"-show_entries", "stream=codec_name,width,height", out + "/thumbnail.jpg"});
  const auto& st = s.at("streams").as_array().at(0);
  EXPECT_EQ(st.at("codec_name").as_string(), "mjpeg");
  EXPECT_EQ(st.at("width").as_int64(), 1280);
  EXPECT_EQ(st.at("height").as_int64(), 720);
}

TEST(TranscodeTest, ProgressIsMonotonicJsonLines) {
  const std::string out = TranscodeOnce("src-1080p30-20s.mp4");
  std::string text = ReadFile(out + ".progress");
  std::istringstream lines(text);
  std::string line, last_stage;
  double last = -1;
  int count = 0;
  std::set<std::string> stages;
  while (std::getline(lines, line)) {
    json::object o = ParseJson(line).as_object();
    const double p = o.at("progress").to_number<double>();
    EXPECT_GE(p, last) << line;
    last = p;
    stages.insert(json::value_to<std::string>(o.at("stage")));
    ++count;
  }
  EXPECT_EQ(last, 100);
  EXPECT_TRUE(stages.count("probing") && stages.count("encoding") && stages.count("packaging") &&
              stages.count("done"));
  EXPECT_GE(count, 20);  // at least every 1% or every second over ~15 s
}

TEST(TranscodeTest, NoAudioSourceGivesVideoOnlyOutput) {
  const std::string out = TranscodeOnce("src-720p25-6s-noaudio.mp4");
  std::vector<Rep> reps = Reps(out);
  ASSERT_EQ(reps.size(), 3u);  // 720p, 480p, 360p: never upscaled to 1080p
  EXPECT_EQ(reps[0].height, 720);
  for (const auto& r : reps) EXPECT_FALSE(r.audio);
  EXPECT_EQ(ReadFile(out + "/manifest.mpd").find("contentType=\"audio\""), std::string::npos);
  EXPECT_EQ(ReadFile(out + "/master.m3u8").find("AUDIO="), std::string::npos);
  EXPECT_NE(ReadFile(out + "/manifest.mpd").find("frameRate=\"25\""), std::string::npos);
  ExpectValidLadder(out, 6.0);
}

TEST(TranscodeTest, PortraitKeepsOrientationOnEveryRung) {
  const std::string out = TranscodeOnce("src-portrait-1080x1920-5s.mp4");
  std::vector<Rep> reps = Reps(out);
  ASSERT_EQ(reps.size(), 5u);
  EXPECT_EQ(reps[0].width, 1080);
  EXPECT_EQ(reps[0].height, 1920);
  EXPECT_EQ(reps[3].width, 360);
  EXPECT_EQ(reps[3].height, 640);
  ExpectValidLadder(out, 5.0);
}

TEST(TranscodeTest, FourKSourceTopsOutAt1080p) {
  const std::string out = TranscodeOnce("src-2160p30-3s.mp4");
  std::vector<Rep> reps = Reps(out);
  ASSERT_EQ(reps.size(), 5u);
  EXPECT_EQ(reps[0].width, 1920);
  EXPECT_EQ(reps[0].height, 1080);
  ExpectValidLadder(out, 3.0);
}

// Makes a small clip with the ffmpeg CLI; returns its path.
std::string MakeClip(const std::string& name, const std::vector<std::string>& args) {
  const std::string path = TempDir() + "/" + name;
  std::vector<std::string> argv = {"ffmpeg", "-nostdin", "-v", "error", "-y"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(path);
  ProcessResult r = RunProcess(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return path;
}

double Psnr(const std::string& a, const std::string& b_filter_input, const std::string& filter) {
  ProcessResult r = RunProcess({"ffmpeg", "-nostdin", "-i", a, "-i", b_filter_input, "-lavfi", filter,
                         "-frames:v", "1", "-f", "null", "-"});
  std::smatch m;
  static const std::regex re("average:([0-9.]+|inf)");
  if (!std::regex_search(r.err, m, re)) return 0;
  return m[1] == "inf" ? 100 : std::stod(m[1]);
}

TEST(TranscodeTest, HonoursRotationMatrix) {
  // A landscape picture stored with "rotate 90": players show it portrait.
  // (ffmpeg 5.1 turns the rotate tag into a display matrix only on stream copy.)
  const std::string plain = MakeClip(
      "plain.mp4", {"-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=2", "-c:v", "libx264",
                    "-pix_fmt", "yuv420p"});
  const std::string src =
      MakeClip("rotated.mp4", {"-i", plain, "-c", "copy", "-metadata:s:v", "rotate=90"});
  const std::string out = TempDir() + "/out";
  ProcessResult r = RunProcess({Binary(), "transcode", src, out});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string rep = Assemble(out, "0");
  json::value s = FfprobeJson({"-show_entries", "stream=width,height", rep});
  EXPECT_EQ(s.at("streams").as_array().at(0).at("width").as_int64(), 360);
  EXPECT_EQ(s.at("streams").as_array().at(0).at("height").as_int64(), 640);
  // ffmpeg's own autorotation is the reference picture: upright, not mirrored.
  const double upright = Psnr(rep, src, "[1:v]scale=360:640[r];[0:v][r]psnr");
  const double upside_down =
      Psnr(rep, src, "[1:v]scale=360:640,hflip,vflip[r];[0:v][r]psnr");
  EXPECT_GT(upright, 30.0);
  EXPECT_GT(upright, upside_down + 5);
}

TEST(TranscodeTest, VariableFrameRateBecomesConstantWithoutDrift) {
  // Frames at irregular intervals (dropping 2 of every 5) plus continuous audio.
  const std::string src = MakeClip(
      "vfr.mkv", {"-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=8", "-f", "lavfi", "-i",
                  "sine=f=440:d=8:sample_rate=44100", "-vf", "select='not(between(mod(n\\,5)\\,1\\,2))'",
                  "-fps_mode", "vfr", "-c:v", "libx264", "-c:a", "libopus", "-ac", "2"});
  const std::string out = TempDir() + "/out";
  ProcessResult r = RunProcess({Binary(), "transcode", src, out});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string video = Assemble(out, "0");
  json::value v = FfprobeJson({"-select_streams", "v:0", "-show_entries", "packet=duration_time", video});
  std::set<std::string> durations;
  for (const auto& p : v.at("packets").as_array())
    durations.insert(json::value_to<std::string>(p.at("duration_time")));
  EXPECT_EQ(durations.size(), 1u);  // constant frame rate
  const std::string audio = Assemble(out, "1");
  EXPECT_NEAR(StreamDuration(audio, "a:0"), 8.0, 0.1);
  EXPECT_NEAR(StreamDuration(video, "v:0"), 8.0, 0.1);
}

TEST(TranscodeTest, TinySourceGetsOneRungAtItsOwnSize) {
  const std::string src = MakeClip("tiny.webm", {"-f", "lavfi", "-i", "testsrc2=s=320x240:r=24:d=3",
                                                 "-c:v", "libvpx-vp9", "-b:v", "300k"});
  const std::string out = TempDir() + "/out";
  ProcessResult r = RunProcess({Binary(), "transcode", "--progress", "json", src, out});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const json::value summary = ParseJson(LastLine(r.out));
  const auto& reps = summary.at("result").at("renditions").as_array();
  ASSERT_EQ(reps.size(), 1u);
  EXPECT_EQ(reps[0].at("width").as_int64(), 320);
  EXPECT_EQ(reps[0].at("height").as_int64(), 240);
}

// 2 s of picture and 8 s of sound in a faststart MP4 (moov first), the shape
// of a screen or phone recording cut by an editor.
std::string MakeShortPictureClip() {
  return MakeClip("short-picture.mp4",
                  {"-f", "lavfi", "-i", "testsrc2=s=320x240:r=30:d=2", "-f", "lavfi", "-i",
                   "sine=f=440:d=8:sample_rate=48000", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                   "-c:a", "aac", "-movflags", "+faststart"});
}

TEST(TranscodeTest, SoundLongerThanThePictureKeepsTheLastPictureOnScreen) {
  const std::string src = MakeShortPictureClip();
  const std::string out = TempDir() + "/out";
  ProcessResult r = RunProcess({Binary(), "transcode", "--progress", "json", src, out});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  WriteFile(out + ".progress", r.out);  // where Summary and Reps read the result
  EXPECT_NEAR(Summary(out).at("duration").to_number<double>(), 8.0, 0.1);
  const std::vector<Rep> reps = Reps(out);
  ASSERT_EQ(reps.size(), 2u);
  for (const Rep& rep : reps) {
    SCOPED_TRACE("representation " + rep.id);
    const std::string file = Assemble(out, rep.id);
    EXPECT_EQ(DecodeErrors(file), "");
    EXPECT_NEAR(StreamDuration(file, rep.audio ? "a:0" : "v:0"), 8.0, 0.1);
  }
  // Both manifests, as a player reads them: picture and sound of one length.
  for (const char* manifest : {"/manifest.mpd", "/master.m3u8"}) {
    SCOPED_TRACE(manifest);
    EXPECT_EQ(DecodeErrors(out + manifest), "");
    EXPECT_NEAR(StreamDuration(out + manifest, "v:0"), 8.0, 0.1);
    EXPECT_NEAR(StreamDuration(out + manifest, "a:0"), 8.0, 0.1);
  }
  // The held picture is the last one of the source, repeated at 30 fps.
  const std::string video = Assemble(out, reps[0].id);
  json::value frames = FfprobeJson(
      {"-select_streams", "v:0", "-count_frames", "-show_entries", "stream=nb_read_frames", video});
  EXPECT_EQ(frames.at("streams").as_array().at(0).at("nb_read_frames").as_string(), "240");
  EXPECT_GT(Psnr(video, src,
                 "[0:v]trim=start=7.9,setpts=PTS-STARTPTS[a];"
                 "[1:v]trim=start=1.95,setpts=PTS-STARTPTS[b];[a][b]psnr"),
            40.0);
}

// ---- hostile input ---------------------------------------------------------

struct Rejection {
  int exit_code;
  std::string code;
  std::string message;
  std::string out_dir;
};

Rejection Reject(const std::string& input) {
  const std::string out = TempDir() + "/out";
  ProcessResult r = RunProcess({Binary(), "transcode", "--max-seconds", "30", input, out});
  Rejection rej{r.exit_code, "", "", out};
  try {
    json::value v = ParseJson(LastLine(r.out));
    rej.code = json::value_to<std::string>(v.at("error").at("code"));
    rej.message = json::value_to<std::string>(v.at("error").at("message"));
  } catch (const std::exception&) {
    rej.message = "unparsable output: " + r.out + r.err;
  }
  // Nothing half-made is left: no manifest, no working folder.
  EXPECT_FALSE(fs::exists(out + "/manifest.mpd"));
  if (fs::exists(out)) {
    for (const auto& e : fs::directory_iterator(out)) ADD_FAILURE() << "left behind: " << e.path();
  }
  return rej;
}

TEST(HostileInputTest, EmptyFile) {
  const std::string f = TempDir() + "/empty.mp4";
  WriteFile(f, "");
  Rejection r = Reject(f);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.code, "empty_file");
}

TEST(HostileInputTest, TextNamedMp4) {
  const std::string f = TempDir() + "/notes.mp4";
  WriteFile(f, "These are my holiday notes, not a video.\nLine two.\n");
  Rejection r = Reject(f);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.code, "unsupported_container");
  EXPECT_FALSE(r.message.empty());
}

TEST(HostileInputTest, RandomBytes) {
  std::string junk(200000, '\0');
  uint32_t x = 12345;
  for (auto& c : junk) c = static_cast<char>((x = x * 1103515245 + 12345) >> 24);
  const std::string f = TempDir() + "/junk.mp4";
  WriteFile(f, junk);
  Rejection r = Reject(f);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.code, "unsupported_container");
}

TEST(HostileInputTest, TruncatedMp4) {
  // The shared clips have their moov first, so a cut file opens but ends early.
  const std::string data = ReadFile(MediaDir() + "/src-720p30-10s.mp4");
  const std::string f = TempDir() + "/truncated.mp4";
  WriteFile(f, data.substr(0, data.size() * 4 / 10));
  Rejection r = Reject(f);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.code, "truncated_input") << r.message;
}

TEST(HostileInputTest, ShortPictureFileCutMidwayIsTruncated) {
  // The same 2 s picture / 8 s sound file, cut off: in the picture (both
  // streams stop at ~1.5 s) and after it (the sound stops at ~5 s); the
  // container still declares 8 s.
  const std::string data = ReadFile(MakeShortPictureClip());
  for (const size_t tenths : {5, 8}) {
    SCOPED_TRACE(std::to_string(tenths) + "/10 of the file");
    const std::string f = TempDir() + "/cut-" + std::to_string(tenths) + ".mp4";
    WriteFile(f, data.substr(0, data.size() * tenths / 10));
    Rejection r = Reject(f);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.code, "truncated_input") << r.message;
    EXPECT_NE(r.message.find("declares 8.0 s"), std::string::npos) << r.message;
  }
}

TEST(HostileInputTest, HundredsOfAudioStreamsAreTooManyStreams) {
  // One short AAC track copied into 300 streams (libav's demuxer used to give
  // up on the 17th with "Cannot allocate memory").
  const std::string one = MakeClip(
      "one-track.mp4", {"-f", "lavfi", "-i", "testsrc2=s=160x120:r=10:d=1", "-f", "lavfi", "-i",
                        "sine=d=1", "-c:v", "libx264", "-c:a", "aac", "-b:a", "16k"});
  std::vector<std::string> args = {"-i", one, "-map", "0:v"};
  for (int i = 0; i < 300; ++i) args.insert(args.end(), {"-map", "0:a"});
  args.insert(args.end(), {"-c", "copy"});
  const std::string f = MakeClip("300-tracks.mp4", args);
  ASSERT_EQ(FfprobeJson({"-show_entries", "stream=index", f}).at("streams").as_array().size(),
            301u);
  Rejection r = Reject(f);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.code, "too_many_streams") << r.message;
  EXPECT_EQ(r.message, "the file has 301 streams (at most 16 accepted)");
  ProcessResult probe = RunProcess({Binary(), "probe", f});
  EXPECT_EQ(probe.exit_code, 2);
  EXPECT_NE(probe.out.find("\"too_many_streams\""), std::string::npos) << probe.out;
}

TEST(HostileInputTest, GarbageWithAnMp4SignatureGetsOurWordsNotLibavs) {
  // An ftyp box, then noise: the MP4 demuxer takes it and fails to read it.
  std::string data(
      "\0\0\0\x18"
      "ftypisom\0\0\x02\0isomiso2",
      24);
  uint32_t x = 777;
  for (int i = 0; i < 200000; ++i) data += static_cast<char>((x = x * 1103515245 + 12345) >> 24);
  const std::string f = TempDir() + "/garbage.mp4";
  WriteFile(f, data);
  const std::string out = TempDir() + "/out";
  ProcessResult run = RunProcess({Binary(), "transcode", "--progress", "json", f, out});
  EXPECT_EQ(run.exit_code, 2);
  const json::value verdict = ParseJson(LastLine(run.out));
  EXPECT_EQ(verdict.at("error").at("code").as_string(), "corrupt_input");
  EXPECT_EQ(verdict.at("error").at("message").as_string(),
            "the file is damaged or incomplete and cannot be read as a video");
  // libav's own words are in the log (stderr), not in the answer.
  EXPECT_EQ(run.out.find("Invalid data"), std::string::npos) << run.out;
  EXPECT_NE(run.err.find("Invalid data found when processing input"), std::string::npos) << run.err;
}

TEST(HostileInputTest, Mp4WithoutMoov) {
  const std::string src = MakeClip("nomoov-src.mp4", {"-f", "lavfi", "-i", "testsrc2=s=320x240:d=2",
                                                      "-c:v", "libx264"});
  // Without +faststart the moov comes last: keep only what precedes it.
  const std::string data = ReadFile(src);
  const size_t moov = data.rfind("moov");
  ASSERT_NE(moov, std::string::npos);
  const std::string f = TempDir() + "/nomoov.mp4";
  WriteFile(f, data.substr(0, moov - 4));
  Rejection r = Reject(f);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.code, "corrupt_input") << r.message;
}

TEST(HostileInputTest, PlaylistsDisguisedAsVideoOpenNothing) {
  // A TCP listener and a FIFO: connecting to the first or opening the second
  // (which would block the transcoder until its time limit) would show the
  // playlist was followed.
  int srv = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(srv, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(srv, 4), 0);
  socklen_t len = sizeof(addr);
  getsockname(srv, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string port = std::to_string(ntohs(addr.sin_port));
  const std::string dir = TempDir();
  const std::string fifo = dir + "/secret.ts";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const std::string secret_file = MediaDir() + "/src-720p30-10s.mp4";

  const std::vector<std::pair<std::string, std::string>> cases = {
      {"hls-local.mp4", "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n" + fifo +
                            "\n#EXTINF:10,\nfile://" + secret_file + "\n#EXT-X-ENDLIST\n"},
      {"hls-remote.mp4", "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nhttp://127.0.0.1:" +
                             port + "/a.ts\n#EXT-X-ENDLIST\n"},
      {"concat.mp4", "ffconcat version 1.0\nfile '" + fifo + "'\nfile '" + secret_file + "'\n"},
      {"dash.mp4", "<?xml version=\"1.0\"?><MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" "
                   "type=\"static\"><Period><AdaptationSet><Representation id=\"1\" "
                   "bandwidth=\"1\"><BaseURL>http://127.0.0.1:" +
                       port + "/x.mp4</BaseURL></Representation></AdaptationSet></Period></MPD>\n"},
  };
  for (const auto& [name, body] : cases) {
    SCOPED_TRACE(name);
    const std::string f = dir + "/" + name;
    WriteFile(f, body);
    Rejection r = Reject(f);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.code, "unsupported_container") << r.message;
  }
  EXPECT_LT(accept(srv, nullptr, nullptr), 0) << "the transcoder connected to the listener";
  close(srv);
}

TEST(HostileInputTest, HugeDeclaredResolution) {
  const std::string f = MakeClip("wide.avi", {"-f", "lavfi", "-i", "color=c=red:s=9000x16:d=1:r=5",
                                              "-c:v", "mjpeg", "-pix_fmt", "yuvj420p"});
  Rejection r = Reject(f);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.code, "dimensions_too_large") << r.message;
  EXPECT_NE(r.message.find("9000x16"), std::string::npos);
}

TEST(HostileInputTest, AudioOnlyFile) {
  const std::string f = MakeClip("voice.mp4", {"-f", "lavfi", "-i", "sine=d=2", "-c:a", "aac"});
  Rejection r = Reject(f);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.code, "no_video_stream");
}

TEST(HostileInputTest, TooLongForTheConfiguredLimit) {
  const std::string out = TempDir() + "/out";
  ProcessResult r = RunProcess({Binary(), "transcode", "--max-duration", "5",
                         MediaDir() + "/src-720p30-10s.mp4", out});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(ParseJson(LastLine(r.out)).at("error").at("code").as_string(), "duration_too_long");
}

TEST(ResourceLimitTest, WallClockLimitStopsTheRun) {
  const std::string out = TempDir() + "/out";
  ProcessResult r = RunProcess({Binary(), "transcode", "--max-seconds", "1",
                         MediaDir() + "/src-1080p30-20s.mp4", out});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(ParseJson(LastLine(r.out)).at("error").at("code").as_string(), "time_limit");
  EXPECT_FALSE(fs::exists(out + "/manifest.mpd"));
}

TEST(ProbeTest, ReportsFactsAsJson) {
  ProcessResult r = RunProcess({Binary(), "probe", MediaDir() + "/src-portrait-1080x1920-5s.mp4"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  json::value v = ParseJson(r.out);
  EXPECT_EQ(v.at("video").at("width").as_int64(), 1080);
  EXPECT_EQ(v.at("video").at("height").as_int64(), 1920);
  EXPECT_EQ(v.at("video").at("codec").as_string(), "h264");
  EXPECT_EQ(v.at("audio").at("channels").as_int64(), 2);
  EXPECT_NEAR(v.at("duration").to_number<double>(), 5.0, 0.1);
}

}  // namespace
}  // namespace vs::testing
