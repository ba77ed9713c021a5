// One video rendition of the ladder: scaling, H.264 encoding and its CMAF
// writer. Internal to media.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "media/cmaf_writer.h"
#include "media/frame_queue.h"
#include "media/ladder.h"
#include "media/libav_util.h"
#include "media/picture.h"
#include "media/transcoder.h"

namespace vs::media {

// One video rendition: owns its scaler, encoder and CMAF writer, and runs on
// its own thread, fed by its queue. The pipeline sets it up (Open, AddChild,
// SetRole) before starting Run on the rung's thread; queue() and
// frames_done() may be used from any thread meanwhile, the other accessors
// once Run has returned.
class VideoRung {
 public:
  VideoRung(Rung rung, std::string id, FailureState* failure)
      : rung_(std::move(rung)), id_(std::move(id)), failure_(failure) {}
  ~VideoRung() { sws_freeContext(sws_); }

  Status Open(const TranscodeOptions& opt, const AVCodecContext* dec, int fps_num, int fps_den,
              int rotation, const std::string& dir);

  // Feed `child` from this rung's output (display-oriented, so the child
  // applies no rotation of its own).
  void AddChild(VideoRung* child) {
    children_.push_back(child);
    child->rotation_ = 0;
  }

  void SetRole(bool top, int sws_flags, size_t queue_frames) {
    top_ = top;
    sws_flags_ = sws_flags;
    queue_.SetCapacity(queue_frames);
  }

  void Run() {
    Status s = Loop();
    if (!s.ok()) failure_->Fail(s.error());
  }

  FrameQueue& queue() { return queue_; }
  int64_t frames_done() const { return frames_done_.load(std::memory_order_relaxed); }
  const Rung& rung() const { return rung_; }
  const std::string& id() const { return id_; }
  const CmafWriter& writer() const { return *writer_; }
  std::string codecs() const;

 private:
  std::string X264Params(const TranscodeOptions& opt) const;
  Status Loop();
  Status Pump(AVFrame* scaled, AVFrame* tmp);
  Status Encode(AVFrame* f);

  Rung rung_;
  std::string id_;
  FailureState* failure_;
  int rotation_ = 0;
  bool top_ = false;
  FramePool pool_;  // scaled pictures (shared with children, so not reusable in place)
  int sws_flags_ = SWS_BICUBIC;
  CodecContextPtr enc_;
  std::unique_ptr<CmafWriter> writer_;
  SwsContext* sws_ = nullptr;
  std::vector<VideoRung*> children_;
  FrameQueue queue_;
  std::atomic<int64_t> frames_done_{0};
};

}  // namespace vs::media
