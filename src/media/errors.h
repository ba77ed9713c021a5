// Error codes of the media module. Codes that describe the input ("rejected
// input") mean that retrying the same file can never succeed: the worker marks
// such a job failed at once, and `visionsync transcode` exits with status 2.
// Every other code is an internal failure (exit 1) that may be retried.
#pragma once

#include <string_view>

#include "core/result.h"

namespace vs::media::errc {

// Rejected input.
inline constexpr const char* kEmptyFile = "empty_file";
inline constexpr const char* kUnsupportedContainer = "unsupported_container";
inline constexpr const char* kCorruptInput = "corrupt_input";
inline constexpr const char* kTruncatedInput = "truncated_input";
inline constexpr const char* kNoVideoStream = "no_video_stream";
inline constexpr const char* kUnsupportedCodec = "unsupported_codec";
inline constexpr const char* kInvalidDimensions = "invalid_dimensions";
inline constexpr const char* kDimensionsTooLarge = "dimensions_too_large";
inline constexpr const char* kTooManyStreams = "too_many_streams";
inline constexpr const char* kDurationTooLong = "duration_too_long";
inline constexpr const char* kUndecodableVideo = "undecodable_video";
inline constexpr const char* kUndecodableAudio = "undecodable_audio";

// Internal failures.
inline constexpr const char* kIoError = "io_error";
inline constexpr const char* kEncoderError = "encoder_error";
inline constexpr const char* kInternal = "internal";
inline constexpr const char* kTimeLimit = "time_limit";
inline constexpr const char* kOutOfMemory = "out_of_memory";

}  // namespace vs::media::errc

namespace vs::media {

// True when `e` is about the input file itself (never worth a retry).
inline bool IsRejectedInput(const Error& e) {
  static constexpr std::string_view kRejected[] = {
      errc::kEmptyFile,         errc::kUnsupportedContainer, errc::kCorruptInput,
      errc::kTruncatedInput,    errc::kNoVideoStream,        errc::kUnsupportedCodec,
      errc::kInvalidDimensions, errc::kDimensionsTooLarge,   errc::kTooManyStreams,
      errc::kDurationTooLong,   errc::kUndecodableVideo,     errc::kUndecodableAudio};
  for (auto code : kRejected)
    if (e.code == code) return true;
  return false;
}

}  // namespace vs::media
