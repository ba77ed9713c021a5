// Resource limits a process applies to itself before touching untrusted
// input: address space, CPU time, output file size, no core dumps, and a
// wall-clock watchdog. Call once, from the main thread, early.
#pragma once

#include <cstdint>

namespace vs::app {

struct SandboxLimits {
  int64_t max_memory_mb = 0;   // address space; 0 = unlimited
  int64_t max_seconds = 0;     // wall clock (and 2x that in CPU seconds); 0 = unlimited
  int64_t max_file_mb = 0;     // largest file the process may write; 0 = unlimited
};

// On a limit the process prints `{"error":{"code":"time_limit",...}}` (or
// out_of_memory) on stdout and exits with status 1.
void ApplySandboxLimits(const SandboxLimits& limits);

}  // namespace vs::app
