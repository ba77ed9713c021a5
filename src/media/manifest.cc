#include "media/manifest.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

namespace vs::media {
namespace {

constexpr char kMpdProfiles[] =
    "urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019";
constexpr char kAudioChannelScheme[] = "urn:mpeg:dash:23003:3:audio_channel_configuration:2011";
constexpr char kRoleScheme[] = "urn:mpeg:dash:role:2011";
constexpr char kHlsAudioGroup[] = "aac";

// ceil(num / den) for positive operands. 128-bit so that bytes * 8 * timescale cannot overflow
// even for multi-gigabyte tracks with a 90 kHz (or larger) timescale.
int64_t CeilDiv(unsigned __int128 num, unsigned __int128 den) {
  return static_cast<int64_t>((num + den - 1) / den);
}

// Bits per second of `bytes` delivered over `duration` ticks, rounded up so that bandwidth is
// never understated (DASH @bandwidth and HLS BANDWIDTH must not be too low).
int64_t BitsPerSecond(uint64_t bytes, int64_t duration, int timescale) {
  if (duration <= 0 || timescale <= 0) return 0;
  const unsigned __int128 bits = static_cast<unsigned __int128>(bytes) * 8u;
  return CeilDiv(bits * static_cast<unsigned>(timescale), static_cast<unsigned __int128>(duration));
}

// Milliseconds, rounded half up. Integer arithmetic keeps output locale- and platform-independent.
int64_t TicksToMillis(int64_t ticks, int timescale) {
  if (timescale <= 0 || ticks <= 0) return 0;
  return (ticks * 2000 + timescale) / (2 * static_cast<int64_t>(timescale));
}

// "<int>.<3 digits>" from a count of thousandths (non-negative).
std::string FormatMillis(int64_t millis) {
  std::string frac = std::to_string(millis % 1000);
  frac.insert(0, 3 - frac.size(), '0');
  return std::to_string(millis / 1000) + "." + frac;
}

// xs:duration with millisecond precision, e.g. PT20.053S or PT1H2M3.500S.
std::string XsDuration(double seconds) {
  const int64_t total_ms = std::max<int64_t>(0, std::llround(seconds * 1000.0));
  const int64_t hours = total_ms / 3'600'000;
  const int64_t minutes = total_ms / 60'000 % 60;
  std::string out = "PT";
  if (hours > 0) out += std::to_string(hours) + "H";
  if (minutes > 0) out += std::to_string(minutes) + "M";
  out += FormatMillis(total_ms % 60'000) + "S";
  return out;
}

std::string EscapeXml(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

bool HasFrameRate(const Representation& r) { return r.frame_rate_num > 0 && r.frame_rate_den > 0; }

// Cross-multiplied so that 30000/1001 and 30/1 compare exactly.
bool FasterThan(const Representation& a, const Representation& b) {
  return static_cast<int64_t>(a.frame_rate_num) * b.frame_rate_den >
         static_cast<int64_t>(b.frame_rate_num) * a.frame_rate_den;
}

// DASH FrameRateType: an integer, or "num/den" for fractional rates such as 30000/1001.
std::string DashFrameRate(int num, int den) {
  if (den == 1) return std::to_string(num);
  return std::to_string(num) + "/" + std::to_string(den);
}

// HLS decimal-floating-point with three decimals, e.g. 29.970.
std::string HlsFrameRate(int num, int den) {
  const int64_t millis = (static_cast<int64_t>(num) * 2000 + den) / (2 * static_cast<int64_t>(den));
  return FormatMillis(millis);
}

// Peak, falling back to the average so a Representation never advertises bandwidth="0". With
// the current peak filter both are 0 together; the fallback guards against a stricter filter.
int64_t Bandwidth(const Representation& r) {
  const int64_t peak = r.PeakBitrate();
  return peak > 0 ? peak : r.AverageBitrate();
}

const Representation* FindAudio(const Presentation& p) {
  for (const Representation& r : p.representations) {
    if (r.kind == TrackKind::kAudio) return &r;
  }
  return nullptr;
}

void WriteSegmentTimeline(const Representation& rep, std::ostream& out) {
  out << "          <SegmentTimeline>\n";
  const std::vector<SegmentInfo>& segs = rep.segments;
  size_t i = 0;
  while (i < segs.size()) {
    // A run shares one duration and is gap-free, so every member's start is implied.
    size_t end = i + 1;
    while (end < segs.size() && segs[end].duration == segs[i].duration &&
           segs[end].start == segs[end - 1].start + segs[end - 1].duration) {
      ++end;
    }
    const bool contiguous = i > 0 && segs[i].start == segs[i - 1].start + segs[i - 1].duration;
    out << "            <S";
    if (!contiguous) out << " t=\"" << segs[i].start << '"';
    out << " d=\"" << segs[i].duration << '"';
    if (end - i > 1) out << " r=\"" << (end - i - 1) << '"';
    out << "/>\n";
    i = end;
  }
  out << "          </SegmentTimeline>\n";
}

void WriteRepresentation(const Representation& rep, std::ostream& out) {
  out << "      <Representation id=\"" << EscapeXml(rep.id) << "\" bandwidth=\"" << Bandwidth(rep)
      << "\" codecs=\"" << EscapeXml(rep.codecs) << '"';
  if (rep.kind == TrackKind::kVideo) {
    out << " width=\"" << rep.width << "\" height=\"" << rep.height << '"';
    if (HasFrameRate(rep)) {
      out << " frameRate=\"" << DashFrameRate(rep.frame_rate_num, rep.frame_rate_den) << '"';
    }
    out << " sar=\"1:1\"";
  } else {
    out << " audioSamplingRate=\"" << rep.sample_rate << '"';
  }
  out << ">\n";
  out << "        <SegmentTemplate timescale=\"" << rep.timescale
      << "\" startNumber=\"1\" initialization=\"init-$RepresentationID$.m4s\""
         " media=\"chunk-$RepresentationID$-$Number$.m4s\"";
  if (rep.segments.empty()) {
    // SegmentTimeline requires at least one S, so an empty track gets no timeline at all.
    out << "/>\n";
  } else {
    out << ">\n";
    WriteSegmentTimeline(rep, out);
    out << "        </SegmentTemplate>\n";
  }
  out << "      </Representation>\n";
}

void WriteVideoAdaptationSet(const std::vector<const Representation*>& video, std::ostream& out) {
  int max_width = 0;
  int max_height = 0;
  const Representation* fastest = nullptr;
  for (const Representation* r : video) {
    max_width = std::max(max_width, r->width);
    max_height = std::max(max_height, r->height);
    if (!HasFrameRate(*r)) continue;
    if (fastest == nullptr || FasterThan(*r, *fastest)) fastest = r;
  }
  out << "    <AdaptationSet id=\"0\" contentType=\"video\" mimeType=\"video/mp4\""
         " segmentAlignment=\"true\" startWithSAP=\"1\" maxWidth=\""
      << max_width << "\" maxHeight=\"" << max_height << '"';
  if (fastest != nullptr) {
    out << " maxFrameRate=\"" << DashFrameRate(fastest->frame_rate_num, fastest->frame_rate_den)
        << '"';
  }
  const Representation& top = *video.front();
  if (top.width > 0 && top.height > 0) {
    const int g = std::gcd(top.width, top.height);
    out << " par=\"" << top.width / g << ':' << top.height / g << '"';
  }
  out << ">\n";
  for (const Representation* r : video) WriteRepresentation(*r, out);
  out << "    </AdaptationSet>\n";
}

void WriteAudioAdaptationSet(const Representation& audio, std::ostream& out) {
  out << "    <AdaptationSet id=\"1\" contentType=\"audio\" mimeType=\"audio/mp4\""
         " segmentAlignment=\"true\" startWithSAP=\"1\">\n";
  out << "      <AudioChannelConfiguration schemeIdUri=\"" << kAudioChannelScheme << "\" value=\""
      << audio.channels << "\"/>\n";
  out << "      <Role schemeIdUri=\"" << kRoleScheme << "\" value=\"main\"/>\n";
  WriteRepresentation(audio, out);
  out << "    </AdaptationSet>\n";
}

}  // namespace

int64_t Representation::AverageBitrate() const {
  uint64_t bytes = 0;
  int64_t duration = 0;
  for (const SegmentInfo& s : segments) {
    bytes += s.bytes;
    duration += s.duration;
  }
  return BitsPerSecond(bytes, duration, timescale);
}

int64_t Representation::PeakBitrate() const {
  int64_t longest = 0;
  for (const SegmentInfo& s : segments) longest = std::max(longest, s.duration);
  // The longest segment always passes the half-length filter, so the "nothing left" fallback in
  // the header can only arise when no segment has a positive duration; that yields 0 here.
  int64_t peak = 0;
  for (const SegmentInfo& s : segments) {
    if (s.duration * 2 < longest) continue;
    peak = std::max(peak, BitsPerSecond(s.bytes, s.duration, timescale));
  }
  return peak;
}

std::string InitSegmentName(const std::string& rep_id) { return "init-" + rep_id + ".m4s"; }

std::string MediaSegmentName(const std::string& rep_id, int number) {
  return "chunk-" + rep_id + "-" + std::to_string(number) + ".m4s";
}

std::string MediaPlaylistName(const std::string& rep_id) { return "media-" + rep_id + ".m3u8"; }

std::string WriteMpd(const Presentation& p) {
  std::vector<const Representation*> video;
  for (const Representation& r : p.representations) {
    if (r.kind == TrackKind::kVideo) video.push_back(&r);
  }
  const Representation* audio = FindAudio(p);

  std::ostringstream out;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out << "<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" type=\"static\" profiles=\"" << kMpdProfiles
      << "\" mediaPresentationDuration=\"" << XsDuration(p.duration_seconds)
      << "\" minBufferTime=\"PT" << p.segment_seconds << "S\">\n";
  out << "  <Period id=\"0\" start=\"PT0S\">\n";
  if (!video.empty()) WriteVideoAdaptationSet(video, out);
  if (audio != nullptr) WriteAudioAdaptationSet(*audio, out);
  out << "  </Period>\n";
  out << "</MPD>\n";
  return out.str();
}

std::string WriteHlsMaster(const Presentation& p) {
  const Representation* audio = FindAudio(p);
  std::ostringstream out;
  out << "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n";
  if (audio != nullptr) {
    out << "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"" << kHlsAudioGroup
        << "\",NAME=\"Audio\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"" << audio->channels
        << "\",URI=\"" << MediaPlaylistName(audio->id) << "\"\n";
  }
  bool any_video = false;
  for (const Representation& r : p.representations) {
    if (r.kind != TrackKind::kVideo) continue;
    any_video = true;
    // A variant's BANDWIDTH covers everything the client fetches for it, including the
    // audio rendition (RFC 8216 section 4.3.4.2).
    int64_t peak = Bandwidth(r);
    int64_t average = r.AverageBitrate();
    std::string codecs = r.codecs;
    if (audio != nullptr) {
      peak += Bandwidth(*audio);
      average += audio->AverageBitrate();
      codecs += "," + audio->codecs;
    }
    out << "#EXT-X-STREAM-INF:BANDWIDTH=" << peak << ",AVERAGE-BANDWIDTH=" << average
        << ",CODECS=\"" << codecs << "\",RESOLUTION=" << r.width << 'x' << r.height;
    if (HasFrameRate(r)) out << ",FRAME-RATE=" << HlsFrameRate(r.frame_rate_num, r.frame_rate_den);
    if (audio != nullptr) out << ",AUDIO=\"" << kHlsAudioGroup << '"';
    out << '\n' << MediaPlaylistName(r.id) << '\n';
  }
  // Without video the audio playlist must itself be a variant, or the playlist has none.
  if (!any_video && audio != nullptr) {
    out << "#EXT-X-STREAM-INF:BANDWIDTH=" << Bandwidth(*audio)
        << ",AVERAGE-BANDWIDTH=" << audio->AverageBitrate() << ",CODECS=\"" << audio->codecs
        << "\"\n"
        << MediaPlaylistName(audio->id) << '\n';
  }
  return out.str();
}

// Everything a media playlist states comes from the representation; the presentation is part of
// the signature for symmetry with the other writers.
std::string WriteHlsMedia(const Presentation& /*p*/, const Representation& rep) {
  // EXTINF and TARGETDURATION are both derived from the same rounded milliseconds so that each
  // printed EXTINF, rounded to an integer, never exceeds the target (RFC 8216 section 4.3.3.1).
  std::vector<int64_t> millis;
  millis.reserve(rep.segments.size());
  int64_t target = 1;
  for (const SegmentInfo& s : rep.segments) {
    millis.push_back(TicksToMillis(s.duration, rep.timescale));
    target = std::max(target, (millis.back() + 500) / 1000);
  }
  std::ostringstream out;
  out << "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:" << target
      << "\n#EXT-X-MEDIA-SEQUENCE:1\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n";
  out << "#EXT-X-MAP:URI=\"" << InitSegmentName(rep.id) << "\"\n";
  for (size_t i = 0; i < millis.size(); ++i) {
    out << "#EXTINF:" << FormatMillis(millis[i]) << ",\n"
        << MediaSegmentName(rep.id, static_cast<int>(i + 1)) << '\n';
  }
  out << "#EXT-X-ENDLIST\n";
  return out.str();
}

}  // namespace vs::media
