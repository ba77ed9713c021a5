#include "worker/worker.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <variant>

#include "core/hmac.h"
#include "resilience/circuit_breaker.h"

namespace vs::worker {
namespace {

namespace fs = std::filesystem;
namespace tp = transcode_protocol;

// The job pins the upload it was confirmed for (Job::source_etag): bytes
// that differ (another PUT straight to S3 replaced the object, or the file
// was changed in place) were never checked. Uploading again is the way out.
constexpr const char* kSourceChanged =
    "the uploaded file changed after it was confirmed; upload it again";
constexpr const char* kSourceChangedWhileReading = "the uploaded file changed while it was read";

// How long one read of the child's output may wait: the stop flag and the
// heartbeat are checked at least this often.
constexpr std::chrono::milliseconds kReadSlice{500};

constexpr const char* kTimedOut = "the transcoder ran past its time limit and was stopped";

// The video's message when an attempt fails retryably and it was the last one.
std::string AfterAttempts(const Job& job, const std::string& reason) {
  return "processing failed after " + std::to_string(job.attempts) + " attempts: " + reason;
}

std::string Describe(const ExitStatus& s) {
  if (s.signal != 0) return "the transcoder was killed by signal " + std::to_string(s.signal);
  return "the transcoder failed (exit " + std::to_string(s.code) + ")";
}

service::ReadyInfo ToReadyInfo(const tp::DoneLine& done) {
  service::ReadyInfo info;
  info.duration = done.duration;
  info.width = done.width;
  info.height = done.height;
  for (const tp::RenditionResult& r : done.renditions) {
    info.renditions.push_back(
        {.id = r.id, .name = r.name, .width = r.width, .height = r.height, .bitrate = r.bitrate});
  }
  return info;
}

}  // namespace

// One claimed job on its way through the steps.
struct WorkerPool::Attempt {
  const Job& job;
  const std::string& me;
  std::string work;    // scratch folder, removed when the attempt ends
  std::string source;  // the upload as a local file
  std::string out;     // the transcoder's output folder
  std::chrono::steady_clock::time_point next_beat;
};

WorkerPool::WorkerPool(WorkerOptions options, db::JobQueue& queue, service::VideoService& videos,
                       store::ObjectStore& store, std::unique_ptr<ChildLauncher> launcher)
    : opt_(std::move(options)),
      queue_(queue),
      svc_(videos),
      store_(store),
      launcher_(launcher ? std::move(launcher) : NewSubprocessLauncher()) {
  if (!opt_.log)
    opt_.log = [](const std::string& line) {
      std::fprintf(stderr, "visionsync worker: %s\n", line.c_str());
    };
  if (metrics::Registry* m = opt_.metrics) {
    transcode_seconds_ = &m->Histogram(
        "visionsync_transcode_duration_seconds",
        "Wall time of one transcoder run, by outcome (ok, rejected, failed, timed_out, lost, stopped).",
        {1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 3600});
    transcode_speed_ = &m->Histogram("visionsync_transcode_speed_ratio",
                                     "Seconds of video transcoded per second of wall time, successful runs.",
                                     {0.25, 0.5, 1, 2, 4, 8, 16, 32});
    attempts_ = &m->Counter("visionsync_job_attempts_total",
                            "Finished job attempts, by outcome: ready, retried (back to the queue), failed (for good).");
  }
}

void WorkerPool::RecordRun(const TranscodeRun& run, double seconds) {
  if (!transcode_seconds_) return;
  const char* outcome = "failed";
  switch (run.end) {
    case TranscodeRun::End::kNotStarted:
      return;  // no run to time
    case TranscodeRun::End::kLost:
      outcome = "lost";
      break;
    case TranscodeRun::End::kStopped:
      outcome = "stopped";
      break;
    case TranscodeRun::End::kTimedOut:
      outcome = "timed_out";
      break;
    case TranscodeRun::End::kExited:
      outcome = run.status.code == 0 ? "ok" : run.status.code == 2 ? "rejected" : "failed";
      break;
  }
  transcode_seconds_->Observe({{"outcome", outcome}}, seconds);
  if (std::string_view(outcome) != "ok" || seconds <= 0) return;
  const auto verdict = tp::DecodeLine(run.last_line);
  if (const auto* done = verdict.ok() ? std::get_if<tp::DoneLine>(&*verdict) : nullptr)
    transcode_speed_->Observe({}, done->duration / seconds);
}

void WorkerPool::RecordAttempt(const char* outcome) {
  if (attempts_) attempts_->Inc({{"outcome", outcome}});
}

WorkerPool::~WorkerPool() { Stop(); }

void WorkerPool::Start(int threads) {
  std::error_code ec;
  fs::create_directories(opt_.scratch_dir, ec);
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this, i] { Loop(i); });
}

