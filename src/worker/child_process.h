// The seam between the worker's job logic and the transcoder's process: the
// worker starts a child with an argv, reads its stdout line by line, keeps
// the tail of its stderr, kills it and waits for its exit status. The real
// launcher forks and execs a sandboxed child (NewSubprocessLauncher); tests
// play scripted children (fake_child_process.h).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

namespace vs::worker {

// How a child ended: exited with `code`, or killed by `signal` (then code is -1).
struct ExitStatus {
  int code = 0;
  int signal = 0;

  static ExitStatus Exited(int code) { return {code, 0}; }
  static ExitStatus Signaled(int signal) { return {-1, signal}; }
};

// A running child. Thread-compatible: one owner (the job's thread) calls it.
// Destroying it before Wait kills the child and reaps it, so no path leaves
// a zombie or an orphan transcoding behind.
class ChildProcess {
 public:
  enum class Read {
    kLine,     // *line holds the next stdout line, without its '\n'
    kTimeout,  // no whole line within the timeout; the child may still write
    kEnd,      // stdout and stderr are closed and every whole line was read
  };

  virtual ~ChildProcess() = default;
  // Waits at most `timeout` for the next stdout line. Bytes after the last
  // '\n' when stdout closes are not a line and are dropped.
  virtual Read ReadLine(std::string* line, std::chrono::milliseconds timeout) = 0;
  // The last few KiB of stderr read so far (it is read while ReadLine waits).
  virtual std::string StderrTail() const = 0;
  // Kills the child and everything it started; harmless when it has exited.
  virtual void Kill() = 0;
  // Blocks until the child has exited and reaps it, then ends whatever it
  // left running and reaps that too when it was handed to us. Call once,
  // after ReadLine returned kEnd or after Kill (the child may otherwise run
  // on); later calls return the same status.
  virtual ExitStatus Wait() = 0;
};

// Starts children. Thread-safe: every worker thread starts its own.
class ChildLauncher {
 public:
  virtual ~ChildLauncher() = default;
  // argv[0] is the path of the executable. Error code "spawn_failed".
  virtual Result<std::unique_ptr<ChildProcess>> Start(const std::vector<std::string>& argv) = 0;
};

// fork + exec. The child is tied to this process (PR_SET_PDEATHSIG: it dies
// with us, so no orphan keeps writing after a crash), runs at nice 5 (the
// API stays responsive), in its own process group (Kill reaches everything
// it started, and Wait ends what is left of that group once the child has
// exited, reaping the members re-parented to us when we are PID 1 or a
// subreaper), with stdin from /dev/null. A stdout line longer than 1 MiB is
// dropped whole.
std::unique_ptr<ChildLauncher> NewSubprocessLauncher();

}  // namespace vs::worker
