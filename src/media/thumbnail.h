// The poster image of a transcode. Internal to media.
#pragma once

#include <string>

#include "core/result.h"
#include "media/libav_util.h"
#include "media/probe.h"

namespace vs::media {

// Writes `src` to `path` as a JPEG in display orientation (info.rotation
// applied), at most 1280 pixels wide. Thread-safe for distinct frames.
Status EncodeThumbnail(const AVFrame* src, const ProbeInfo& info, const std::string& path);

}  // namespace vs::media
