// DASH (MPD) and HLS (multivariant + media playlists) writers over one set of
// CMAF files: init-<rep>.m4s and chunk-<rep>-<n>.m4s (n from 1).
//
// Pure functions of a Presentation description: no I/O, no libav types, so
// they are unit-tested against golden files. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vs::media {

// One CMAF fragment of one representation. Times are in the representation's
// timescale (the track's mdhd timescale, so `start` equals the fragment's tfdt).
struct SegmentInfo {
  int64_t start = 0;
  int64_t duration = 0;
  uint64_t bytes = 0;  // size of chunk-<rep>-<n>.m4s
};

enum class TrackKind { kVideo, kAudio };

struct Representation {
  std::string id;  // substituted for $RepresentationID$; [0-9A-Za-z_-] only
  TrackKind kind = TrackKind::kVideo;
  std::string codecs;  // RFC 6381, e.g. "avc1.640028" or "mp4a.40.2"
  int timescale = 0;
  std::vector<SegmentInfo> segments;
  uint64_t init_bytes = 0;
  // video
  int width = 0;
  int height = 0;
  int frame_rate_num = 0;  // e.g. 30000
  int frame_rate_den = 1;  // e.g. 1001
  // audio
  int sample_rate = 0;
  int channels = 0;

  // Bits per second of the whole track (all segment bytes over total duration).
  int64_t AverageBitrate() const;
  // Highest bits per second of any single segment; segments shorter than half
  // the longest one (e.g. a 64 ms audio tail) are ignored unless nothing else
  // is left. Used as DASH @bandwidth and HLS BANDWIDTH.
  int64_t PeakBitrate() const;
};

struct Presentation {
  double duration_seconds = 0;  // presentation duration
  int segment_seconds = 4;      // nominal segment length
  // Video representations first, highest first; at most one audio one.
  std::vector<Representation> representations;
};

std::string InitSegmentName(const std::string& rep_id);                 // init-<rep>.m4s
std::string MediaSegmentName(const std::string& rep_id, int number);     // chunk-<rep>-<n>.m4s
std::string MediaPlaylistName(const std::string& rep_id);                // media-<rep>.m3u8

// Static DASH manifest (manifest.mpd).
std::string WriteMpd(const Presentation& p);
// HLS multivariant playlist (master.m3u8).
std::string WriteHlsMaster(const Presentation& p);
// HLS media playlist for one representation (media-<rep>.m3u8).
std::string WriteHlsMedia(const Presentation& p, const Representation& rep);

}  // namespace vs::media
