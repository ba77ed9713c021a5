#include "media/transcoder.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include "media/audio_track.h"
#include "media/errors.h"
#include "media/frame_queue.h"
#include "media/input.h"
#include "media/manifest.h"
#include "media/thumbnail.h"
#include "media/video_rung.h"

namespace vs::media {
namespace {

namespace fs = std::filesystem;

// How far past the decoded picture the audio track may be padded with
// silence for a gap in its timestamps. Demuxers interleave the two streams
// within a second or so; a jump well past the picture is a broken clock.
constexpr double kSilenceLead = 5;

Status WriteTextFile(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  f.close();
  if (!f) return MakeError(errc::kIoError, "cannot write " + path);
  return {};
}

// The pipeline state of one Transcode() call.
class Pipeline {
 public:
  Pipeline(const TranscodeOptions& opt, const ProgressCallback& cb) : opt_(opt), cb_(cb) {}

  Result<TranscodeSummary> Run() {
    Report("probing", 0, true);
    VS_ASSIGN_OR_RETURN(in_, OpenInput(opt_.input, opt_.limits));
    const ProbeInfo& info = in_->info;
    rungs_spec_ = SelectRungs(info.display_width, info.display_height, opt_.ladder);
    if (rungs_spec_.empty()) return MakeError(errc::kInvalidDimensions, "no rendition fits the video size");
    ChooseFrameRate(info.frame_rate_num, info.frame_rate_den, &fps_num_, &fps_den_);

    std::error_code ec;
    fs::create_directories(opt_.output_dir, ec);
    if (ec) return MakeError(errc::kIoError, "cannot create output folder: " + ec.message());
    // A manifest from an earlier run must not outlive a failure of this one.
    fs::remove(fs::path(opt_.output_dir) / "manifest.mpd", ec);
    fs::remove(fs::path(opt_.output_dir) / "master.m3u8", ec);
    work_ = (fs::path(opt_.output_dir) / (".partial-" + std::to_string(getpid()))).string();
    fs::remove_all(work_, ec);
    fs::create_directories(work_, ec);
    if (ec) return MakeError(errc::kIoError, "cannot create work folder: " + ec.message());

    auto result = Process();
    if (!result.ok()) fs::remove_all(work_, ec);
    return result;
  }

 private:
  Status OpenVideoDecoder() {
    AVStream* st = in_->fmt->streams[in_->video_index];
    const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
    vdec_.reset(avcodec_alloc_context3(codec));
    if (avcodec_parameters_to_context(vdec_.get(), st->codecpar) < 0)
      return MakeError(errc::kUndecodableVideo, "invalid video parameters");
    vdec_->pkt_timebase = st->time_base;
    vdec_->thread_count = opt_.tuning.decode_threads;
    vdec_->max_pixels = opt_.limits.max_pixels;
    if (avcodec_open2(vdec_.get(), codec, nullptr) < 0)
      return MakeError(errc::kUndecodableVideo, "the video stream cannot be decoded");
    return {};
  }

