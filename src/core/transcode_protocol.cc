#include "core/transcode_protocol.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <new>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "core/json_text.h"

namespace vs::transcode_protocol {
namespace {

namespace json = boost::json;

// The deepest line we write nests 4 levels (line, result, renditions, one
// rendition); a little room for fields added later, none for a bomb.
constexpr unsigned kMaxDepth = 8;
constexpr size_t kMaxStringBytes = 1024;
constexpr size_t kMaxMessageBytes = 4096;
constexpr size_t kMaxRenditions = 64;

void AppendUnsigned(std::string& out, uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

Error Bad(std::string what) { return MakeError(kBadLine, std::move(what)); }

const json::value* Find(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : &it->value();
}

// Each Read* leaves *out alone when the field is absent and not required.
Status ReadString(const json::object& o, std::string_view key, bool required, size_t max_bytes,
                  std::string* out) {
  const json::value* v = Find(o, key);
  if (!v) {
    if (required) return Bad("missing \"" + std::string(key) + "\"");
    return {};
  }
  if (!v->is_string()) return Bad("\"" + std::string(key) + "\" is not a string");
  const json::string& s = v->get_string();
  if (s.size() > max_bytes) return Bad("\"" + std::string(key) + "\" is too long");
  out->assign(s.data(), s.size());
  return {};
}

// A finite number in [lo, hi].
Status ReadNumber(const json::object& o, std::string_view key, bool required, double lo, double hi,
                  double* out) {
  const json::value* v = Find(o, key);
  if (!v) {
    if (required) return Bad("missing \"" + std::string(key) + "\"");
    return {};
  }
  if (!v->is_number()) return Bad("\"" + std::string(key) + "\" is not a number");
  const double d = v->to_number<double>();  // cannot fail for a number
  if (!std::isfinite(d) || d < lo || d > hi) return Bad("\"" + std::string(key) + "\" is out of range");
  *out = d;
  return {};
}

// A whole number in [0, max of T]: an integer, or a double with no fraction
// (a writer may print 1920 as 1920.0). Checked before converting, since a
// double out of T's range converts to undefined behaviour.
template <typename T>
Status ReadCount(const json::object& o, std::string_view key, bool required, T* out) {
  const json::value* v = Find(o, key);
  if (!v) {
    if (required) return Bad("missing \"" + std::string(key) + "\"");
    return {};
  }
  const auto bad_range = [&] { return Bad("\"" + std::string(key) + "\" is out of range"); };
  constexpr T kMax = std::numeric_limits<T>::max();
  if (v->is_int64()) {
    const int64_t i = v->get_int64();
    if (i < 0 || static_cast<uint64_t>(i) > static_cast<uint64_t>(kMax)) return bad_range();
    *out = static_cast<T>(i);
  } else if (v->is_uint64()) {
    const uint64_t u = v->get_uint64();
    if (u > static_cast<uint64_t>(kMax)) return bad_range();
    *out = static_cast<T>(u);
  } else if (v->is_double()) {
    const double d = v->get_double();
    // static_cast<double>(kMax) may round up to 2^63 or 2^64, hence `<`.
    if (!(d >= 0 && d < static_cast<double>(kMax)) || std::trunc(d) != d) return bad_range();
    *out = static_cast<T>(d);
  } else {
    return Bad("\"" + std::string(key) + "\" is not a number");
  }
  return {};
}

Status ReadBool(const json::object& o, std::string_view key, bool* out) {
  const json::value* v = Find(o, key);
  if (!v) return {};
  if (!v->is_bool()) return Bad("\"" + std::string(key) + "\" is not a boolean");
  *out = v->get_bool();
  return {};
}

Result<const json::object*> ReadObject(const json::object& o, std::string_view key) {
  const json::value* v = Find(o, key);
  if (!v || !v->is_object()) return Bad("\"" + std::string(key) + "\" is not an object");
  return &v->get_object();
}

Result<RenditionResult> DecodeRendition(const json::value& v) {
  if (!v.is_object()) return Bad("a rendition is not an object");
  const json::object& o = v.get_object();
  RenditionResult r;
  VS_TRY(ReadString(o, "id", true, kMaxStringBytes, &r.id));
  VS_TRY(ReadString(o, "kind", false, kMaxStringBytes, &r.kind));
  VS_TRY(ReadString(o, "name", true, kMaxStringBytes, &r.name));
  VS_TRY(ReadString(o, "codecs", false, kMaxStringBytes, &r.codecs));
  VS_TRY(ReadCount(o, "width", false, &r.width));
  VS_TRY(ReadCount(o, "height", false, &r.height));
  VS_TRY(ReadCount(o, "bitrate", true, &r.bitrate));
  VS_TRY(ReadCount(o, "peakBitrate", false, &r.peak_bitrate));
  VS_TRY(ReadCount(o, "size", false, &r.size));
  VS_TRY(ReadNumber(o, "duration", false, 0, std::numeric_limits<double>::max(), &r.duration));
  VS_TRY(ReadCount(o, "segments", false, &r.segments));
  return r;
}

Result<Line> DecodeDone(const json::object& line) {
  // The stage and progress of a done line are informative only.
  std::string stage;
  double progress = 0;
  VS_TRY(ReadString(line, "stage", false, kMaxStageBytes, &stage));
  VS_TRY(ReadNumber(line, "progress", false, 0, 100, &progress));
  VS_ASSIGN_OR_RETURN(const json::object* result, ReadObject(line, "result"));
  const json::object& o = *result;
  DoneLine d;
  VS_TRY(ReadNumber(o, "duration", true, 0, std::numeric_limits<double>::max(), &d.duration));
  VS_TRY(ReadCount(o, "width", true, &d.width));
  VS_TRY(ReadCount(o, "height", true, &d.height));
  VS_TRY(ReadNumber(o, "frameRate", false, 0, std::numeric_limits<double>::max(), &d.frame_rate));
  VS_TRY(ReadBool(o, "hasAudio", &d.has_audio));
  VS_TRY(ReadString(o, "manifest", false, kMaxStringBytes, &d.manifest));
  VS_TRY(ReadString(o, "hlsMaster", false, kMaxStringBytes, &d.hls_master));
  VS_TRY(ReadString(o, "thumbnail", false, kMaxStringBytes, &d.thumbnail));
  const json::value* reps = Find(o, "renditions");
  if (!reps) return Bad("missing \"renditions\"");
  if (!reps->is_array()) return Bad("\"renditions\" is not an array");
  if (reps->get_array().size() > kMaxRenditions) return Bad("too many renditions");
  for (const json::value& r : reps->get_array()) {
    VS_ASSIGN_OR_RETURN(RenditionResult rendition, DecodeRendition(r));
    d.renditions.push_back(std::move(rendition));
  }
  return Line{std::move(d)};
}

Result<Line> DecodeError(const json::object& line) {
  VS_ASSIGN_OR_RETURN(const json::object* e, ReadObject(line, "error"));
  ErrorLine out;
  VS_TRY(ReadString(*e, "code", true, kMaxStringBytes, &out.code));
  VS_TRY(ReadString(*e, "message", true, kMaxMessageBytes, &out.message));
  return Line{std::move(out)};
}

Result<Line> DecodeProgress(const json::object& line) {
  ProgressLine p;
  VS_TRY(ReadString(line, "stage", true, kMaxStageBytes, &p.stage));
  if (p.stage.empty()) return Bad("\"stage\" is empty");
  VS_TRY(ReadNumber(line, "progress", true, 0, 100, &p.progress));
  return Line{std::move(p)};
}

Result<Line> Decode(std::string_view text) {
  if (text.size() > kMaxLineBytes) return Bad("the line is too long");
  json::parse_options opts;
  opts.max_depth = kMaxDepth;  // invalid UTF-8, comments, trailing commas: refused by default
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, json::storage_ptr(), opts);
  if (ec) return Bad("not JSON: " + ec.message());
  if (!v.is_object()) return Bad("not a JSON object");
  const json::object& o = v.get_object();
  if (o.contains("result")) return DecodeDone(o);
  if (o.contains("error")) return DecodeError(o);
  return DecodeProgress(o);
}

}  // namespace

std::string EncodeProgress(const ProgressLine& line) {
  std::string out;
  {
    json_text::Object o(out);
    o.String("stage", line.stage).Number("progress", line.progress);
  }
  out += '\n';
  return out;
}

std::string EncodeDone(const DoneLine& line) {
  std::string out;
  {
    json_text::Object o(out);
    o.String("stage", "done").Int("progress", 100);
    std::string& r = o.Key("result");
    json_text::Object result(r);
    result.Number("duration", line.duration)
        .Int("width", line.width)
        .Int("height", line.height)
        .Number("frameRate", line.frame_rate)
        .Raw("hasAudio", line.has_audio ? "true" : "false")
        .String("manifest", line.manifest)
        .String("hlsMaster", line.hls_master)
        .String("thumbnail", line.thumbnail);
    std::string& reps = result.Key("renditions");
    reps += '[';
    for (size_t i = 0; i < line.renditions.size(); ++i) {
      const RenditionResult& x = line.renditions[i];
      if (i > 0) reps += ',';
      json_text::Object ro(reps);
      ro.String("id", x.id).String("kind", x.kind).String("name", x.name).String("codecs", x.codecs);
      if (x.kind == "video") ro.Int("width", x.width).Int("height", x.height);
      ro.Int("bitrate", x.bitrate).Int("peakBitrate", x.peak_bitrate);
      AppendUnsigned(ro.Key("size"), x.size);
      ro.Number("duration", x.duration).Int("segments", x.segments);
    }
    reps += ']';
  }
  out += '\n';
  return out;
}

std::string EncodeError(const ErrorLine& line) {
  std::string out;
  {
    json_text::Object o(out);
    json_text::Object e(o.Key("error"));
    e.String("code", line.code).String("message", line.message);
  }
  out += '\n';
  return out;
}

std::string EncodeError(const Error& error) { return EncodeError(ErrorLine{error.code, error.message}); }

Result<Line> DecodeLine(std::string_view line) {
  // With error codes Boost.JSON reports everything but running out of
  // memory as a value; this turns even that into an Error when it can.
  try {
    return Decode(line);
  } catch (const std::bad_alloc&) {
    return Bad("out of memory reading the line");
  } catch (...) {
    return Bad("unreadable line");
  }
}

}  // namespace vs::transcode_protocol
