#include "worker/worker.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include <boost/json.hpp>

#include "resilience/circuit_breaker.h"

namespace vs::worker {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

struct Child {
  pid_t pid = -1;
  int out = -1;  // stdout: JSON lines
  int err = -1;  // stderr: kept for error messages
};

// fork + exec with the child tied to this process: PR_SET_PDEATHSIG kills it
// if we die (no orphan keeps writing after a crash), lower CPU priority
// keeps the API responsive, and its own process group lets us kill it whole.
Result<Child> Spawn(const std::vector<std::string>& argv) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0) return MakeError("spawn_failed", "pipe failed");
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(out[0]);
    close(out[1]);
    return MakeError("spawn_failed", "pipe failed");
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return MakeError("spawn_failed", "fork failed");
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    setpgid(0, 0);
    setpriority(PRIO_PROCESS, 0, 5);
    dup2(out[1], 1);
    dup2(err[1], 2);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  return Child{pid, out[0], err[0]};
}

// The job pins the upload it was confirmed for (Job::source_etag): another
// PUT to the still-valid upload URL replaces the object, and those bytes
// were never checked. Uploading again is the way out.
constexpr const char* kSourceChanged =
    "the uploaded file changed after it was confirmed; upload it again";
constexpr const char* kSourceChangedWhileReading = "the uploaded file changed while it was read";

std::string Describe(int status) {
  if (WIFSIGNALED(status)) return "the transcoder was killed by signal " + std::to_string(WTERMSIG(status));
  return "the transcoder failed (exit " + std::to_string(WEXITSTATUS(status)) + ")";
}

}  // namespace

WorkerPool::WorkerPool(WorkerOptions options, db::JobQueue& queue, service::VideoService& videos)
    : opt_(std::move(options)), queue_(queue), svc_(videos) {}

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
    (void)svc_.MarkError(job.video_id, final_message);
  } else {
    (void)svc_.Requeue(job.video_id, retry_note);
  }
}

void WorkerPool::SweepLostJobs() {
  for (VideoStatus s : {VideoStatus::kUploaded, VideoStatus::kProcessing}) {
    db::ListQuery q;
    q.status = s;
    q.limit = 100;
    auto page = svc_.videos().List(q);
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
    if (index == 0 && std::chrono::steady_clock::now() >= next_sweep) {
      SweepLostJobs();
      next_sweep = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    }
    auto job = queue_.Claim(me, opt_.lease_ms);
    if (job.ok() && job->has_value()) {
      ++busy_;
      RunJob(**job, me);
      --busy_;
      continue;
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(opt_.poll_ms), [&] { return wake_ || stopping_.load(); });
    wake_ = false;
  }
}

