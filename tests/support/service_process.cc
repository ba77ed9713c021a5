#include "service_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace vs::testing {
namespace fs = std::filesystem;

namespace {

// Folders made by MakeServiceDir, removed when the test binary exits.
std::mutex g_dirs_mu;
std::vector<std::string>* g_dirs = nullptr;

void RemoveDirs() {
  std::lock_guard lock(g_dirs_mu);
  if (!g_dirs) return;
  for (const auto& d : *g_dirs) {
    std::error_code ec;
    fs::remove_all(d, ec);
  }
}

std::vector<std::string> MergedEnv(const std::vector<std::string>& extra) {
  std::vector<std::string> envs;
  auto put = [&envs](const std::string& kv) {
    const std::string key = kv.substr(0, kv.find('=') + 1);
    std::erase_if(envs, [&](const std::string& e) { return e.rfind(key, 0) == 0; });
    envs.push_back(kv);
  };
  for (char** e = environ; *e; ++e) put(*e);
  for (const auto& e : extra) put(e);
  return envs;
}

}  // namespace

bool LookupUser(const std::string& name, int* uid, int* gid) {
  struct passwd pw;
  struct passwd* out = nullptr;
  char buf[4096];
  if (getpwnam_r(name.c_str(), &pw, buf, sizeof(buf), &out) != 0 || !out) return false;
  *uid = static_cast<int>(out->pw_uid);
  *gid = static_cast<int>(out->pw_gid);
  return true;
}

ServiceProcess::ServiceProcess(const ServiceOptions& o) : log_path_(o.log_path) {
  if (o.argv.empty()) throw std::runtime_error("ServiceProcess: empty argv");
  int uid = -1, gid = -1;
  if (!o.run_as_user.empty() && geteuid() == 0 && !LookupUser(o.run_as_user, &uid, &gid))
    throw std::runtime_error("ServiceProcess: no user " + o.run_as_user);
  // Everything the child needs is prepared before fork: after it only
  // async-signal-safe calls.
  std::vector<std::string> envs = MergedEnv(o.env);
  std::vector<char*> envp;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv = o.argv;
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const int log_fd = open(o.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("ServiceProcess: cannot open log " + o.log_path);
  if (uid >= 0 && fchown(log_fd, uid, gid) != 0) {
    // The child can still write through the inherited descriptor.
  }
  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    throw std::runtime_error("ServiceProcess: fork failed");
  }
  if (pid == 0) {
    setpgid(0, 0);
    // A test binary that dies abnormally takes its servers with it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    if (!o.workdir.empty() && chdir(o.workdir.c_str()) != 0) _exit(126);
    if (uid >= 0) {
      if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0) _exit(126);
    }
    execvpe(args[0], args.data(), envp.data());
    _exit(127);
  }
  close(log_fd);
  setpgid(pid, pid);  // also from the parent, so Signal works at once
  pid_ = pid;
}

ServiceProcess::~ServiceProcess() { Stop(); }

bool ServiceProcess::running() {
  if (reaped_ || pid_ <= 0) return false;
  int st = 0;
  const pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return false;
  }
  return r == 0;
}

void ServiceProcess::Signal(int sig) {
  if (running()) kill(-pid_, sig);
}

int ServiceProcess::Stop(int grace_ms) {
  if (pid_ <= 0 || reaped_) return status_;
  Signal(SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  while (running() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (running()) {
    kill(-pid_, SIGKILL);
    int st = 0;
    waitpid(pid_, &st, 0);
    reaped_ = true;
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  return status_;
}

bool ServiceProcess::WaitForPort(int port, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) return false;
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::string ServiceProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  close(fd);
  if (port == 0) throw std::runtime_error("FreeLoopbackPort: no port");
  return port;
}

std::string MakeServiceDir(const std::string& prefix, const std::string& owner) {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/vs-" + prefix + "-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("MakeServiceDir: mkdtemp failed");
  int uid = -1, gid = -1;
  if (!owner.empty() && geteuid() == 0) {
    if (!LookupUser(owner, &uid, &gid)) throw std::runtime_error("MakeServiceDir: no user " + owner);
    if (chown(tmpl.c_str(), uid, gid) != 0) throw std::runtime_error("MakeServiceDir: chown failed");
    // The user must be able to reach the folder through its parents.
  }
  std::lock_guard lock(g_dirs_mu);
  if (!g_dirs) {
    g_dirs = new std::vector<std::string>();
    std::atexit(RemoveDirs);
  }
  g_dirs->push_back(tmpl);
  return tmpl;
}

}  // namespace vs::testing
