#include "media/input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>

extern "C" {
#include <libavutil/avstring.h>
#include <libavutil/display.h>
#include <libavutil/opt.h>
}

#include "media/errors.h"

namespace vs::media {
namespace {

constexpr const char* kContainerWhitelist = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,ogg";
constexpr int kIoBufferSize = 64 * 1024;
// The demuxer's own cap on streams. It must sit far above
// InputLimits::max_streams: a demuxer that meets more streams than its cap
// fails the whole open with ENOMEM ("Cannot allocate memory"), which is how
// a file with hundreds of streams used to fail. Our limit is checked once
// the header is read, before avformat_find_stream_info opens a decoder per
// stream (the step that costs memory). A stream costs the demuxer a few
// KiB, so the cap bounds the header to tens of MiB.
constexpr int kDemuxerStreamCap = 10000;
// What users read when the demuxer cannot make sense of the file; libav's
// own reason goes to the log.
constexpr const char* kCorruptMessage =
    "the file is damaged or incomplete and cannot be read as a video";

Status CheckStreamCount(const AVFormatContext* ctx, int max_streams) {
  if (static_cast<int>(ctx->nb_streams) <= max_streams) return {};
  return MakeError(errc::kTooManyStreams, "the file has " + std::to_string(ctx->nb_streams) +
                                              " streams (at most " + std::to_string(max_streams) +
                                              " accepted)");
}

struct FileSource {
  int fd = -1;
  int64_t size = 0;
};

int ReadFile(void* opaque, uint8_t* buf, int size) {
  auto* src = static_cast<FileSource*>(opaque);
  ssize_t n;
  do {
    n = ::read(src->fd, buf, size);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return AVERROR(errno);
  if (n == 0) return AVERROR_EOF;
  return static_cast<int>(n);
}

int64_t SeekFile(void* opaque, int64_t offset, int whence) {
  auto* src = static_cast<FileSource*>(opaque);
  if (whence == AVSEEK_SIZE) return src->size;
  off_t r = ::lseek(src->fd, offset, whence & ~AVSEEK_FORCE);
  return r < 0 ? AVERROR(errno) : r;
}

// The demuxer must never open anything besides the file we hand it: HLS,
// DASH and concat playlists, mov external data references and the like all
// go through io_open, so it always refuses.
int RefuseNestedOpen(AVFormatContext*, AVIOContext**, const char* url, int, AVDictionary**) {
  av_log(nullptr, AV_LOG_WARNING, "refused to open nested resource '%s'\n", url ? url : "");
  return AVERROR(EPERM);
}

int RotationOf(const AVStream* st) {
  const uint8_t* matrix = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, nullptr);
  if (!matrix) return 0;
  double theta = -av_display_rotation_get(reinterpret_cast<const int32_t*>(matrix));
  if (std::isnan(theta)) return 0;
  int deg = static_cast<int>(std::lround(theta / 90.0)) * 90;
  deg %= 360;
  if (deg < 0) deg += 360;
  return deg;
}

}  // namespace

void AvioDeleter::operator()(AVIOContext* io) const {
  if (!io) return;
  auto* src = static_cast<FileSource*>(io->opaque);
  av_freep(&io->buffer);
  avio_context_free(&io);
  if (src) {
    if (src->fd >= 0) ::close(src->fd);
    delete src;
  }
}

bool IsAllowedContainer(const std::string& demuxer_name) {
  return av_match_list(demuxer_name.c_str(), kContainerWhitelist, ',') > 0;
}

Result<std::unique_ptr<InputFile>> OpenInput(const std::string& path, const InputLimits& limits) {
  auto in = std::make_unique<InputFile>();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return MakeError(errc::kIoError, "cannot open input: " + std::string(strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return MakeError(errc::kIoError, "input is not a regular file");
  }
  if (st.st_size == 0) {
    ::close(fd);
    return MakeError(errc::kEmptyFile, "the file is empty (0 bytes)");
  }
  auto* src = new FileSource{fd, st.st_size};
  auto* buffer = static_cast<uint8_t*>(av_malloc(kIoBufferSize));
  AVIOContext* io = avio_alloc_context(buffer, kIoBufferSize, 0, src, ReadFile, nullptr, SeekFile);
  if (!io) {
    av_free(buffer);
    ::close(fd);
    delete src;
    return MakeError(errc::kOutOfMemory, "cannot allocate I/O context");
  }
  in->io.reset(io);
  in->info.file_size = st.st_size;

  // Identify the container ourselves first, so a disguised playlist or an
  // unknown format gets a precise answer instead of a generic open failure.
  const AVInputFormat* fmt = nullptr;
  int ret = av_probe_input_buffer2(io, &fmt, "", nullptr, 0, 1 << 20);
  if (ret < 0 || !fmt) {
    return MakeError(errc::kUnsupportedContainer,
                     "not a recognised video file (no known container signature)");
  }
  if (!IsAllowedContainer(fmt->name)) {
    return MakeError(errc::kUnsupportedContainer,
                     std::string("container '") + fmt->name +
                         "' is not accepted (allowed: MP4/MOV, Matroska/WebM, AVI, Ogg)");
  }

  AVFormatContext* ctx = avformat_alloc_context();
  if (!ctx) return MakeError(errc::kOutOfMemory, "cannot allocate demuxer");
  ctx->pb = io;
  ctx->flags |= AVFMT_FLAG_CUSTOM_IO;
  ctx->io_open = RefuseNestedOpen;
  ctx->probesize = limits.probe_size;
  ctx->max_streams = std::max(limits.max_streams, kDemuxerStreamCap);
  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "format_whitelist", kContainerWhitelist, 0);
  av_dict_set(&opts, "protocol_whitelist", "file", 0);
  av_dict_set(&opts, "enable_drefs", "0", 0);
  ret = avformat_open_input(&ctx, "", fmt, &opts);
  av_dict_free(&opts);
  if (ret < 0) {
    // avformat_open_input frees ctx on failure.
    LogAvError(std::string("opening the file as ") + fmt->name + " failed", ret);
    return MakeError(errc::kCorruptInput, kCorruptMessage);
  }
  in->fmt.reset(ctx);
  in->info.container = ctx->iformat->name;

  VS_TRY(CheckStreamCount(ctx, limits.max_streams));
  ret = avformat_find_stream_info(ctx, nullptr);
  if (ret < 0) {
    LogAvError("reading the stream information failed", ret);
    return MakeError(errc::kCorruptInput, kCorruptMessage);
  }
  // Some demuxers (Ogg, Matroska) may find more streams while probing.
  VS_TRY(CheckStreamCount(ctx, limits.max_streams));

  // Video: the first real video stream (cover art is an attached picture).
  for (unsigned i = 0; i < ctx->nb_streams; ++i) {
    const AVStream* s = ctx->streams[i];
    if (s->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
        !(s->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
      in->video_index = static_cast<int>(i);
      break;
    }
  }
  if (in->video_index < 0) return MakeError(errc::kNoVideoStream, "the file has no video stream");
  AVStream* vs = ctx->streams[in->video_index];
  const AVCodecParameters* vp = vs->codecpar;
  const AVCodec* vdec = avcodec_find_decoder(vp->codec_id);
  if (!vdec) {
    return MakeError(errc::kUnsupportedCodec,
                     std::string("video codec '") + avcodec_get_name(vp->codec_id) +
                         "' is not supported");
  }
  ProbeInfo& info = in->info;
  info.video_codec = avcodec_get_name(vp->codec_id);
  info.width = vp->width;
  info.height = vp->height;
  if (info.width <= 0 || info.height <= 0) {
    return MakeError(errc::kInvalidDimensions, "the video stream declares no frame size");
  }
  const int long_side = std::max(info.width, info.height);
  if (long_side > limits.max_long_side ||
      static_cast<int64_t>(info.width) * info.height > limits.max_pixels) {
    return MakeError(errc::kDimensionsTooLarge,
                     "video is " + std::to_string(info.width) + "x" + std::to_string(info.height) +
                         " (at most " + std::to_string(limits.max_long_side) +
                         " px on the long side and " +
                         std::to_string(limits.max_pixels / 1000000) + " megapixels accepted)");
  }
  info.rotation = RotationOf(vs);
  AVRational sar = av_guess_sample_aspect_ratio(ctx, vs, nullptr);
  double dw = info.width, dh = info.height;
  if (sar.num > 0 && sar.den > 0 && av_cmp_q(sar, AVRational{1, 1}) != 0) {
    double r = av_q2d(sar);
    if (r > 0.1 && r < 10) dw = dw * r;
  }
  info.display_width = static_cast<int>(std::lround(dw));
  info.display_height = static_cast<int>(std::lround(dh));
  if (info.rotation == 90 || info.rotation == 270) std::swap(info.display_width, info.display_height);
  AVRational fr = vs->avg_frame_rate;
  if (fr.num <= 0 || fr.den <= 0) fr = vs->r_frame_rate;
  if (fr.num > 0 && fr.den > 0) {
    info.frame_rate_num = fr.num;
    info.frame_rate_den = fr.den;
  }

  // Duration: container first, then the video stream.
  double duration = 0;
  if (ctx->duration > 0) duration = ctx->duration / static_cast<double>(AV_TIME_BASE);
  if (duration <= 0 && vs->duration > 0) duration = vs->duration * av_q2d(vs->time_base);
  info.duration_seconds = duration;
  if (duration > limits.max_duration_seconds) {
    char buf[160];
    snprintf(buf, sizeof(buf), "video is %.0f s long (at most %.0f s accepted)", duration,
             limits.max_duration_seconds);
    return MakeError(errc::kDurationTooLong, buf);
  }
  info.bit_rate = ctx->bit_rate;

  // Audio: the first stream marked default, else the first audio stream.
  int first_audio = -1, default_audio = -1;
  for (unsigned i = 0; i < ctx->nb_streams; ++i) {
    const AVStream* s = ctx->streams[i];
    if (s->codecpar->codec_type != AVMEDIA_TYPE_AUDIO) continue;
    if (first_audio < 0) first_audio = static_cast<int>(i);
    if (default_audio < 0 && (s->disposition & AV_DISPOSITION_DEFAULT))
      default_audio = static_cast<int>(i);
  }
  in->audio_index = default_audio >= 0 ? default_audio : first_audio;
  if (in->audio_index >= 0) {
    const AVCodecParameters* ap = ctx->streams[in->audio_index]->codecpar;
    if (!avcodec_find_decoder(ap->codec_id) || ap->sample_rate <= 0 ||
        ap->sample_rate > 768000 || ap->ch_layout.nb_channels <= 0 ||
        ap->ch_layout.nb_channels > 64) {
      return MakeError(errc::kUndecodableAudio,
                       std::string("the audio track (") + avcodec_get_name(ap->codec_id) +
                           ") cannot be decoded");
    }
    info.has_audio = true;
    info.audio_codec = avcodec_get_name(ap->codec_id);
    info.sample_rate = ap->sample_rate;
    info.channels = ap->ch_layout.nb_channels;
  }
  // Only the chosen streams are demuxed.
  for (unsigned i = 0; i < ctx->nb_streams; ++i) {
    if (static_cast<int>(i) != in->video_index && static_cast<int>(i) != in->audio_index)
      ctx->streams[i]->discard = AVDISCARD_ALL;
  }
  return in;
}

Result<ProbeInfo> Probe(const std::string& path, const InputLimits& limits) {
  VS_ASSIGN_OR_RETURN(auto in, OpenInput(path, limits));
  return in->info;
}

}  // namespace vs::media
