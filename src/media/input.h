// Opens an input file for demuxing under the security rules of the media
// module: own file I/O (no protocols at all, so a playlist cannot make the
// demuxer open another file or a connection), a demuxer whitelist, probe and
// stream limits, and validation of what the probe returns. Internal.
#pragma once

#include <string>

#include "core/result.h"
#include "media/libav_util.h"
#include "media/probe.h"

namespace vs::media {

struct AvioDeleter {
  void operator()(AVIOContext* io) const;
};
using AvioPtr = std::unique_ptr<AVIOContext, AvioDeleter>;

// Owns the demuxer, its file and the chosen streams. Not thread-safe: one
// thread demuxes.
struct InputFile {
  AvioPtr io;  // declared before fmt: destroyed after it
  FormatInputPtr fmt;
  int video_index = -1;
  int audio_index = -1;  // -1 when the file has no usable audio
  ProbeInfo info;
};

Result<std::unique_ptr<InputFile>> OpenInput(const std::string& path, const InputLimits& limits);

}  // namespace vs::media