  Result<TranscodeSummary> Process() {
    VS_TRY(OpenVideoDecoder());
    const ProbeInfo& info = in_->info;
    // Bilinear by default: cheaper than bicubic and, at these bitrates, it
    // scores higher SSIM/PSNR against a bicubic-scaled source because it
    // leaves less aliasing for x264 to spend bits on (bench/README.md).
    const int sws_flags = opt_.tuning.bicubic ? SWS_BICUBIC : SWS_BILINEAR;
    const bool cascade = opt_.tuning.cascade;
    for (size_t i = 0; i < rungs_spec_.size(); ++i) {
      auto r = std::make_unique<VideoRung>(rungs_spec_[i], std::to_string(i), &failure_);
      r->SetRole(i == 0, sws_flags, static_cast<size_t>(opt_.tuning.queue_frames));
      VS_TRY(r->Open(opt_, vdec_.get(), fps_num_, fps_den_, info.rotation, work_));
      failure_.Watch(&r->queue());
      rungs_.push_back(std::move(r));
    }
    // Cascade: a rung scales from the smallest larger rung that is at least
    // 1.5x its size (when that rung is itself smaller than the source), so
    // 480p and 360p read a 720p picture instead of a 1080p or 4K one.
    const auto short_side = [](const Rung& r) { return std::min(r.width, r.height); };
    const int src_short = std::min(info.display_width, info.display_height);
    for (size_t i = 0; i < rungs_.size(); ++i) {
      VideoRung* parent = nullptr;
      for (size_t j = 0; cascade && j < i; ++j) {
        const int pj = short_side(rungs_[j]->rung());
        if (pj * 2 >= short_side(rungs_[i]->rung()) * 3 && pj < src_short) parent = rungs_[j].get();
      }
      if (parent) {
        parent->AddChild(rungs_[i].get());
      } else {
        roots_.push_back(rungs_[i].get());
      }
    }
    if (in_->audio_index >= 0) {
      audio_ = std::make_unique<AudioTrack>();
      VS_TRY(audio_->Open(opt_, in_->fmt->streams[in_->audio_index],
                          std::to_string(rungs_.size()), work_));
    }
    thumb_time_ = info.duration_seconds > 0 ? std::min(2.0, info.duration_seconds / 3) : 0;

    std::vector<std::thread> threads_v;
    for (auto& r : rungs_) threads_v.emplace_back([p = r.get()] { p->Run(); });
    Status demux = Demux();
    if (!demux.ok()) failure_.Fail(demux.error());
    for (VideoRung* r : roots_) r->queue().Close();
    for (auto& t : threads_v) t.join();
    if (auto e = failure_.error()) return *e;
    if (audio_) VS_TRY(audio_->Finish(origin_sec_));
    Report("packaging", 99, true);
    return Package();
  }

  Status Demux() {
    AVFormatContext* fmt = in_->fmt.get();
    PacketPtr pkt = MakePacket();
    FramePtr frame = MakeFrame();
    int ret;
    while (!failure_.failed()) {
      ret = av_read_frame(fmt, pkt.get());
      if (ret == AVERROR_EOF || ret == AVERROR(EIO)) break;
      if (ret < 0) {
        // A read error mid-file: stop here; CheckComplete decides whether
        // what was read is the whole video.
        read_error_ = ret;
        LogAvError("reading the input stopped early", ret);
        break;
      }
      Status s;
      if (pkt->stream_index == in_->video_index) {
        s = DecodeVideo(pkt.get(), frame.get());
      } else if (audio_ && pkt->stream_index == in_->audio_index) {
        if (have_origin_) {
          s = DecodeAudio(pkt.get());
        } else {
          // Audio before the first video frame: hold it until the origin is known.
          held_audio_.push_back(PacketPtr(av_packet_clone(pkt.get())));
          if (held_audio_.size() > 4096)
            return MakeError(errc::kUndecodableVideo, "no decodable video at the start of the file");
        }
      }
      av_packet_unref(pkt.get());
      VS_TRY(s);
    }
    if (failure_.failed()) return {};
    VS_TRY(DecodeVideo(nullptr, frame.get()));
    if (frames_out_ == 0)
      return MakeError(errc::kUndecodableVideo, "no video frame could be decoded");
    if (audio_) {
      audio_->SetSilenceLimit(VideoEnd() + kSilenceLead);
      VS_TRY(audio_->Drain(origin_sec_));
    }
    VS_TRY(CheckComplete());
    VS_TRY(HoldLastPicture());
    if (!thumb_) thumb_.reset(av_frame_clone(last_.get()));
    return {};
  }

  // Seconds of picture emitted so far.
  double VideoEnd() const { return double(frames_out_) * fps_den_ / fps_num_; }

  Status DecodeAudio(AVPacket* pkt) {
    audio_->SetSilenceLimit(VideoEnd() + kSilenceLead);
    return audio_->Decode(pkt, origin_sec_);
  }

  // The input is complete when its data reaches (near) the duration the
  // container declares: the picture, or the sound when it runs longer (a
  // clip cut by an editor may keep its sound after the last picture). Both
  // ending early means the file itself stops early: an upload cut off or a
  // file truncated on disk (a read error mid-file ends up here too).
  Status CheckComplete() const {
    const double video = VideoEnd();
    const double media = std::max(video, audio_ ? audio_->end_seconds() : 0.0);
    const double declared = in_->info.duration_seconds;
    if (declared > 2 && media < declared * 0.9 - 0.5) {
      char buf[200];
      snprintf(buf, sizeof(buf),
               "the file ends after %.1f s of video%s but declares %.1f s (truncated upload?)",
               video, audio_ ? " and sound" : "", declared);
      return MakeError(errc::kTruncatedInput, buf);
    }
    return {};
  }

