// Embedded and stand-alone workers: claim a job (lease), run the transcoder
// as a sandboxed child process, stream its progress, keep the lease alive,
// publish the outputs and report the outcome (READY; retry with backoff; or
// ERROR with a reason). Start/Wake/Stop are thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "db/repository.h"
#include "service/video_service.h"

namespace vs::worker {

struct WorkerOptions {
  std::string transcoder_binary;  // the visionsync binary (runs `transcode`)
  std::string scratch_dir;        // per-job working folders
  std::string worker_id;          // unique per process, e.g. host-pid
  int64_t lease_ms = 60000;
  int64_t heartbeat_ms = 10000;
  int64_t poll_ms = 1000;
  int64_t max_memory_mb = 4096;  // child address space
  int64_t max_seconds = 3600;    // child wall clock
  int64_t retry_base_ms = 5000;
};

class WorkerPool {
 public:
  WorkerPool(WorkerOptions options, db::JobQueue& queue, service::VideoService& videos);
  ~WorkerPool();

  void Start(int threads);
  void Wake();  // a job was enqueued
  // Stops claiming; running transcodes are killed and their jobs handed back
  // to the queue (they do not use up an attempt). Blocks until done.
  void Stop();
  int busy() const { return busy_.load(); }

 private:
  void Loop(int index);
  void RunJob(const Job& job, const std::string& me);
  // Videos whose job failed for good without a worker to report it (the
  // lease expired on the last attempt) are moved to ERROR.
  void SweepLostJobs();
  // One attempt failed. A retryable failure goes back to the queue and the
  // video waits in UPLOADED (`retry_note` says why); a final one (not
  // retryable, or the last attempt) moves the video to ERROR with `final_message`.
  void FailAttempt(const Job& job, const std::string& me, const std::string& job_error,
                   const std::string& retry_note, const std::string& final_message, bool retryable,
                   int64_t backoff_ms);

  WorkerOptions opt_;
  db::JobQueue& queue_;
  service::VideoService& svc_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<int> busy_{0};
};

}  // namespace vs::worker
