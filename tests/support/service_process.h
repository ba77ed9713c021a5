// Real servers that tests start on loopback (PostgreSQL, redis-server,
// s3rver) and stop afterwards. Each launcher keeps the PID it spawned and
// signals only that process group, never anything found by name.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace vs::testing {

struct ServiceOptions {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH
  std::vector<std::string> env;   // "NAME=value", on top of the inherited environment
  std::string log_path;           // stdout and stderr (appended)
  std::string workdir;            // empty: the current folder
  // When the tests run as root: drop to this user before exec (PostgreSQL
  // refuses to run as root). Ignored when not root.
  std::string run_as_user;
};

// Thread-compatible (one owner). The child runs in its own process group;
// destruction (or Stop) sends SIGTERM to the group, waits up to grace_ms,
// then SIGKILL, and reaps it.
class ServiceProcess {
 public:
  // Spawns the child; throws std::runtime_error when it cannot.
  explicit ServiceProcess(const ServiceOptions& options);
  ~ServiceProcess();
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;

  int pid() const { return pid_; }
  bool running();
  // Waits until something accepts TCP connections on 127.0.0.1:port; false
  // on timeout or when the child exited first.
  bool WaitForPort(int port, int timeout_ms);
  void Signal(int sig);  // to the child's process group
  // SIGTERM, then SIGKILL after grace_ms; returns the exit status
  // (128+signal when killed). Idempotent.
  int Stop(int grace_ms = 5000);
  // The log so far (for failure messages).
  std::string Log() const;

 private:
  int pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::string log_path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreeLoopbackPort();
// A fresh folder under TMPDIR (or /tmp), removed at process exit. When
// `owner` names a user and the tests run as root, the folder is chowned to it.
std::string MakeServiceDir(const std::string& prefix, const std::string& owner = "");
// uid/gid of a user; false when it does not exist.
bool LookupUser(const std::string& name, int* uid, int* gid);

}  // namespace vs::testing