void WorkerPool::RunJob(const Job& job, const std::string& me) {
  const std::string& id = job.video_id;
  auto started = svc_.MarkProcessing(id, job.attempts);
  if (!started.ok()) {
    (void)queue_.Fail(job.id, me, started.error().message, true, opt_.retry_base_ms);
    return;
  }
  if (!started->has_value()) {
    // Deleted, or already READY (a duplicate job): nothing to do.
    (void)queue_.Complete(job.id, me);
    return;
  }
  const std::string work = opt_.scratch_dir + "/" + id + "-" + std::to_string(job.id);
  std::error_code ec;
  fs::remove_all(work, ec);
  fs::create_directories(work, ec);
  auto cleanup = [&] { fs::remove_all(work, ec); };

  const std::string raw_key = service::RawKey(id);
  auto fail_read = [&](const Error& e) {
    const bool missing = e.code == store::kNotFound;
    FailAttempt(job, me, e.message, "cannot read the uploaded file",
                missing ? "the uploaded file is missing" : "cannot read the uploaded file",
                !missing, opt_.retry_base_ms);
    cleanup();
  };
  // Whether the source still is the upload the job was confirmed for; when
  // not (or when Stat fails) the attempt has been failed: by `why`, for good
  // unless `retryable`.
  auto still_confirmed = [&](const char* why, bool retryable) {
    if (job.source_etag.empty()) return true;  // queued before ETags were recorded
    auto st = svc_.store().Stat(raw_key);
    if (!st.ok()) {
      fail_read(st.error());
      return false;
    }
    if (st->etag == job.source_etag) return true;
    FailAttempt(job, me, why, why, kSourceChanged, retryable, opt_.retry_base_ms);
    cleanup();
    return false;
  };

  if (!still_confirmed(kSourceChanged, false)) return;
  auto source = svc_.store().FetchToFile(raw_key, work + "/source");
  if (!source.ok()) {
    fail_read(source.error());
    return;
  }
  // Replaced during the download, the copy may mix both uploads: retry, and
  // the next attempt's first check fails the job for good.
  if (!still_confirmed(kSourceChangedWhileReading, true)) return;
  const std::string out = work + "/out";
  auto child = Spawn({opt_.transcoder_binary, "transcode", "--progress", "json", "--max-memory",
                      std::to_string(opt_.max_memory_mb), "--max-seconds",
                      std::to_string(opt_.max_seconds), *source, out});
  if (!child.ok()) {
    FailAttempt(job, me, child.error().message, child.error().message,
                "processing failed: " + child.error().message, true, opt_.retry_base_ms);
    cleanup();
    return;
  }

  std::string out_buf, err_buf, last_line;
  auto next_beat = std::chrono::steady_clock::now() + std::chrono::milliseconds(opt_.heartbeat_ms);
  bool lost = false, stopped = false;
  pollfd fds[2] = {{child->out, POLLIN, 0}, {child->err, POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0) {
    if (poll(fds, 2, 500) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[8192];
      ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      if (i == 1) {
        err_buf.append(buf, n);
        if (err_buf.size() > 8192) err_buf.erase(0, err_buf.size() - 8192);
        continue;
      }
      out_buf.append(buf, n);
      size_t nl;
      while ((nl = out_buf.find('\n')) != std::string::npos) {
        std::string line = out_buf.substr(0, nl);
        out_buf.erase(0, nl + 1);
        if (line.empty()) continue;
        last_line = line;
        boost::system::error_code jec;
        json::value v = json::parse(line, jec);
        if (jec || !v.is_object()) continue;
        const auto& o = v.as_object();
        if (o.contains("progress") && o.contains("stage") && !o.contains("result")) {
          // The transcoder's own 0-100 maps onto 0-98: publishing comes after.
          const double p = o.at("progress").to_number<double>() * 0.98;
          svc_.ReportProgress(id, p, json::value_to<std::string>(o.at("stage")));
        }
      }
      if (out_buf.size() > 1 << 20) out_buf.clear();  // a runaway line
    }
    if (stopping_) {
      stopped = true;
      break;
    }
    if (std::chrono::steady_clock::now() >= next_beat) {
      auto beat = queue_.Heartbeat(job.id, me, opt_.lease_ms);
      if (beat.ok() && !*beat) {
        lost = true;  // cancelled (deleted) or taken over
        break;
      }
      next_beat = std::chrono::steady_clock::now() + std::chrono::milliseconds(opt_.heartbeat_ms);
    }
  }
  if (lost || stopped) kill(-child->pid, SIGKILL), kill(child->pid, SIGKILL);
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  int status = 0;
  while (waitpid(child->pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (lost) {
    cleanup();
    return;
  }
  if (stopped) {
    (void)queue_.Release(job.id, me);
    (void)svc_.Requeue(id, "the server is shutting down");
    cleanup();
    return;
  }

  // The transcoder's last line is its verdict.
  json::object verdict;
  {
    boost::system::error_code jec;
    json::value v = json::parse(last_line, jec);
    if (!jec && v.is_object()) verdict = v.as_object();
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == 0 && verdict.contains("result")) {
    svc_.ReportProgress(id, 98.5, "uploading");
    const auto& result = verdict.at("result").as_object();
    // Publish the files, manifests last: a reader that finds a manifest
    // finds every segment it names.
    std::vector<fs::path> files, last;
    for (const auto& e : fs::directory_iterator(out, ec)) {
      const std::string name = e.path().filename().string();
      (name == "manifest.mpd" || name == "master.m3u8" ? last : files).push_back(e.path());
    }
    files.insert(files.end(), last.begin(), last.end());
    // Only the job's owner publishes, and it starts from an empty folder, so
    // the outputs never mix files of two attempts (an earlier one that died
    // while uploading, or one whose lease ran out and was taken over).
    auto still_mine = [&] {
      auto beat = queue_.Heartbeat(job.id, me, opt_.lease_ms);
      next_beat = std::chrono::steady_clock::now() + std::chrono::milliseconds(opt_.heartbeat_ms);
      return !beat.ok() || *beat;  // a database hiccup is not a lost lease
    };
    if (!still_mine()) {
      cleanup();
      return;
    }
    Status published = svc_.store().DeletePrefix(service::ProcessedPrefix(id));
    for (size_t i = 0; published.ok() && i < files.size(); ++i) {
      if (std::chrono::steady_clock::now() >= next_beat && !still_mine()) {
        cleanup();
        return;
      }
      published = svc_.store().PutFile(service::ProcessedPrefix(id) + files[i].filename().string(),
                                       files[i].string(), true);
    }
    if (!published.ok()) {
      FailAttempt(job, me, published.error().message, "cannot store the processed video",
                  "cannot store the processed video", true, opt_.retry_base_ms);
      cleanup();
      return;
    }
    service::ReadyInfo info;
    info.duration = result.at("duration").to_number<double>();
    info.width = static_cast<int>(result.at("width").to_number<double>());
    info.height = static_cast<int>(result.at("height").to_number<double>());
    for (const auto& r : result.at("renditions").as_array()) {
      const auto& ro = r.as_object();
      RenditionInfo ri;
      ri.id = json::value_to<std::string>(ro.at("id"));
      ri.name = json::value_to<std::string>(ro.at("name"));
      if (ro.contains("width")) ri.width = static_cast<int>(ro.at("width").to_number<double>());
      if (ro.contains("height")) ri.height = static_cast<int>(ro.at("height").to_number<double>());
      ri.bitrate = static_cast<int64_t>(ro.at("bitrate").to_number<double>());
      info.renditions.push_back(ri);
    }
    auto ready = svc_.MarkReady(id, info);
    if (ready.ok() && !ready->has_value()) {
      // Deleted while we worked: do not leave its files behind.
      (void)svc_.store().DeletePrefix("processed/" + id);
    }
    (void)queue_.Complete(job.id, me);
    cleanup();
    return;
  }

  std::string reason = Describe(status);
  if (verdict.contains("error")) {
    const auto& e = verdict.at("error").as_object();
    reason = json::value_to<std::string>(e.at("message"));
  }
  if (code == 2) {
    // The file itself is unusable: retrying cannot help.
    FailAttempt(job, me, reason, reason, "the video could not be processed: " + reason, false, 0);
  } else {
    const int64_t backoff = resilience::BackoffMs(job.attempts, opt_.retry_base_ms, opt_.retry_base_ms * 12) +
                            opt_.retry_base_ms / 2;
    FailAttempt(job, me, reason, reason,
                "processing failed after " + std::to_string(job.attempts) + " attempts: " + reason,
                true, backoff);
  }
  cleanup();
}

}  // namespace vs::worker
