// The transcoder's line protocol: what the writer prints, byte for byte;
// that the reader gives back what was written; and that the reader turns
// malformed or hostile lines into errors, never into exceptions or UB.
#include "core/transcode_protocol.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <variant>

namespace vs::transcode_protocol {
namespace {

DoneLine SampleDone() {
  DoneLine d;
  d.duration = 12.48;
  d.width = 1920;
  d.height = 1080;
  d.frame_rate = 29.97002997002997;
  d.has_audio = true;
  RenditionResult v;
  v.id = "v1080";
  v.kind = "video";
  v.name = "1080p";
  v.codecs = "avc1.640028";
  v.width = 1920;
  v.height = 1080;
  v.bitrate = 4'412'345;
  v.peak_bitrate = 6'000'001;
  v.size = 18'446'744'073'709'551'000ull;  // above int64: written as an unsigned
  v.duration = 12.48;
  v.segments = 4;
  RenditionResult a;
  a.id = "a";
  a.kind = "audio";
  a.name = "audio";
  a.codecs = "mp4a.40.2";
  a.bitrate = 128'000;
  a.peak_bitrate = 131'072;
  a.size = 200'000;
  a.duration = 12.5;
  a.segments = 4;
  d.renditions = {v, a};
  return d;
}

template <typename T>
T DecodeAs(std::string_view text) {
  auto r = DecodeLine(text);
  EXPECT_TRUE(r.ok()) << text << " -> " << (r.ok() ? "" : r.error().message);
  if (!r.ok()) return T{};
  EXPECT_TRUE(std::holds_alternative<T>(*r)) << text;
  return std::holds_alternative<T>(*r) ? std::get<T>(*r) : T{};
}

void ExpectBad(std::string_view text) {
  auto r = DecodeLine(text);
  EXPECT_FALSE(r.ok()) << "accepted: " << text.substr(0, 200);
  if (!r.ok()) {
    EXPECT_EQ(r.error().code, kBadLine);
  }
}

TEST(TranscodeProtocolTest, WritesTheLinesTheTranscoderAlwaysWrote) {
  EXPECT_EQ(EncodeProgress({"encoding", 42.5}), "{\"stage\":\"encoding\",\"progress\":42.5}\n");
  EXPECT_EQ(EncodeProgress({"probing", 0}), "{\"stage\":\"probing\",\"progress\":0}\n");
  EXPECT_EQ(EncodeError(MakeError("unsupported_container", "not a \"video\"")),
            "{\"error\":{\"code\":\"unsupported_container\",\"message\":\"not a \\\"video\\\"\"}}\n");
  EXPECT_EQ(EncodeDone(SampleDone()),
            "{\"stage\":\"done\",\"progress\":100,\"result\":{\"duration\":12.48,\"width\":1920,"
            "\"height\":1080,\"frameRate\":29.97002997002997,\"hasAudio\":true,"
            "\"manifest\":\"manifest.mpd\",\"hlsMaster\":\"master.m3u8\",\"thumbnail\":\"thumbnail.jpg\","
            "\"renditions\":[{\"id\":\"v1080\",\"kind\":\"video\",\"name\":\"1080p\",\"codecs\":"
            "\"avc1.640028\",\"width\":1920,\"height\":1080,\"bitrate\":4412345,\"peakBitrate\":6000001,"
            "\"size\":18446744073709551000,\"duration\":12.48,\"segments\":4},"
            "{\"id\":\"a\",\"kind\":\"audio\",\"name\":\"audio\",\"codecs\":\"mp4a.40.2\","
            "\"bitrate\":128000,\"peakBitrate\":131072,\"size\":200000,\"duration\":12.5,"
            "\"segments\":4}]}}\n");
}

TEST(TranscodeProtocolTest, ProgressRoundTrips) {
  for (double p : {0.0, 0.1, 33.333333333333336, 42.5, 100.0}) {
    const ProgressLine in{"encoding", p};
    EXPECT_EQ(DecodeAs<ProgressLine>(EncodeProgress(in)), in) << p;
  }
  // Boost.JSON 1.81 does not round every decimal to the nearest double: the
  // shortest text of this one reads back an ulp away.
  EXPECT_DOUBLE_EQ(DecodeAs<ProgressLine>(EncodeProgress({"encoding", 99.99999999999999})).progress,
                   99.99999999999999);
  const ProgressLine odd{"stage \"quoted\" \\ ünï\t", 7};
  EXPECT_EQ(DecodeAs<ProgressLine>(EncodeProgress(odd)), odd);
}

TEST(TranscodeProtocolTest, DoneRoundTrips) {
  const DoneLine in = SampleDone();
  EXPECT_EQ(DecodeAs<DoneLine>(EncodeDone(in)), in);
  DoneLine empty;
  EXPECT_EQ(DecodeAs<DoneLine>(EncodeDone(empty)), empty);
  DoneLine named = SampleDone();
  named.manifest = "m \"1\".mpd";
  named.renditions[0].name = "名前\n";
  EXPECT_EQ(DecodeAs<DoneLine>(EncodeDone(named)), named);
}

TEST(TranscodeProtocolTest, ErrorRoundTrips) {
  const ErrorLine in{"time_limit", "the transcoder ran out of its time budget"};
  EXPECT_EQ(DecodeAs<ErrorLine>(EncodeError(in)), in);
  EXPECT_EQ(DecodeAs<ErrorLine>(EncodeError(MakeError("x", "multi\nline"))), (ErrorLine{"x", "multi\nline"}));
}

TEST(TranscodeProtocolTest, ReadsTheSandboxWatchdogLine) {
  // app/sandbox.cc writes this from a signal handler, so it cannot call the
  // encoder; the reader must still understand it.
  const auto e = DecodeAs<ErrorLine>(
      "{\"error\":{\"code\":\"time_limit\",\"message\":\"the transcoder ran out of its time "
      "budget\"}}\n");
  EXPECT_EQ(e.code, "time_limit");
  EXPECT_EQ(e.message, "the transcoder ran out of its time budget");
}

TEST(TranscodeProtocolTest, IgnoresUnknownFieldsAndAcceptsWholeDoubles) {
  EXPECT_EQ(DecodeAs<ProgressLine>(R"({"stage":"encoding","progress":5,"fps":31.5,"extra":{"a":[1]}})"),
            (ProgressLine{"encoding", 5}));
  const auto d = DecodeAs<DoneLine>(
      R"({"stage":"done","progress":100,"later":true,"result":{"duration":1,"width":1920.0,)"
      R"("height":1080,"colour":"bt709","renditions":[{"id":"v","name":"720p","bitrate":1e6,"hdr":null}]}})");
  EXPECT_EQ(d.width, 1920);
  ASSERT_EQ(d.renditions.size(), 1u);
  EXPECT_EQ(d.renditions[0].bitrate, 1'000'000);
  EXPECT_EQ(d.renditions[0].width, 0);  // optional
  EXPECT_EQ(DecodeAs<ErrorLine>(R"({"error":{"code":"c","message":"m","hint":"h"},"stage":1})"),
            (ErrorLine{"c", "m"}));
  // Surrounding white space (the newline of a line, a stray CR) is fine.
  EXPECT_EQ(DecodeAs<ProgressLine>(" {\"stage\":\"a\",\"progress\":1}\r\n"), (ProgressLine{"a", 1}));
}

TEST(TranscodeProtocolTest, RefusesWhatIsNotAJsonObject) {
  for (std::string_view s : {"", "\n", "garbage", "{", "{\"stage\":\"a\",\"progress\":1", "[1,2]", "\"text\"", "42",
                             "null", "{\"stage\":\"a\",\"progress\":1}}", "{\"stage\":\"a\",\"progress\":1} x",
                             "{\"stage\":\"a\",/*c*/\"progress\":1}", "{\"stage\":\"a\",\"progress\":1,}",
                             "{\"stage\":\"a\",\"progress\":NaN}", "{'stage':'a','progress':1}"}) {
    ExpectBad(s);
  }
}

TEST(TranscodeProtocolTest, RefusesWrongTypes) {
  for (std::string_view s : {
           R"({"stage":1,"progress":5})",
           R"({"stage":"a","progress":"5"})",
           R"({"stage":"a","progress":true})",
           R"({"stage":"a","progress":null})",
           R"({"stage":"","progress":5})",
           R"({"result":[]})",
           R"({"result":"done"})",
           R"({"result":{"duration":"1","width":1,"height":1,"renditions":[]}})",
           R"({"result":{"duration":1,"width":"1","height":1,"renditions":[]}})",
           R"({"result":{"duration":1,"width":1,"height":1,"renditions":{}}})",
           R"({"result":{"duration":1,"width":1,"height":1,"renditions":["v"]}})",
           R"({"result":{"duration":1,"width":1,"height":1,"hasAudio":"yes","renditions":[]}})",
           R"({"result":{"duration":1,"width":1,"height":1,"manifest":7,"renditions":[]}})",
           R"({"result":{"duration":1,"width":1,"height":1,"renditions":[{"id":1,"name":"n","bitrate":1}]}})",
           R"({"result":{"duration":1,"width":1,"height":1,"renditions":[{"id":"v","name":"n","bitrate":false}]}})",
           R"({"result":{"duration":1,"width":1,"height":1,"renditions":[{"id":"v","name":"n","bitrate":1,"width":[1]}]}})",
           R"({"stage":"done","progress":"100","result":{"duration":1,"width":1,"height":1,"renditions":[]}})",
           R"({"error":"it broke"})",
           R"({"error":{"code":"c","message":42}})",
           R"({"error":{"code":null,"message":"m"}})",
       }) {
    ExpectBad(s);
  }
}

TEST(TranscodeProtocolTest, RefusesNumbersOutOfRange) {
  for (std::string_view s : {
           R"({"stage":"a","progress":-1})",
           R"({"stage":"a","progress":100.5})",
           R"({"stage":"a","progress":1e308})",
           R"({"stage":"a","progress":1e400})",
           R"({"stage":"a","progress":-1e400})",
           R"({"result":{"duration":-1,"width":1,"height":1,"renditions":[]}})",
           R"({"result":{"duration":1e400,"width":1,"height":1,"renditions":[]}})",
           R"({"result":{"duration":1,"width":1e300,"height":1,"renditions":[]}})",
           R"({"result":{"duration":1,"width":2147483648,"height":1,"renditions":[]}})",
           R"({"result":{"duration":1,"width":-1,"height":1,"renditions":[]}})",
           R"({"result":{"duration":1,"width":1.5,"height":1,"renditions":[]}})",
           R"({"result":{"duration":1,"width":1,"height":99999999999999999999999,"renditions":[]}})",
           R"({"result":{"duration":1,"width":1,"height":1,"renditions":[{"id":"v","name":"n","bitrate":9223372036854775808}]}})",
           R"({"result":{"duration":1,"width":1,"height":1,"renditions":[{"id":"v","name":"n","bitrate":1e19}]}})",
           R"({"result":{"duration":1,"width":1,"height":1,"renditions":[{"id":"v","name":"n","bitrate":1,"size":1e20}]}})",
           R"({"result":{"duration":1,"width":1,"height":1,"renditions":[{"id":"v","name":"n","bitrate":1,"segments":-3}]}})",
       }) {
    ExpectBad(s);
  }
  // The largest values that fit are fine.
  const auto d = DecodeAs<DoneLine>(
      R"({"result":{"duration":1,"width":2147483647,"height":0,"renditions":[{"id":"v","name":"n",)"
      R"("bitrate":9223372036854775807,"size":18446744073709551615}]}})");
  EXPECT_EQ(d.width, 2147483647);
  ASSERT_EQ(d.renditions.size(), 1u);
  EXPECT_EQ(d.renditions[0].bitrate, INT64_MAX);
  EXPECT_EQ(d.renditions[0].size, UINT64_MAX);
}

TEST(TranscodeProtocolTest, RefusesMissingFields) {
  for (std::string_view s : {
           R"({})",
           R"({"stage":"a"})",
           R"({"progress":5})",
           R"({"result":{"width":1,"height":1,"renditions":[]}})",
           R"({"result":{"duration":1,"height":1,"renditions":[]}})",
           R"({"result":{"duration":1,"width":1,"renditions":[]}})",
           R"({"result":{"duration":1,"width":1,"height":1}})",
           R"({"result":{"duration":1,"width":1,"height":1,"renditions":[{"name":"n","bitrate":1}]}})",
           R"({"result":{"duration":1,"width":1,"height":1,"renditions":[{"id":"v","bitrate":1}]}})",
           R"({"result":{"duration":1,"width":1,"height":1,"renditions":[{"id":"v","name":"n"}]}})",
           R"({"error":{}})",
           R"({"error":{"code":"c"}})",
           R"({"error":{"message":"m"}})",
       }) {
    ExpectBad(s);
  }
}

TEST(TranscodeProtocolTest, RefusesDeepNestingAndHugeLines) {
  for (int depth : {9, 100, 100000}) {
    std::string s = "{\"stage\":\"a\",\"progress\":1,\"x\":";
    s += std::string(depth, '[');
    s += std::string(depth, ']');
    s += '}';
    ExpectBad(s);
  }
  std::string unclosed(1 << 16, '{');
  ExpectBad(unclosed);

  std::string long_line = "{\"stage\":\"a\",\"progress\":1,\"pad\":\"" + std::string(kMaxLineBytes, 'x') + "\"}";
  ExpectBad(long_line);
  ExpectBad("{\"stage\":\"" + std::string(kMaxStageBytes + 1, 's') + "\",\"progress\":1}");
  ExpectBad("{\"error\":{\"code\":\"c\",\"message\":\"" + std::string(5000, 'm') + "\"}}");

  std::string many = R"({"result":{"duration":1,"width":1,"height":1,"renditions":[)";
  for (int i = 0; i < 65; ++i) many += std::string(i ? "," : "") + R"({"id":"v","name":"n","bitrate":1})";
  many += "]}}";
  ExpectBad(many);
}

TEST(TranscodeProtocolTest, RefusesInvalidUtf8) {
  ExpectBad("{\"stage\":\"\xff\xfe\",\"progress\":1}");
  ExpectBad("{\"stage\":\"\xc0\xaf\",\"progress\":1}");       // overlong '/'
  ExpectBad("{\"stage\":\"\xed\xa0\x80\",\"progress\":1}");   // a UTF-16 surrogate
  ExpectBad("{\"stage\":\"enc\xe2\x82\",\"progress\":1}");     // truncated sequence
  ExpectBad(std::string_view("{\"stage\":\"a\0b\",\"progress\":1}", 30));  // raw NUL
}

TEST(TranscodeProtocolTest, NeverThrowsOnMangledLines) {
  const std::string good = EncodeDone(SampleDone());
  for (size_t n = 0; n + 1 < good.size(); ++n) {
    // Every proper prefix but the one that only drops the newline is cut
    // inside the JSON text.
    auto r = DecodeLine(std::string_view(good).substr(0, n));
    EXPECT_FALSE(r.ok()) << n;
  }
  std::mt19937 rng(1234);
  for (int i = 0; i < 2000; ++i) {
    std::string s = good;
    for (int k = 0; k < 3; ++k) s[rng() % s.size()] = static_cast<char>(rng() % 256);
    (void)DecodeLine(s);  // any answer, as long as it is an answer
  }
}

}  // namespace
}  // namespace vs::transcode_protocol
