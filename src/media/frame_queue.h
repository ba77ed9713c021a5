// Hand-off of decoded frames between the transcoder's threads, and the
// failure that stops them all. Internal to media.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "core/result.h"
#include "media/libav_util.h"

namespace vs::media {

// A bounded queue of decoded frames from the demux/decode thread to one rung.
// Push blocks while full; Abort wakes everybody and makes both sides give up.
// Thread-safe: one producer and one consumer thread, Abort from any thread.
class FrameQueue {
 public:
  // Deep enough that a rung busy with an expensive frame (an IDR) does not
  // stall the decoder and with it every other rung; each entry is a
  // reference to a shared decoded picture.
  void SetCapacity(size_t n);
  bool Push(FramePtr f);
  // Returns nullptr once closed and drained, or aborted.
  FramePtr Pop();
  void Close();
  void Abort();

 private:
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<FramePtr> q_;
  size_t capacity_ = 16;
  bool closed_ = false;
  bool aborted_ = false;
};

// First error wins; recording it aborts every queue so no thread blocks.
// Thread-safe.
class FailureState {
 public:
  void Fail(const Error& e);
  bool failed() const { return failed_.load(); }
  std::optional<Error> error();
  void Watch(FrameQueue* q);

 private:
  std::mutex mu_;
  std::atomic<bool> failed_{false};
  std::optional<Error> error_;
  std::vector<FrameQueue*> queues_;
};

}  // namespace vs::media
