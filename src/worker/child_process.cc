#include "worker/child_process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

namespace vs::worker {
namespace {

constexpr size_t kMaxLineBytes = 1 << 20;
constexpr size_t kStderrTailBytes = 8192;

class Subprocess final : public ChildProcess {
 public:
  Subprocess(pid_t pid, int out, int err) : pid_(pid), fds_{{out, POLLIN, 0}, {err, POLLIN, 0}} {}
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  ~Subprocess() override {
    if (!reaped_) {
      Kill();
      (void)Wait();
    }
    CloseAll();
  }

  Read ReadLine(std::string* line, std::chrono::milliseconds timeout) override {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (TakeLine(line)) return Read::kLine;
      if (fds_[0].fd < 0 && fds_[1].fd < 0) return Read::kEnd;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      const int wait_ms = static_cast<int>(std::max<int64_t>(0, left.count()));
      const int ready = poll(fds_, 2, wait_ms);
      if (ready < 0) {
        if (errno == EINTR) continue;
        CloseAll();  // cannot watch the pipes any more: the caller waits for the exit
        continue;
      }
      if (ready == 0) return Read::kTimeout;
      for (int i = 0; i < 2; ++i) {
        if (fds_[i].fd >= 0 && (fds_[i].revents & (POLLIN | POLLHUP | POLLERR))) Drain(i);
      }
    }
  }

  std::string StderrTail() const override { return err_; }

  void Kill() override {
    if (reaped_) return;  // the pid may belong to someone else by now
    kill(-pid_, SIGKILL);
    kill(pid_, SIGKILL);
  }

  ExitStatus Wait() override {
    if (reaped_) return status_;
    CloseAll();
    // Wait for the exit without reaping: until it is reaped, the child's pid
    // (its group's id) cannot be reused, so the group can be killed safely.
    siginfo_t info{};
    while (waitid(P_PID, pid_, &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
    }
    // Nothing the transcoder started may outlive it.
    kill(-pid_, SIGKILL);
    int status = 0;
    pid_t r;
    while ((r = waitpid(pid_, &status, 0)) < 0 && errno == EINTR) {
    }
    ReapOrphans();
    reaped_ = true;
    if (r < 0) status_ = ExitStatus::Exited(-1);  // not our child: cannot happen
    else if (WIFSIGNALED(status)) status_ = ExitStatus::Signaled(WTERMSIG(status));
    else status_ = ExitStatus::Exited(WEXITSTATUS(status));
    return status_;
  }

 private:
  // One read from pipe i; closes it at the end or on an error.
  void Drain(int i) {
    char buf[8192];
    const ssize_t n = read(fds_[i].fd, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
      close(fds_[i].fd);
      fds_[i].fd = -1;
      return;
    }
    if (i == 1) {
      err_.append(buf, n);
      if (err_.size() > kStderrTailBytes) err_.erase(0, err_.size() - kStderrTailBytes);
      return;
    }
    std::string_view in(buf, n);
    if (skipping_) {
      // The rest of a runaway line: drop it up to its newline.
      const size_t nl = in.find('\n');
      if (nl == std::string_view::npos) return;
      skipping_ = false;
      in.remove_prefix(nl + 1);
    }
    out_.append(in);
  }

  bool TakeLine(std::string* line) {
    const size_t nl = out_.find('\n', scanned_);
    if (nl == std::string::npos) {
      scanned_ = out_.size();  // a long line is searched once, not once per read
      if (out_.size() > kMaxLineBytes) {
        out_.clear();
        scanned_ = 0;
        skipping_ = true;
      }
      return false;
    }
    line->assign(out_, 0, nl);
    out_.erase(0, nl + 1);
    scanned_ = 0;
    return true;
  }

  // The child's group members that were handed to us when their parent
  // died: that happens when we run as PID 1 (the container image has no
  // other init) or as a subreaper, and nobody else would ever reap them.
  // They were killed with the group, so this ends soon; ECHILD (none of our
  // children is left in the group) ends it at once in the usual case where
  // init adopts them.
  void ReapOrphans() {
    while (waitpid(-pid_, nullptr, 0) > 0 || errno == EINTR) {
    }
  }

  void CloseAll() {
    for (auto& f : fds_) {
      if (f.fd >= 0) close(f.fd);
      f.fd = -1;
    }
  }

  const pid_t pid_;
  pollfd fds_[2];   // stdout: the JSON lines; stderr: kept for messages
  std::string out_;  // stdout not yet returned as lines
  size_t scanned_ = 0;  // out_[0, scanned_) holds no '\n'
  std::string err_;  // stderr tail
  bool skipping_ = false;
  bool reaped_ = false;
  ExitStatus status_;
};

class SubprocessLauncher final : public ChildLauncher {
 public:
  Result<std::unique_ptr<ChildProcess>> Start(const std::vector<std::string>& argv) override {
    if (argv.empty()) return MakeError("spawn_failed", "no program to run");
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
    const pid_t pid = fork();
    if (pid < 0) {
      for (int fd : {out[0], out[1], err[0], err[1]}) close(fd);
      return MakeError("spawn_failed", "fork failed");
    }
    if (pid == 0) {
      // Only async-signal-safe calls between fork and exec.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);  // we died before prctl took effect
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
    return std::unique_ptr<ChildProcess>(std::make_unique<Subprocess>(pid, out[0], err[0]));
  }
};

}  // namespace

std::unique_ptr<ChildLauncher> NewSubprocessLauncher() { return std::make_unique<SubprocessLauncher>(); }

}  // namespace vs::worker
