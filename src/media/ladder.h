// Rendition ladder selection: which H.264 rungs to encode for a source.
//
// A rung is named by its short side ("1080p" is 1920x1080 landscape and
// 1080x1920 portrait), so portrait videos get the same quality. Rungs larger
// than the source are skipped (never upscale); a source smaller than the
// smallest rung gets one rung at its own size. Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

namespace vs::media {

struct RungSpec {
  int short_side = 0;        // 1080, 720, 480, 360
  int bitrate_kbps = 0;      // target average bitrate
};

// The original system's ladder: 1080p 4500k, 720p 2500k, 480p 1200k, 360p 600k.
std::vector<RungSpec> DefaultLadder();

// Parses "1080:4500,720:2500,..." (short side : kbps). Empty result on error.
std::vector<RungSpec> ParseLadder(const std::string& text);

struct Rung {
  std::string name;  // "1080p" (short side + "p")
  int width = 0;     // output (display-oriented) size, both even
  int height = 0;
  int bitrate_kbps = 0;
  int maxrate_kbps = 0;  // VBV peak: 1.1x the bitrate
  int bufsize_kbps = 0;  // VBV buffer: 2x the bitrate
};

// Selects the rungs for a source whose display-oriented size (after rotation,
// with square pixels) is display_w x display_h. Rungs come out largest first.
// The aspect ratio is kept and both dimensions rounded to even numbers.
std::vector<Rung> SelectRungs(int display_w, int display_h, const std::vector<RungSpec>& ladder);

}  // namespace vs::media
