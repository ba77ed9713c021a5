// The line protocol between `visionsync transcode --progress json` (the
// writer, in app) and the worker that runs it as a sandboxed child (the
// reader). It lives in core because both sides use it and the worker must not
// link libav (media): the types here are plain values, not media's structs.
//
// One JSON object per stdout line, in three kinds:
//   progress  {"stage":"encoding","progress":42.5}
//   done      {"stage":"done","progress":100,"result":{"duration":..,"width":..,
//              "height":..,"frameRate":..,"hasAudio":..,"manifest":..,"hlsMaster":..,
//              "thumbnail":..,"renditions":[{"id","kind","name","codecs","width",
//              "height","bitrate","peakBitrate","size","duration","segments"}]}}
//              (a rendition's width and height are written for video only)
//   error     {"error":{"code":"unsupported_container","message":"..."}}
// The last line is the transcoder's verdict: done (exit 0) or error (exit 1
// or 2). Add fields, never rename them: the reader ignores fields it does not
// know, and integration tests and scripts read these lines too.
//
// The reader treats its input as hostile (the child parses untrusted media):
// DecodeLine never throws, checks the type and range of every field it
// reads, and turns anything else into an Error. Stateless functions; safe
// from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.h"

namespace vs::transcode_protocol {

// Longest line the reader accepts; a longer one is not a line we write.
inline constexpr size_t kMaxLineBytes = 1 << 20;
// Longest stage name (they are short words: probing, encoding, ...).
inline constexpr size_t kMaxStageBytes = 64;

struct ProgressLine {
  std::string stage;
  double progress = 0;  // 0-100

  bool operator==(const ProgressLine&) const = default;
};

struct RenditionResult {
  std::string id;    // representation id used in file names
  std::string kind;  // "video" or "audio"
  std::string name;  // "1080p", ..., "audio"
  std::string codecs;
  int width = 0;  // video only (0 for audio)
  int height = 0;
  int64_t bitrate = 0;       // average bits/s
  int64_t peak_bitrate = 0;  // highest segment bits/s
  uint64_t size = 0;         // bytes: init + all segments
  double duration = 0;       // seconds
  int segments = 0;

  bool operator==(const RenditionResult&) const = default;
};

struct DoneLine {
  double duration = 0;  // seconds
  int width = 0;        // top rung
  int height = 0;
  double frame_rate = 0;
  bool has_audio = false;
  std::string manifest = "manifest.mpd";
  std::string hls_master = "master.m3u8";
  std::string thumbnail = "thumbnail.jpg";
  std::vector<RenditionResult> renditions;

  bool operator==(const DoneLine&) const = default;
};

struct ErrorLine {
  std::string code;  // a Result error code, e.g. "time_limit"
  std::string message;

  bool operator==(const ErrorLine&) const = default;
};

using Line = std::variant<ProgressLine, DoneLine, ErrorLine>;

// Each returns one whole line, '\n' included. Numbers are written in their
// shortest exact form; a non-finite double is written as null. Read back,
// a double may be an ulp off: Boost.JSON 1.81 does not round every decimal
// to the nearest double.
std::string EncodeProgress(const ProgressLine& line);
std::string EncodeDone(const DoneLine& line);
std::string EncodeError(const ErrorLine& line);
std::string EncodeError(const Error& error);

inline constexpr const char* kBadLine = "bad_transcoder_line";

// One line, with or without its '\n'. Which kind it is: an object with
// "result" is a done line, one with "error" an error line, else a progress
// line. Required: progress: stage (1-64 bytes), progress (0-100); done:
// result.duration, width, height, renditions (at most 64) and each
// rendition's id, name and bitrate; error: code and message. Every other
// known field is optional but must have its type and range when present:
// counts are whole and non-negative and fit their type, other numbers are
// finite and non-negative, strings at most 1 KiB (a message 4 KiB). Invalid
// UTF-8 and nesting deeper than 8 are refused. Errors have code kBadLine and
// say what was wrong. Never throws (out of memory included, unless building
// that Error runs out too).
Result<Line> DecodeLine(std::string_view line);

}  // namespace vs::transcode_protocol
