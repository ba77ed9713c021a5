#include "app/media_commands.h"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "app/sandbox.h"
#include "core/json_text.h"
#include "media/errors.h"

namespace vs::app {
namespace json = boost::json;

json::value ToJson(const media::ProbeInfo& i) {
  json::object o;
  o["container"] = i.container;
  o["fileSize"] = i.file_size;
  o["duration"] = i.duration_seconds;
  o["bitRate"] = i.bit_rate;
  json::object v;
  v["codec"] = i.video_codec;
  v["width"] = i.width;
  v["height"] = i.height;
  v["displayWidth"] = i.display_width;
  v["displayHeight"] = i.display_height;
  v["rotation"] = i.rotation;
  v["frameRate"] = i.frame_rate_den ? double(i.frame_rate_num) / i.frame_rate_den : 0.0;
  o["video"] = std::move(v);
  if (i.has_audio) {
    json::object a;
    a["codec"] = i.audio_codec;
    a["sampleRate"] = i.sample_rate;
    a["channels"] = i.channels;
    o["audio"] = std::move(a);
  } else {
    o["audio"] = nullptr;
  }
  return o;
}

transcode_protocol::DoneLine ToDoneLine(const media::TranscodeSummary& s) {
  transcode_protocol::DoneLine d{.duration = s.duration_seconds, .width = s.width, .height = s.height,
                                 .frame_rate = s.frame_rate, .has_audio = s.has_audio, .manifest = s.manifest,
                                 .hls_master = s.hls_master, .thumbnail = s.thumbnail, .renditions = {}};
  for (const auto& r : s.renditions) {
    d.renditions.push_back({.id = r.id, .kind = r.kind, .name = r.name, .codecs = r.codecs, .width = r.width,
                            .height = r.height, .bitrate = r.bitrate, .peak_bitrate = r.peak_bitrate,
                            .size = r.bytes, .duration = r.duration_seconds, .segments = r.segments});
  }
  return d;
}

int ExitCodeFor(const Error& e) {
  return media::IsRejectedInput(e) ? kExitRejected : kExitInternal;
}

namespace {

// `line` ends in its newline.
void PrintLine(const std::string& line) {
  fwrite(line.data(), 1, line.size(), stdout);
  fflush(stdout);
}

void PrintJson(const json::value& v) { PrintLine(json_text::Serialize(v) + '\n'); }

// Benchmark knobs (bench/README.md records what each one measured). The
// defaults in media::TranscodeTuning are the measured best; these variables
// exist so experiments need no rebuild.
media::TranscodeTuning TuningFromEnv() {
  media::TranscodeTuning t;
  auto num = [](const char* name, int def) {
    const char* v = std::getenv(name);
    return v && *v ? std::atoi(v) : def;
  };
  auto str = [](const char* name, const std::string& def) {
    const char* v = std::getenv(name);
    return v && *v ? std::string(v) : def;
  };
  t.decode_threads = num("VS_DECODE_THREADS", t.decode_threads);
  t.rung_threads = num("VS_X264_THREADS", t.rung_threads);
  t.top_threads = num("VS_TOP_THREADS", t.top_threads);
  // Set but empty means "no extra options" for these.
  auto opt_str = [](const char* name, const std::string& def) {
    const char* v = std::getenv(name);
    return v ? std::string(v) : def;
  };
  t.top_params = opt_str("VS_TOP_PARAMS", t.top_params);
  t.mid_params = opt_str("VS_MID_PARAMS", t.mid_params);
  t.small_params = opt_str("VS_SMALL_PARAMS", t.small_params);
  t.x264_params = str("VS_X264_PARAMS", t.x264_params);
  for (const media::RungSpec& r : media::DefaultLadder()) {
    const std::string v = str(("VS_X264_PARAMS_" + std::to_string(r.short_side)).c_str(), "");
    if (!v.empty()) t.rung_params[r.short_side] = v;
  }
  t.bicubic = str("VS_SCALER", "bilinear") == "bicubic";
  t.cascade = num("VS_CASCADE", t.cascade ? 1 : 0) != 0;
  t.queue_frames = num("VS_QUEUE_FRAMES", t.queue_frames);
  return t;
}

struct TranscodeArgs {
  std::string input, output;
  std::string progress = "none";
  std::string ladder;
  std::string preset = "veryfast";
  int64_t max_memory_mb = 0;
  int64_t max_seconds = 0;
  double max_duration = 0;
};

int RunTranscode(const TranscodeArgs& a) {
  ApplySandboxLimits({a.max_memory_mb, a.max_seconds, 0});
  media::TranscodeOptions opt;
  opt.input = a.input;
  opt.output_dir = a.output;
  opt.x264_preset = a.preset;
  opt.tuning = TuningFromEnv();
  if (a.max_duration > 0) opt.limits.max_duration_seconds = a.max_duration;
  if (!a.ladder.empty()) {
    opt.ladder = media::ParseLadder(a.ladder);
    if (opt.ladder.empty()) {
      PrintLine(transcode_protocol::EncodeError(MakeError(
          "invalid_argument", "--ladder expects SHORT:KBPS pairs, e.g. 1080:4500,720:2500")));
      return kExitInternal;
    }
  }
  const bool json_progress = a.progress == "json";
  media::ProgressCallback cb;
  if (json_progress) {
    cb = [](const media::Progress& p) {
      PrintLine(transcode_protocol::EncodeProgress({p.stage, p.percent}));
    };
  }
  Result<media::TranscodeSummary> r = [&]() -> Result<media::TranscodeSummary> {
    try {
      return media::Transcode(opt, cb);
    } catch (const std::bad_alloc&) {
      return MakeError(media::errc::kOutOfMemory, "the transcoder ran out of memory");
    }
  }();
  if (!r.ok()) {
    PrintLine(transcode_protocol::EncodeError(r.error()));
    return ExitCodeFor(r.error());
  }
  if (json_progress) {
    PrintLine(transcode_protocol::EncodeDone(ToDoneLine(*r)));
  } else {
    std::printf("transcoded %s -> %s/manifest.mpd (%zu renditions, %.2f s)\n", a.input.c_str(),
                a.output.c_str(), r->renditions.size(), r->duration_seconds);
  }
  return kExitOk;
}

}  // namespace

void AddMediaCommands(CLI::App& app, int* exit_code) {
  auto targs = std::make_shared<TranscodeArgs>();
  CLI::App* t = app.add_subcommand(
      "transcode", "Transcode a video to a DASH + HLS CMAF ladder with a thumbnail");
  t->add_option("input", targs->input, "Input video file")->required();
  t->add_option("outdir", targs->output, "Output folder (created if missing)")->required();
  t->add_option("--progress", targs->progress, "Progress output: none or json (JSON lines)")
      ->check(CLI::IsMember({"none", "json"}));
  t->add_option("--ladder", targs->ladder, "Rungs as SHORT_SIDE:KBPS list (default 1080:4500,720:2500,480:1200,360:600)");
  t->add_option("--preset", targs->preset, "x264 preset (default veryfast)");
  t->add_option("--max-memory", targs->max_memory_mb, "Address-space limit in MiB (0 = none)");
  t->add_option("--max-seconds", targs->max_seconds, "Wall-clock limit in seconds (0 = none)");
  t->add_option("--max-duration", targs->max_duration, "Longest accepted input in seconds");
  t->callback([targs, exit_code] { *exit_code = RunTranscode(*targs); });

  auto path = std::make_shared<std::string>();
  CLI::App* p = app.add_subcommand("probe", "Print media facts about a file as JSON");
  p->add_option("file", *path, "Input file")->required();
  p->callback([path, exit_code] {
    ApplySandboxLimits({2048, 60, 0});
    auto r = media::Probe(*path);
    if (!r.ok()) {
      PrintLine(transcode_protocol::EncodeError(r.error()));
      *exit_code = ExitCodeFor(r.error());
      return;
    }
    PrintJson(ToJson(*r));
    *exit_code = kExitOk;
  });
}

}  // namespace vs::app
