// The transcoder: one input file to a CMAF ladder published as DASH
// (manifest.mpd) and HLS (master.m3u8), plus thumbnail.jpg.
//
// Decodes once, scales once per rung, encodes every rung from that one
// decode, each rung on its own thread. Output is written to a hidden folder
// inside the output directory and moved into place at the end, manifests
// last, so a failed run never leaves a manifest behind.
//
// Transcode() may be called from any thread; the progress callback runs on the
// calling thread.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/result.h"
#include "media/ladder.h"
#include "media/probe.h"

namespace vs::media {

// Encoder tuning. The defaults are the measured best (bench/README.md); the
// CLI lets benchmarks override them (VS_* variables, see media_commands.cc).
struct TranscodeTuning {
  int decode_threads = 2;
  int rung_threads = 1;        // x264 threads of every rung but the top one
  int top_threads = 2;         // the top rung is about half of the work
  // x264 options chosen per rung for speed at equal quality and bitrate
  // (each choice and the ones dropped are measured in bench/README.md). The
  // top rung is usually the source picture itself, sharp and carrying most
  // of the bits: trellis there is the cheapest gain. The rungs below it are
  // scaled, smoother pictures on which the quickest subpixel refinement
  // (subme=1) loses little; trellis wins that back on the larger of them.
  std::string top_params = "trellis=1";
  std::string mid_params = "subme=1:trellis=1";  // other rungs of 600 lines or more
  std::string small_params = "subme=1";          // rungs below 600 lines
  std::string x264_params;  // extra x264 options for every rung, after the above
  std::map<int, std::string> rung_params;  // extra options by rung short side, last
  bool bicubic = false;        // scaler; bilinear by default
  bool cascade = true;         // small rungs scale from a larger rung's picture
  int queue_frames = 16;       // frames buffered per rung
};

struct TranscodeOptions {
  std::string input;
  std::string output_dir;
  std::vector<RungSpec> ladder = DefaultLadder();
  int segment_seconds = 4;
  int audio_bitrate_kbps = 128;
  std::string x264_preset = "veryfast";
  InputLimits limits;
  TranscodeTuning tuning;
};

struct Progress {
  std::string stage;  // probing, encoding, packaging
  double percent = 0;
};

struct RenditionSummary {
  std::string id;    // representation id used in file names
  std::string kind;  // "video" or "audio"
  std::string name;  // "1080p", ..., "audio"
  std::string codecs;
  int width = 0;
  int height = 0;
  int64_t bitrate = 0;       // average bits/s
  int64_t peak_bitrate = 0;  // highest segment bits/s
  uint64_t bytes = 0;        // init + all segments
  double duration_seconds = 0;
  int segments = 0;
};

struct TranscodeSummary {
  double duration_seconds = 0;
  int width = 0;   // top rung
  int height = 0;
  bool has_audio = false;
  double frame_rate = 0;
  std::vector<RenditionSummary> renditions;
  std::string manifest = "manifest.mpd";
  std::string hls_master = "master.m3u8";
  std::string thumbnail = "thumbnail.jpg";
};

using ProgressCallback = std::function<void(const Progress&)>;

Result<TranscodeSummary> Transcode(const TranscodeOptions& options,
                                   const ProgressCallback& on_progress);

// Chooses the constant output frame rate for a source's average rate: common
// broadcast rates are snapped to exactly (so 29.98 from a phone becomes
// 30000/1001), anything above 60 fps is capped at 60, unknown becomes 30.
void ChooseFrameRate(int src_num, int src_den, int* out_num, int* out_den);

}  // namespace vs::media
