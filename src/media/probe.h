// Media facts about an input file, read safely (see InputLimits).
// Thread-safe: every call opens its own file handle.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"

namespace vs::media {

// Limits that make a hostile upload fail fast with a clear error instead of
// exhausting the machine. The defaults fit any real camera or phone video.
struct InputLimits {
  int max_long_side = 8192;                // pixels
  int64_t max_pixels = 8192LL * 4352;      // ~36 megapixels (8K DCI fits)
  int max_streams = 16;
  double max_duration_seconds = 6 * 3600;  // 6 hours
  int64_t probe_size = 16 << 20;           // bytes the demuxer may read to probe
};

struct ProbeInfo {
  std::string container;  // demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  int64_t file_size = 0;
  double duration_seconds = 0;
  int64_t bit_rate = 0;
  // video
  std::string video_codec;
  int width = 0;           // coded size
  int height = 0;
  int display_width = 0;   // after sample aspect ratio and rotation
  int display_height = 0;
  int rotation = 0;        // clockwise degrees to apply for display: 0/90/180/270
  int frame_rate_num = 0;  // average frame rate as found in the file
  int frame_rate_den = 1;
  // audio (first default audio stream)
  bool has_audio = false;
  std::string audio_codec;
  int sample_rate = 0;
  int channels = 0;
};

Result<ProbeInfo> Probe(const std::string& path, const InputLimits& limits = {});

// Whitelisted demuxers: the mp4/mov family, matroska/webm, avi and ogg.
bool IsAllowedContainer(const std::string& demuxer_name);

}  // namespace vs::media
