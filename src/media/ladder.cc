#include "media/ladder.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace vs::media {
namespace {

int RoundEven(double v) {
  int r = static_cast<int>(std::lround(v / 2.0)) * 2;
  return std::max(2, r);
}

Rung MakeRung(int short_side, int bitrate_kbps, int display_w, int display_h) {
  Rung r;
  const bool landscape = display_w >= display_h;
  const int src_short = landscape ? display_h : display_w;
  const int src_long = landscape ? display_w : display_h;
  const int out_short = RoundEven(short_side);
  const int out_long = RoundEven(static_cast<double>(src_long) * out_short / src_short);
  r.width = landscape ? out_long : out_short;
  r.height = landscape ? out_short : out_long;
  r.name = std::to_string(short_side) + "p";
  r.bitrate_kbps = bitrate_kbps;
  r.maxrate_kbps = bitrate_kbps * 11 / 10;
  r.bufsize_kbps = bitrate_kbps * 2;
  return r;
}

}  // namespace

std::vector<RungSpec> DefaultLadder() {
  return {{1080, 4500}, {720, 2500}, {480, 1200}, {360, 600}};
}

std::vector<RungSpec> ParseLadder(const std::string& text) {
  std::vector<RungSpec> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto colon = item.find(':');
    if (colon == std::string::npos) return {};
    char* end = nullptr;
    long side = std::strtol(item.c_str(), &end, 10);
    if (end != item.c_str() + colon) return {};
    long kbps = std::strtol(item.c_str() + colon + 1, &end, 10);
    if (*end != '\0') return {};
    if (side < 16 || side > 8192 || kbps < 50 || kbps > 200000) return {};
    out.push_back({static_cast<int>(side), static_cast<int>(kbps)});
  }
  std::sort(out.begin(), out.end(),
            [](const RungSpec& a, const RungSpec& b) { return a.short_side > b.short_side; });
  return out;
}

std::vector<Rung> SelectRungs(int display_w, int display_h, const std::vector<RungSpec>& ladder) {
  std::vector<Rung> out;
  if (display_w <= 0 || display_h <= 0 || ladder.empty()) return out;
  std::vector<RungSpec> sorted = ladder;
  std::sort(sorted.begin(), sorted.end(),
            [](const RungSpec& a, const RungSpec& b) { return a.short_side > b.short_side; });
  const int src_short = std::min(display_w, display_h);
  for (const RungSpec& spec : sorted) {
    // A source a few pixels short of a rung (e.g. 1916x1076 after cropping)
    // still counts as that rung's size: no visible upscale, better quality.
    if (spec.short_side <= src_short + 8) {
      Rung r = MakeRung(std::min(spec.short_side, src_short), spec.bitrate_kbps, display_w,
                        display_h);
      r.name = std::to_string(spec.short_side) + "p";
      out.push_back(r);
    }
  }
  if (out.empty()) {
    // Smaller than the smallest rung: one rendition at the source's own size,
    // at the smallest rung's bitrate scaled by pixel count.
    const RungSpec& smallest = sorted.back();
    const double ratio = static_cast<double>(src_short) / smallest.short_side;
    const int kbps = std::max(100, static_cast<int>(smallest.bitrate_kbps * ratio * ratio));
    Rung r = MakeRung(src_short, kbps, display_w, display_h);
    out.push_back(r);
  }
  return out;
}

}  // namespace vs::media