  // Sound that runs past the picture keeps the last picture on screen until
  // the sound ends, so every rendition lasts as long as the audio. Never
  // past the declared duration: silence the audio track invented is no
  // reason to show a still picture.
  Status HoldLastPicture() {
    if (!audio_) return {};
    double end = audio_->end_seconds();
    if (in_->info.duration_seconds > 0) end = std::min(end, in_->info.duration_seconds + 0.5);
    end = std::min(end, opt_.limits.max_duration_seconds);
    const int64_t target = std::llround(end * fps_num_ / fps_den_);
    while (frames_out_ < target && !failure_.failed()) VS_TRY(Emit(last_.get()));
    return {};
  }

  Status DecodeVideo(AVPacket* pkt, AVFrame* frame) {
    int ret = avcodec_send_packet(vdec_.get(), pkt);
    if (ret < 0 && ret != AVERROR(EAGAIN) && ret != AVERROR_EOF) {
      // Damaged data: skip the packet, but give up on files that are mostly damage.
      if (++decode_errors_ > 200 && decode_errors_ > frames_in_)
        return AvError(errc::kUndecodableVideo, "the video stream is corrupt", ret);
      return {};
    }
    while ((ret = avcodec_receive_frame(vdec_.get(), frame)) >= 0) {
      Status s = OnVideoFrame(frame);
      av_frame_unref(frame);
      VS_TRY(s);
    }
    if (ret != AVERROR(EAGAIN) && ret != AVERROR_EOF) {
      if (++decode_errors_ > 200 && decode_errors_ > frames_in_)
        return AvError(errc::kUndecodableVideo, "the video stream is corrupt", ret);
    }
    return {};
  }

  Status OnVideoFrame(AVFrame* frame) {
    ++frames_in_;
    const AVRational tb = in_->fmt->streams[in_->video_index]->time_base;
    int64_t ts = frame->best_effort_timestamp;
    if (!have_origin_) {
      origin_ts_ = ts == AV_NOPTS_VALUE ? 0 : ts;
      origin_sec_ = origin_ts_ * av_q2d(tb);
      have_origin_ = true;
      for (auto& p : held_audio_) VS_TRY(DecodeAudio(p.get()));
      held_audio_.clear();
    }
    // Constant frame rate: each frame goes to the output slot nearest its
    // timestamp; late frames are dropped and gaps repeat the previous frame.
    int64_t target = frames_out_;
    if (ts != AV_NOPTS_VALUE) {
      const double t = (ts - origin_ts_) * av_q2d(tb);
      target = std::llround(t * fps_num_ / fps_den_);
    }
    if (target < frames_out_) {
      if (frames_out_ > 0) return {};
      target = 0;
    }
    const int64_t max_gap = int64_t{fps_num_} * 60 / fps_den_;
    if (target - frames_out_ > max_gap) {
      // A timestamp jump of over a minute is a broken file, not a pause:
      // continue without inventing a minute of frozen picture.
      origin_ts_ += static_cast<int64_t>((target - frames_out_) * fps_den_ / (fps_num_ * av_q2d(tb)));
      target = frames_out_;
    }
    while (frames_out_ < target && last_) VS_TRY(Emit(last_.get()));
    VS_TRY(Emit(frame));
    last_.reset(av_frame_clone(frame));
    const double out_time = double(frames_out_) * fps_den_ / fps_num_;
    if (!thumb_ && out_time >= thumb_time_) thumb_.reset(av_frame_clone(frame));
    if (out_time > opt_.limits.max_duration_seconds) {
      return MakeError(errc::kDurationTooLong, "the video is longer than the accepted maximum");
    }
    return {};
  }

  bool IsSegmentStart(int64_t i) const {
    if (i == 0) return true;
    const int64_t per = int64_t{fps_num_} * opt_.segment_seconds;
    return (i * fps_den_) / per != ((i - 1) * fps_den_) / per;
  }