void WorkerPool::Wake() {
  std::lock_guard lock(mu_);
  wake_ = true;
  cv_.notify_all();
}

void WorkerPool::Stop() {
  if (stopping_.exchange(true)) {
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    return;
  }
  Wake();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void WorkerPool::FailAttempt(const Job& job, const std::string& me, const std::string& job_error,
                             const std::string& retry_note, const std::string& final_message,
                             bool retryable, int64_t backoff_ms) {
  auto state = queue_.Fail(job.id, me, job_error, retryable, backoff_ms);
  if (!retryable || (state.ok() && *state == JobState::kFailed)) {
    RecordAttempt("failed");
    (void)svc_.MarkError(job.video_id, final_message);
  } else {
    RecordAttempt("retried");
    (void)svc_.Requeue(job.video_id, retry_note);
  }
}

int64_t WorkerPool::RetryBackoffMs(const Job& job) const {
  return resilience::BackoffMs(job.attempts, opt_.retry_base_ms, opt_.retry_base_ms * 12) +
         opt_.retry_base_ms / 2;
}

void WorkerPool::SweepLostJobs() {
  for (VideoStatus s : {VideoStatus::kUploaded, VideoStatus::kProcessing}) {
    db::ListQuery q;
    q.status = s;
    q.limit = 100;
    auto page = svc_.List(q);
    if (!page.ok()) return;
    for (const Video& v : page->items) {
      auto job = queue_.LatestForVideo(v.id);
      if (job.ok() && job->has_value() && (**job).state == JobState::kFailed) {
        (void)svc_.MarkError(v.id, "processing failed: " + (**job).last_error);
      }
    }
  }
}

void WorkerPool::Loop(int index) {
  const std::string me = opt_.worker_id + "/" + std::to_string(index);
  auto next_sweep = std::chrono::steady_clock::now();
  while (!stopping_) {
    bool ran = false;
    try {
      if (index == 0 && std::chrono::steady_clock::now() >= next_sweep) {
        next_sweep = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        SweepLostJobs();
      }
      ran = RunOne(me);
    } catch (...) {
      // A claim or the sweep threw (RunJob itself does not): try again after
      // the poll interval rather than end the thread, which would end the server.
    }
    if (ran) continue;
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(opt_.poll_ms), [&] { return wake_ || stopping_.load(); });
    wake_ = false;
  }
}

bool WorkerPool::RunOne(const std::string& me) {
  auto job = queue_.Claim(me, opt_.lease_ms);
  if (!job.ok() || !job->has_value()) return false;
  ++busy_;
  RunJob(**job, me);
  --busy_;
  return true;
}

void WorkerPool::RunJob(const Job& job, const std::string& me) {
  Attempt a{job, me, opt_.scratch_dir + "/" + job.video_id + "-" + std::to_string(job.id), {}, {}, {}};
  try {
    RunSteps(a);
  } catch (const std::exception& e) {
    FailAfterException(a, e.what());
  } catch (...) {
    FailAfterException(a, "unknown exception");
  }
  std::error_code ec;
  fs::remove_all(a.work, ec);
}

void WorkerPool::FailAfterException(Attempt& a, const char* what) noexcept {
  try {
    // The job's error says what was thrown; the video's says no more than
    // that it was our fault (the text may name internals).
    FailAttempt(a.job, a.me, std::string("internal error: ") + what, "internal error",
                AfterAttempts(a.job, "internal error"), true, RetryBackoffMs(a.job));
  } catch (...) {
    // Could not even record the failure: the lease runs out and another
    // attempt (or the lost-job sweep) takes care of the job.
  }
}

