#include "media/frame_queue.h"

#include <algorithm>

namespace vs::media {

void FrameQueue::SetCapacity(size_t n) { capacity_ = std::max<size_t>(1, n); }

bool FrameQueue::Push(FramePtr f) {
  std::unique_lock lock(mu_);
  not_full_.wait(lock, [&] { return q_.size() < capacity_ || aborted_; });
  if (aborted_) return false;
  q_.push_back(std::move(f));
  not_empty_.notify_one();
  return true;
}

FramePtr FrameQueue::Pop() {
  std::unique_lock lock(mu_);
  not_empty_.wait(lock, [&] { return !q_.empty() || closed_ || aborted_; });
  if (aborted_ || q_.empty()) return nullptr;
  FramePtr f = std::move(q_.front());
  q_.pop_front();
  not_full_.notify_one();
  return f;
}

void FrameQueue::Close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  not_empty_.notify_all();
}

void FrameQueue::Abort() {
  std::lock_guard lock(mu_);
  aborted_ = true;
  q_.clear();
  not_empty_.notify_all();
  not_full_.notify_all();
}

void FailureState::Fail(const Error& e) {
  std::vector<FrameQueue*> queues;
  {
    std::lock_guard lock(mu_);
    if (!error_) error_ = e;
    queues = queues_;
  }
  failed_.store(true);
  for (auto* q : queues) q->Abort();
}

std::optional<Error> FailureState::error() {
  std::lock_guard lock(mu_);
  return error_;
}

void FailureState::Watch(FrameQueue* q) {
  std::lock_guard lock(mu_);
  queues_.push_back(q);
}

}  // namespace vs::media
