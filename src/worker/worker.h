// Embedded and stand-alone workers: claim a job (lease), run the transcoder
// as a sandboxed child process, stream its progress, keep the lease alive,
// publish the outputs and report the outcome (READY; retry with backoff; or
// ERROR with a reason). Start/Wake/Stop are thread-safe; RunOne runs on the
// calling thread (the pool's threads, or a test's).
//
// Every job runs inside one boundary: an exception (a bug, a hostile
// transcoder output that slipped past the codec, a failing adapter) fails
// that attempt, retryably, and the worker goes on with the next job.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/metrics.h"
#include "core/transcode_protocol.h"
#include "db/repository.h"
#include "service/video_service.h"
#include "store/object_store.h"
#include "worker/child_process.h"

namespace vs::worker {

struct WorkerOptions {
  std::string transcoder_binary;  // the visionsync binary (runs `transcode`)
  std::string scratch_dir;        // per-job working folders
  std::string worker_id;          // unique per process, e.g. host-pid
  int64_t lease_ms = 60000;
  int64_t heartbeat_ms = 10000;
  int64_t poll_ms = 1000;
  int64_t max_memory_mb = 4096;  // child address space
  int64_t max_seconds = 3600;    // child wall clock (0 = none)
  // The child stops itself at max_seconds; one still running this much later
  // (stopped, hung before its watchdog started) is killed by the worker.
  int64_t kill_grace_ms = 30000;
  int64_t retry_base_ms = 5000;
  // Where diagnostics go: a failed attempt's reason with the transcoder's
  // stderr (libav's own words, which users never see). Called from worker
  // threads. Empty: stderr.
  std::function<void(const std::string&)> log;
  // Transcode durations and speeds, attempts by outcome; null = not recorded.
  metrics::Registry* metrics = nullptr;
};

class WorkerPool {
 public:
  // `store` holds the uploads and receives the outputs (the one `videos`
  // was built with). `launcher` starts the transcoder; null means fork +
  // exec of `options.transcoder_binary` (NewSubprocessLauncher).
  WorkerPool(WorkerOptions options, db::JobQueue& queue, service::VideoService& videos,
             store::ObjectStore& store, std::unique_ptr<ChildLauncher> launcher = nullptr);
  ~WorkerPool();

  void Start(int threads);
  void Wake();  // a job was enqueued
  // Stops claiming; running transcodes are killed and their jobs handed back
  // to the queue (they do not use up an attempt). Blocks until done.
  void Stop();
  int busy() const { return busy_.load(); }

  // Claims one job as worker `me` and runs it to its end on this thread;
  // false when there was none to claim.
  bool RunOne(const std::string& me);

 private:
  struct Attempt;
  // How the transcoder's run ended.
  struct TranscodeRun {
    enum class End { kExited, kNotStarted, kLost, kStopped, kTimedOut } end = End::kExited;
    Error start_error;        // kNotStarted
    ExitStatus status;        // kExited
    std::string last_line;    // its last non-empty stdout line: the verdict
    std::string stderr_tail;  // for the log
  };

  void Loop(int index);
  // The job boundary: runs the steps below, catches what they throw.
  void RunJob(const Job& job, const std::string& me);
  void RunSteps(Attempt& a);
  // MarkProcessing; false when there is nothing (more) to do.
  bool Prepare(Attempt& a);
  // The confirmed upload, as a local file in a.source.
  bool FetchSource(Attempt& a);
  bool StillConfirmed(Attempt& a, const char* why, bool retryable);
  bool SameDigest(Attempt& a);
  void FailRead(Attempt& a, const Error& e);
  // The child, its progress lines and the lease, until the child ends, the
  // lease is lost or the pool stops.
  TranscodeRun RunTranscoder(Attempt& a);
  void ReportLine(Attempt& a, const std::string& line);
  // Renews the lease when due (or `now`); false when the job is no longer ours.
  bool KeepLease(Attempt& a, bool now = false);
  // The child's exit status and last line decide: publish, retry, or ERROR.
  void Verdict(Attempt& a, const TranscodeRun& run);
  // Logs why an attempt failed, with what the transcoder wrote on stderr.
  void LogFailure(const Attempt& a, const std::string& reason, const TranscodeRun& run);
  void Publish(Attempt& a, const transcode_protocol::DoneLine& done);
  // Uploads the outputs, manifests last; false when the lease was lost.
  Result<bool> PutOutputs(Attempt& a);
  // After an exception: fails the attempt (retryable) if it still can.
  void FailAfterException(Attempt& a, const char* what) noexcept;
  int64_t RetryBackoffMs(const Job& job) const;
  // The run's duration and speed by outcome, and attempts by outcome.
  void RecordRun(const TranscodeRun& run, double seconds);
  void RecordAttempt(const char* outcome);

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
  store::ObjectStore& store_;
  std::unique_ptr<ChildLauncher> launcher_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<int> busy_{0};
  metrics::Family* transcode_seconds_ = nullptr;
  metrics::Family* transcode_speed_ = nullptr;
  metrics::Family* attempts_ = nullptr;
};

}  // namespace vs::worker