void WorkerPool::RunSteps(Attempt& a) {
  if (!Prepare(a) || !FetchSource(a)) return;
  const auto started = std::chrono::steady_clock::now();
  const TranscodeRun run = RunTranscoder(a);
  RecordRun(run, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  switch (run.end) {
    case TranscodeRun::End::kNotStarted: {
      const std::string& why = run.start_error.message;
      FailAttempt(a.job, a.me, why, why, "processing failed: " + why, true, opt_.retry_base_ms);
      return;
    }
    case TranscodeRun::End::kLost:
      return;  // cancelled or taken over: the job is not ours to report on
    case TranscodeRun::End::kStopped:
      (void)queue_.Release(a.job.id, a.me);
      (void)svc_.Requeue(a.job.video_id, "the server is shutting down");
      return;
    case TranscodeRun::End::kTimedOut:
      LogFailure(a, kTimedOut, run);
      FailAttempt(a.job, a.me, kTimedOut, kTimedOut, AfterAttempts(a.job, kTimedOut), true,
                  RetryBackoffMs(a.job));
      return;
    case TranscodeRun::End::kExited:
      Verdict(a, run);
      return;
  }
}

bool WorkerPool::Prepare(Attempt& a) {
  auto started = svc_.MarkProcessing(a.job.video_id, a.job.attempts);
  if (!started.ok()) {
    (void)queue_.Fail(a.job.id, a.me, started.error().message, true, opt_.retry_base_ms);
    return false;
  }
  if (!started->has_value()) {
    // Deleted, or already READY (a duplicate job): nothing to do.
    (void)queue_.Complete(a.job.id, a.me);
    return false;
  }
  std::error_code ec;
  fs::remove_all(a.work, ec);
  fs::create_directories(a.work, ec);
  a.out = a.work + "/out";
  return true;
}

void WorkerPool::FailRead(Attempt& a, const Error& e) {
  const bool missing = e.kind == ErrorKind::kNotFound;
  FailAttempt(a.job, a.me, e.message, "cannot read the uploaded file",
              missing ? "the uploaded file is missing" : "cannot read the uploaded file", !missing,
              opt_.retry_base_ms);
}

// Whether the source still is the upload the job was confirmed for; when
// not (or when Stat fails) the attempt has been failed: by `why`, for good
// unless `retryable`.
bool WorkerPool::StillConfirmed(Attempt& a, const char* why, bool retryable) {
  if (a.job.source_etag.empty()) return true;  // queued before ETags were recorded
  if (a.job.source_etag.starts_with(kSha256PinPrefix)) return true;  // checked on the bytes fetched
  auto st = store_.Stat(service::RawKey(a.job.video_id));
  if (!st.ok()) {
    FailRead(a, st.error());
    return false;
  }
  if (st->etag == a.job.source_etag) return true;
  FailAttempt(a.job, a.me, why, why, kSourceChanged, retryable, opt_.retry_base_ms);
  return false;
}

bool WorkerPool::FetchSource(Attempt& a) {
  if (!StillConfirmed(a, kSourceChanged, false)) return false;
  auto source = store_.FetchToFile(service::RawKey(a.job.video_id), a.work + "/source");
  if (!source.ok()) {
    FailRead(a, source.error());
    return false;
  }
  a.source = *source;
  if (a.job.source_etag.starts_with(kSha256PinPrefix)) return SameDigest(a);
  // Replaced during the download, the copy may mix both uploads: retry, and
  // the next attempt's first check fails the job for good.
  return StillConfirmed(a, kSourceChangedWhileReading, true);
}

// The job pins the SHA-256 of the bytes confirmed: the copy about to be
// transcoded must hash to it, or the job fails for good.
bool WorkerPool::SameDigest(Attempt& a) {
  auto digest = Sha256OfFile(a.source);
  if (!digest.ok()) {
    FailRead(a, digest.error());
    return false;
  }
  if (Sha256Pin(*digest) == a.job.source_etag) return true;
  FailAttempt(a.job, a.me, kSourceChanged, kSourceChanged, kSourceChanged, false, opt_.retry_base_ms);
  return false;
}

WorkerPool::TranscodeRun WorkerPool::RunTranscoder(Attempt& a) {
  TranscodeRun run;
  auto child = launcher_->Start({opt_.transcoder_binary, "transcode", "--progress", "json", "--max-memory",
                                 std::to_string(opt_.max_memory_mb), "--max-seconds",
                                 std::to_string(opt_.max_seconds), a.source, a.out});
  if (!child.ok()) {
    run.end = TranscodeRun::End::kNotStarted;
    run.start_error = child.error();
    return run;
  }
  // From here the child is killed and reaped on every path: by the code
  // below, or by its destructor when something throws.
  ChildProcess& c = **child;
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + std::chrono::seconds(opt_.max_seconds) +
                        std::chrono::milliseconds(opt_.kill_grace_ms);
  a.next_beat = started + std::chrono::milliseconds(opt_.heartbeat_ms);
  std::string line;
  while (c.ReadLine(&line, kReadSlice) != ChildProcess::Read::kEnd) {
    if (!line.empty()) {
      run.last_line = line;
      ReportLine(a, line);
      line.clear();
    }
    if (stopping_) {
      run.end = TranscodeRun::End::kStopped;
      break;
    }
    if (!KeepLease(a)) {
      run.end = TranscodeRun::End::kLost;
      break;
    }
    if (opt_.max_seconds > 0 && std::chrono::steady_clock::now() >= deadline) {
      run.end = TranscodeRun::End::kTimedOut;
      break;
    }
  }
  if (run.end != TranscodeRun::End::kExited) c.Kill();
  run.status = c.Wait();
  run.stderr_tail = c.StderrTail();
  return run;
}

void WorkerPool::ReportLine(Attempt& a, const std::string& line) {
  // Anything but a well-formed progress line (the verdict, garbage) is no
  // progress; the verdict is read once the child has ended.
  auto decoded = tp::DecodeLine(line);
  if (!decoded.ok()) return;
  if (const auto* p = std::get_if<tp::ProgressLine>(&*decoded)) {
    // The transcoder's own 0-100 maps onto 0-98: publishing comes after.
    svc_.ReportProgress(a.job.video_id, p->progress * 0.98, p->stage);
  }
}

bool WorkerPool::KeepLease(Attempt& a, bool now) {
  if (!now && std::chrono::steady_clock::now() < a.next_beat) return true;
  auto beat = queue_.Heartbeat(a.job.id, a.me, opt_.lease_ms);
  a.next_beat = std::chrono::steady_clock::now() + std::chrono::milliseconds(opt_.heartbeat_ms);
  return !beat.ok() || *beat;  // a database hiccup is not a lost lease
}

void WorkerPool::Verdict(Attempt& a, const TranscodeRun& run) {
  // The transcoder's last line is its verdict.
  const auto verdict = tp::DecodeLine(run.last_line);
  if (run.status.code == 0 && verdict.ok()) {
    if (const auto* done = std::get_if<tp::DoneLine>(&*verdict)) {
      Publish(a, *done);
      return;
    }
  }
  std::string reason = Describe(run.status);
  if (const auto* e = verdict.ok() ? std::get_if<tp::ErrorLine>(&*verdict) : nullptr) {
    reason = e->message;
  } else if (run.status.code == 0) {
    reason = "the transcoder gave no usable result (" +
             (verdict.ok() ? std::string("its last line is no result") : verdict.error().message) + ")";
  }
  LogFailure(a, reason, run);
  if (run.status.code == 2) {
    // The file itself is unusable: retrying cannot help.
    FailAttempt(a.job, a.me, reason, reason, "the video could not be processed: " + reason, false, 0);
  } else {
    FailAttempt(a.job, a.me, reason, reason, AfterAttempts(a.job, reason), true,
                RetryBackoffMs(a.job));
  }
}

void WorkerPool::LogFailure(const Attempt& a, const std::string& reason, const TranscodeRun& run) {
  std::string line = "job " + std::to_string(a.job.id) + " (video " + a.job.video_id +
                     ") attempt " + std::to_string(a.job.attempts) + " failed: " + reason;
  if (!run.stderr_tail.empty()) line += "; transcoder stderr: " + run.stderr_tail;
  while (!line.empty() && line.back() == '\n') line.pop_back();
  opt_.log(line);
}

void WorkerPool::Publish(Attempt& a, const tp::DoneLine& done) {
  const std::string& id = a.job.video_id;
  svc_.ReportProgress(id, 98.5, "uploading");
  auto put = PutOutputs(a);
  if (!put.ok()) {
    FailAttempt(a.job, a.me, put.error().message, "cannot store the processed video",
                "cannot store the processed video", true, opt_.retry_base_ms);
    return;
  }
  if (!*put) return;  // taken over: the new owner publishes
  auto ready = svc_.MarkReady(id, ToReadyInfo(done));
  RecordAttempt("ready");
  if (ready.ok() && !ready->has_value()) {
    // Deleted while we worked: do not leave its files behind.
    (void)store_.DeletePrefix(service::ProcessedPrefix(id));
  }
  (void)queue_.Complete(a.job.id, a.me);
}

Result<bool> WorkerPool::PutOutputs(Attempt& a) {
  // Manifests last: a reader that finds a manifest finds every segment it names.
  std::vector<fs::path> files, last;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(a.out, ec)) {
    const std::string name = e.path().filename().string();
    (name == "manifest.mpd" || name == "master.m3u8" ? last : files).push_back(e.path());
  }
  files.insert(files.end(), last.begin(), last.end());
  // Only the job's owner publishes, and it starts from an empty folder, so
  // the outputs never mix files of two attempts (an earlier one that died
  // while uploading, or one whose lease ran out and was taken over).
  if (!KeepLease(a, true)) return false;
  const std::string prefix = service::ProcessedPrefix(a.job.video_id);
  VS_TRY(store_.DeletePrefix(prefix));
  for (const fs::path& f : files) {
    if (!KeepLease(a)) return false;
    VS_TRY(store_.PutFile(prefix + f.filename().string(), f.string(), true));
  }
  return true;
}

}  // namespace vs::worker
