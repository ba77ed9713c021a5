#include "media/cmaf_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "media/errors.h"

namespace vs::media {
namespace {

constexpr int kAvioBufferSize = 256 * 1024;

uint32_t ReadBe32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

Result<std::unique_ptr<CmafWriter>> CmafWriter::Open(const std::string& dir,
                                                     const std::string& rep_id,
                                                     const AVCodecContext* enc,
                                                     double segment_seconds) {
  std::unique_ptr<CmafWriter> w(new CmafWriter());
  w->dir_ = dir;
  w->rep_id_ = rep_id;
  w->enc_tb_ = enc->time_base;
  int ret = avformat_alloc_output_context2(&w->ctx_, nullptr, "mp4", nullptr);
  if (ret < 0 || !w->ctx_) return MakeError(errc::kInternal, "cannot create mp4 muxer");
  AVStream* st = avformat_new_stream(w->ctx_, nullptr);
  if (!st) return MakeError(errc::kInternal, "cannot add muxer stream");
  ret = avcodec_parameters_from_context(st->codecpar, enc);
  if (ret < 0) return MakeError(errc::kInternal, "cannot copy codec parameters");
  st->time_base = enc->time_base;
  if (enc->codec_type == AVMEDIA_TYPE_VIDEO) st->avg_frame_rate = enc->framerate;

  auto* buffer = static_cast<uint8_t*>(av_malloc(kAvioBufferSize));
  w->ctx_->pb = avio_alloc_context(buffer, kAvioBufferSize, 1, w.get(), nullptr,
                                   &CmafWriter::OnWrite, nullptr);
  if (!w->ctx_->pb) {
    av_free(buffer);
    return MakeError(errc::kOutOfMemory, "cannot allocate muxer I/O");
  }
  w->ctx_->pb->seekable = 0;
  w->ctx_->flags |= AVFMT_FLAG_CUSTOM_IO;

  AVDictionary* opts = nullptr;
  // delay_moov: the moov is written at the first flush, once the first
  // timestamps are known, so a single edit list in the init segment hides the
  // encoder's B-frame delay and the AAC priming (presentation starts at 0 on
  // every track). The muxer's "cmaf" flag would drop that edit list and leave
  // video ~45 ms late against audio, so it is not set; the init segment still
  // carries the iso6 brand. frag_custom: fragments are cut only when we flush.
  av_dict_set(&opts, "movflags",
              "+frag_custom+dash+delay_moov+skip_sidx+skip_trailer+default_base_moof", 0);
  ret = avformat_write_header(w->ctx_, &opts);
  av_dict_free(&opts);
  if (ret < 0) return AvError(errc::kInternal, "cannot start the mp4 muxer", ret);
  w->timescale_ = st->time_base.den;
  if (st->time_base.num != 1) {
    return MakeError(errc::kInternal, "unexpected muxer time base");
  }
  w->segment_ticks_ = static_cast<int64_t>(segment_seconds * w->timescale_ + 0.5);
  return w;
}

CmafWriter::~CmafWriter() {
  if (!ctx_) return;
  if (ctx_->pb) {
    av_freep(&ctx_->pb->buffer);
    avio_context_free(&ctx_->pb);
  }
  avformat_free_context(ctx_);
}

int CmafWriter::OnWrite(void* opaque, uint8_t* buf, int size) {
  auto* self = static_cast<CmafWriter*>(opaque);
  self->pending_.insert(self->pending_.end(), buf, buf + size);
  return size;
}

Status CmafWriter::WriteFile(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = dir_ + "/" + name;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return MakeError(errc::kIoError, "cannot create " + name + ": " + strerror(errno));
  size_t off = 0;
  while (off < size) {
    ssize_t n = ::write(fd, data + off, size - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      return MakeError(errc::kIoError, "cannot write " + name + ": " + strerror(e));
    }
    off += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) return MakeError(errc::kIoError, "cannot close " + name);
  return {};
}

Status CmafWriter::FlushSegment() {
  int ret = av_write_frame(ctx_, nullptr);  // cut the fragment here
  if (ret < 0) return AvError(errc::kInternal, "cannot flush a fragment", ret);
  avio_flush(ctx_->pb);
  // A fragment is styp + moof + mdat; an init box here would mean the muxer
  // did not behave as configured.
  size_t pos = 0;
  while (pos + 8 <= pending_.size()) {
    const uint64_t size = ReadBe32(&pending_[pos]);
    const char* type = reinterpret_cast<const char*>(&pending_[pos + 4]);
    if (size < 8 || pos + size > pending_.size() || memcmp(type, "moov", 4) == 0 ||
        memcmp(type, "ftyp", 4) == 0) {
      return MakeError(errc::kInternal, "muxer produced an unexpected fragment layout");
    }
    pos += size;
  }
  if (pos != pending_.size()) return MakeError(errc::kInternal, "muxer produced a partial box");
  const int number = static_cast<int>(segments_.size()) + 1;
  VS_TRY(WriteFile(MediaSegmentName(rep_id_, number), pending_.data(), pending_.size()));
  SegmentInfo seg;
  seg.start = seg_start_;
  seg.duration = std::max<int64_t>(0, seg_end_ - seg_start_);
  seg.bytes = pending_.size();
  if (!segments_.empty()) {
    // Segments tile the timeline: the previous one lasts until this one starts.
    SegmentInfo& prev = segments_.back();
    prev.duration = seg_start_ - prev.start;
  }
  segments_.push_back(seg);
  pending_.clear();
  return {};
}

// With delay_moov the muxer writes ftyp + moov at the first flush after the
// first packet (so the edit list knows the first timestamps) and keeps that
// packet for the first fragment: the same dance as FFmpeg's DASH muxer.
Status CmafWriter::WriteInitSegment() {
  int ret = av_write_frame(ctx_, nullptr);
  if (ret < 0) return AvError(errc::kInternal, "cannot write an init segment", ret);
  avio_flush(ctx_->pb);
  if (pending_.size() < 16) return MakeError(errc::kInternal, "muxer produced no init segment");
  VS_TRY(WriteFile(InitSegmentName(rep_id_), pending_.data(), pending_.size()));
  init_bytes_ = pending_.size();
  init_written_ = true;
  pending_.clear();
  return {};
}

Status CmafWriter::Write(AVPacket* pkt) {
  if (pkt->duration <= 0) pkt->duration = 1;  // one tick in the encoder time base
  av_packet_rescale_ts(pkt, enc_tb_, ctx_->streams[0]->time_base);
  pkt->stream_index = 0;
  const int64_t pts = pkt->pts == AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
  const bool key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
  if (in_segment_ && key) {
    const int64_t next_boundary = static_cast<int64_t>(segments_.size() + 1) * segment_ticks_;
    if (pts >= next_boundary) {
      VS_TRY(FlushSegment());
      in_segment_ = false;
    }
  }
  if (!in_segment_) {
    in_segment_ = true;
    // The first segment starts at 0 even when the first packet is earlier
    // (AAC priming): the edit list maps the presentation to start at 0.
    seg_start_ = segments_.empty() ? 0 : pts;
    seg_end_ = seg_start_;
  }
  seg_end_ = std::max(seg_end_, pts + pkt->duration);
  int ret = av_write_frame(ctx_, pkt);
  if (ret < 0) return AvError(errc::kInternal, "cannot write a packet", ret);
  if (!init_written_) VS_TRY(WriteInitSegment());
  return {};
}

Status CmafWriter::Finish() {
  if (finished_) return {};
  finished_ = true;
  if (in_segment_) VS_TRY(FlushSegment());
  av_write_trailer(ctx_);
  pending_.clear();
  return {};
}

uint64_t CmafWriter::total_bytes() const {
  uint64_t total = init_bytes_;
  for (const auto& s : segments_) total += s.bytes;
  return total;
}

}  // namespace vs::media
