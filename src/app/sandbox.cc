#include "app/sandbox.h"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

namespace vs::app {
namespace {

constexpr char kTimeLimitLine[] =
    "{\"error\":{\"code\":\"time_limit\",\"message\":\"the transcoder ran out of its time "
    "budget\"}}\n";

void OnCpuLimit(int) {
  // Async-signal-safe: write(2) and _exit(2) only.
  ssize_t r = write(STDOUT_FILENO, kTimeLimitLine, sizeof(kTimeLimitLine) - 1);
  (void)r;
  _exit(1);
}

void SetLimit(int resource, rlim_t value) {
  struct rlimit rl {};
  rl.rlim_cur = value;
  rl.rlim_max = value;
  setrlimit(resource, &rl);
}

}  // namespace

void ApplySandboxLimits(const SandboxLimits& limits) {
  SetLimit(RLIMIT_CORE, 0);
  if (limits.max_memory_mb > 0) SetLimit(RLIMIT_AS, static_cast<rlim_t>(limits.max_memory_mb) << 20);
  if (limits.max_file_mb > 0) {
    SetLimit(RLIMIT_FSIZE, static_cast<rlim_t>(limits.max_file_mb) << 20);
    signal(SIGXFSZ, SIG_IGN);  // write() then fails with EFBIG: a clear I/O error
  }
  if (limits.max_seconds > 0) {
    struct rlimit rl {};
    rl.rlim_cur = static_cast<rlim_t>(limits.max_seconds * 2);  // both cores busy
    rl.rlim_max = rl.rlim_cur + 5;
    setrlimit(RLIMIT_CPU, &rl);
    signal(SIGXCPU, OnCpuLimit);
    std::thread([secs = limits.max_seconds] {
      std::this_thread::sleep_for(std::chrono::seconds(secs));
      OnCpuLimit(0);
    }).detach();
  }
}

}  // namespace vs::app