  Status Emit(const AVFrame* src) {
    for (VideoRung* r : roots_) {
      FramePtr f(av_frame_clone(src));
      if (!f) return MakeError(errc::kOutOfMemory, "cannot reference frame");
      f->pts = frames_out_;
      f->pict_type = IsSegmentStart(frames_out_) ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
      if (!r->queue().Push(std::move(f))) return {};  // aborted: a rung failed
    }
    ++frames_out_;
    ReportEncoding();
    return {};
  }

  void ReportEncoding() {
    const double duration = in_->info.duration_seconds;
    if (duration <= 0) return;
    int64_t done = INT64_MAX;
    for (auto& r : rungs_) done = std::min(done, r->frames_done());
    const double pct = std::min(98.9, 100.0 * done * fps_den_ / fps_num_ / duration);
    Report("encoding", pct, false);
  }

  void Report(const std::string& stage, double pct, bool force) {
    if (!cb_) return;
    auto now = std::chrono::steady_clock::now();
    pct = std::max(pct, last_pct_);  // monotonic
    if (!force && stage == last_stage_ && pct - last_pct_ < 1.0 &&
        now - last_report_ < std::chrono::seconds(1)) {
      return;
    }
    if (!force && stage == last_stage_ && pct == last_pct_ && now - last_report_ < std::chrono::seconds(1))
      return;
    last_pct_ = pct;
    last_stage_ = stage;
    last_report_ = now;
    cb_(Progress{stage, std::floor(pct * 10) / 10});
  }

  Result<TranscodeSummary> Package() {
    Presentation p = Describe();
    for (const auto& rep : p.representations) {
      if (rep.segments.empty()) return MakeError(errc::kInternal, "rendition " + rep.id + " is empty");
      const auto& last = rep.segments.back();
      const double end = double(last.start + last.duration) / rep.timescale;
      if (rep.kind == TrackKind::kVideo) p.duration_seconds = std::max(p.duration_seconds, end);
    }
    TranscodeSummary sum = Summarize(p);

    const std::string w = work_;
    VS_TRY(EncodeThumbnail(thumb_.get(), in_->info, w + "/thumbnail.jpg"));
    for (const auto& rep : p.representations)
      VS_TRY(WriteTextFile(w + "/" + MediaPlaylistName(rep.id), WriteHlsMedia(p, rep)));
    VS_TRY(WriteTextFile(w + "/master.m3u8", WriteHlsMaster(p)));
    VS_TRY(WriteTextFile(w + "/manifest.mpd", WriteMpd(p)));
    VS_TRY(Publish());

    sum.duration_seconds = p.duration_seconds;
    sum.width = rungs_.front()->rung().width;
    sum.height = rungs_.front()->rung().height;
    sum.has_audio = audio_ != nullptr;
    sum.frame_rate = double(fps_num_) / fps_den_;
    Report("packaging", 100, true);
    return sum;
  }

  // The finished renditions as the manifests describe them.
  Presentation Describe() const {
    Presentation p;
    p.segment_seconds = opt_.segment_seconds;
    for (auto& r : rungs_) {
      Representation rep;
      rep.id = r->id();
      rep.kind = TrackKind::kVideo;
      rep.codecs = r->codecs();
      rep.timescale = r->writer().timescale();
      rep.segments = r->writer().segments();
      rep.init_bytes = r->writer().init_bytes();
      rep.width = r->rung().width;
      rep.height = r->rung().height;
      rep.frame_rate_num = fps_num_;
      rep.frame_rate_den = fps_den_;
      p.representations.push_back(rep);
    }
    if (audio_) {
      Representation rep;
      rep.id = audio_->id();
      rep.kind = TrackKind::kAudio;
      rep.codecs = "mp4a.40.2";
      rep.timescale = audio_->writer().timescale();
      rep.segments = audio_->writer().segments();
      rep.init_bytes = audio_->writer().init_bytes();
      rep.sample_rate = kAudioRate;
      rep.channels = kAudioChannels;
      p.representations.push_back(rep);
    }
    return p;
  }

  TranscodeSummary Summarize(const Presentation& p) const {
    TranscodeSummary sum;
    for (const auto& rep : p.representations) {
      RenditionSummary rs;
      rs.id = rep.id;
      rs.kind = rep.kind == TrackKind::kVideo ? "video" : "audio";
      rs.codecs = rep.codecs;
      rs.width = rep.width;
      rs.height = rep.height;
      rs.bitrate = rep.AverageBitrate();
      rs.peak_bitrate = rep.PeakBitrate();
      rs.bytes = rep.init_bytes;
      for (const auto& s : rep.segments) rs.bytes += s.bytes;
      const auto& last = rep.segments.back();
      rs.duration_seconds = double(last.start + last.duration) / rep.timescale;
      rs.segments = static_cast<int>(rep.segments.size());
      sum.renditions.push_back(rs);
    }
    for (size_t i = 0; i < rungs_.size(); ++i) sum.renditions[i].name = rungs_[i]->rung().name;
    if (audio_) sum.renditions.back().name = "audio";
    return sum;
  }

  // Moves the finished files into the output folder, the manifests last, so
  // a reader that sees manifest.mpd finds every file it names.
  Status Publish() {
    std::vector<fs::path> files, last;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(work_, ec)) {
      const std::string name = e.path().filename().string();
      if (name == "manifest.mpd" || name == "master.m3u8")
        last.push_back(e.path());
      else
        files.push_back(e.path());
    }
    std::sort(last.begin(), last.end(), [](const fs::path& a, const fs::path&) {
      return a.filename() == "master.m3u8";  // master first, manifest.mpd last
    });
    files.insert(files.end(), last.begin(), last.end());
    for (const auto& f : files) {
      fs::rename(f, fs::path(opt_.output_dir) / f.filename(), ec);
      if (ec) return MakeError(errc::kIoError, "cannot publish " + f.filename().string() + ": " + ec.message());
    }
    fs::remove(work_, ec);
    return {};
  }

  const TranscodeOptions& opt_;
  const ProgressCallback& cb_;
  std::unique_ptr<InputFile> in_;
  std::vector<Rung> rungs_spec_;
  int fps_num_ = 30, fps_den_ = 1;
  std::string work_;
  CodecContextPtr vdec_;
  FailureState failure_;
  std::vector<std::unique_ptr<VideoRung>> rungs_;
  std::vector<VideoRung*> roots_;  // fed by the decoder; the others by a larger rung
  std::unique_ptr<AudioTrack> audio_;
  std::vector<PacketPtr> held_audio_;
  bool have_origin_ = false;
  int64_t origin_ts_ = 0;
  double origin_sec_ = 0;
  int64_t frames_in_ = 0;
  int64_t frames_out_ = 0;
  int decode_errors_ = 0;
  int read_error_ = 0;
  FramePtr last_, thumb_;
  double thumb_time_ = 0;
  double last_pct_ = -1;
  std::string last_stage_;
  std::chrono::steady_clock::time_point last_report_{};
};

}  // namespace

void ChooseFrameRate(int num, int den, int* out_num, int* out_den) {
  struct Rate {
    int num, den;
  };
  static constexpr Rate kStandard[] = {{24000, 1001}, {24, 1},    {25, 1},    {30000, 1001},
                                       {30, 1},       {48, 1},    {50, 1},    {60000, 1001},
                                       {60, 1}};
  if (num <= 0 || den <= 0) {
    *out_num = 30;
    *out_den = 1;
    return;
  }
  const double fps = double(num) / den;
  if (fps > 60.5) {
    *out_num = 60;
    *out_den = 1;
    return;
  }
  const Rate* best = nullptr;
  double best_err = 0.0025;  // within 0.25%: timing jitter, not a different rate
  for (const Rate& r : kStandard) {
    const double s = double(r.num) / r.den;
    const double err = std::fabs(fps - s) / s;
    if (err < best_err) {
      best = &r;
      best_err = err;
    }
  }
  if (best) {
    *out_num = best->num;
    *out_den = best->den;
    return;
  }
  if (fps < 1) {
    *out_num = 1;
    *out_den = 1;
    return;
  }
  AVRational q = av_d2q(fps, 1001);
  *out_num = q.num;
  *out_den = q.den;
}

Result<TranscodeSummary> Transcode(const TranscodeOptions& options,
                                   const ProgressCallback& on_progress) {
  Pipeline p(options, on_progress);
  return p.Run();
}

}  // namespace vs::media
