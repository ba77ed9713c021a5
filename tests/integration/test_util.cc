#include "test_util.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <boost/json.hpp>

extern char** environ;

namespace vs::testing {
namespace fs = std::filesystem;

ProcessResult RunProcess(const std::vector<std::string>& argv) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out_pipe[1]);
  close(err_pipe[1]);
  ProcessResult r;
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    r.err = "spawn failed";
    return r;
  }
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, n);
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

static std::string Env(const char* name, const std::string& def) {
  const char* v = std::getenv(name);
  return v && *v ? v : def;
}

std::string Binary() { return Env("VS_BINARY", VS_DEFAULT_BINARY); }
std::string SourceDir() { return Env("VS_SOURCE_DIR", VS_DEFAULT_SOURCE_DIR); }
std::string MediaDir() { return Env("VS_MEDIA_DIR", SourceDir() + "/../shared/media"); }

namespace {
struct TempRoot {
  std::string path;
  TempRoot() {
    char tmpl[] = "/tmp/vs-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempRoot() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};
}  // namespace

std::string TempDir() {
  static TempRoot root;
  static int counter = 0;
  std::string p = root.path + "/" + std::to_string(counter++);
  fs::create_directories(p);
  return p;
}

std::string TranscodeOnce(const std::string& clip) {
  const std::string cache = fs::path(Binary()).parent_path().string() + "/test-cache";
  fs::create_directories(cache);
  const std::string out = cache + "/" + clip;
  // The binary's modification time is part of the key: a rebuilt transcoder
  // never reuses an older one's output.
  const auto stamp = std::to_string(fs::last_write_time(Binary()).time_since_epoch().count());
  int lock = open((out + ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  flock(lock, LOCK_EX);
  const std::string stamp_file = out + ".stamp";
  bool fresh = fs::exists(out + "/manifest.mpd") && fs::exists(stamp_file) &&
               ReadFile(stamp_file) == stamp;
  if (!fresh) {
    std::error_code ec;
    fs::remove_all(out, ec);
    ProcessResult r = RunProcess({Binary(), "transcode", "--progress", "json", MediaDir() + "/" + clip, out});
    WriteFile(out + ".progress", r.out);
    if (r.exit_code == 0) WriteFile(stamp_file, stamp);
  }
  flock(lock, LOCK_UN);
  close(lock);
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
}

boost::json::value ParseJson(const std::string& text) { return boost::json::parse(text); }

std::string LastLine(const std::string& text) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  auto pos = t.rfind('\n');
  return pos == std::string::npos ? t : t.substr(pos + 1);
}

boost::json::value FfprobeJson(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"ffprobe", "-v", "error", "-of", "json"};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessResult r = RunProcess(argv);
  if (r.exit_code != 0) throw std::runtime_error("ffprobe failed: " + r.err);
  return boost::json::parse(r.out);
}

}  // namespace vs::testing

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <strings.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace vs::testing {

Process::Process(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                 const std::string& log_path)
    : log_(log_path), log_start_(ReadFile(log_path).size()) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // Later entries override earlier ones (and the inherited environment).
  std::vector<std::string> envs;
  auto put = [&envs](const std::string& kv) {
    const std::string key = kv.substr(0, kv.find('=') + 1);
    envs.erase(std::remove_if(envs.begin(), envs.end(),
                              [&](const std::string& e) { return e.rfind(key, 0) == 0; }),
               envs.end());
    envs.push_back(kv);
  };
  for (char** e = environ; *e; ++e) put(*e);
  for (const auto& e : env) put(e);
  std::vector<char*> envp;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
}

Process::~Process() {
  if (running()) {
    Signal(SIGKILL);
    Wait();
  }
}

bool Process::running() {
  if (reaped_ || pid_ <= 0) return false;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return false;
  }
  return true;
}

void Process::Signal(int sig) {
  if (!reaped_ && pid_ > 0) kill(pid_, sig);
}

int Process::Wait() {
  if (!reaped_ && pid_ > 0) {
    int st = 0;
    waitpid(pid_, &st, 0);
    reaped_ = true;
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  return status_;
}

std::string Process::WaitForLog(const std::string& needle, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string text = ReadFile(log_);
    text.erase(0, std::min(text.size(), log_start_));  // only what this process wrote
    size_t p = text.find(needle);
    if (p != std::string::npos) {
      size_t s = text.rfind('\n', p);
      size_t e = text.find('\n', p);
      return text.substr(s == std::string::npos ? 0 : s + 1, e == std::string::npos ? e : e - (s == std::string::npos ? 0 : s + 1));
    }
    if (!running()) return "";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return "";
}

std::string HttpResponse::Header(const std::string& name) const {
  for (const auto& [k, v] : headers)
    if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
  return "";
}

HttpResponse Http(int port, const std::string& method, const std::string& target, const std::string& body,
                  const std::vector<std::pair<std::string, std::string>>& headers) {
  HttpResponse resp;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return resp;
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                    "\r\nConnection: close\r\n";
  bool has_length = false;
  for (const auto& [k, v] : headers) {
    req += k + ": " + v + "\r\n";
    if (strcasecmp(k.c_str(), "Content-Length") == 0) has_length = true;
  }
  if (!has_length && (!body.empty() || method == "POST" || method == "PUT"))
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n";
  req += body;
  size_t off = 0;
  while (off < req.size()) {
    ssize_t n = send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) raw.append(buf, n);
  close(fd);
  size_t he = raw.find("\r\n\r\n");
  if (he == std::string::npos) return resp;
  std::string head = raw.substr(0, he);
  resp.body = raw.substr(he + 4);
  size_t line_end = head.find("\r\n");
  std::string status_line = head.substr(0, line_end);
  if (status_line.size() > 12) resp.status = std::stoi(status_line.substr(9, 3));
  size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t e = head.find("\r\n", pos);
    if (e == std::string::npos) e = head.size();
    std::string line = head.substr(pos, e - pos);
    size_t c = line.find(':');
    if (c != std::string::npos) {
      std::string v = line.substr(c + 1);
      while (!v.empty() && v[0] == ' ') v.erase(0, 1);
      resp.headers.emplace_back(line.substr(0, c), v);
    }
    pos = e + 2;
  }
  return resp;
}

int StartServer(std::unique_ptr<Process>* proc, const std::string& data_dir, std::vector<std::string> env,
                const std::string& role) {
  env.push_back("DATA_DIR=" + data_dir);
  env.push_back("HOST=127.0.0.1");
  bool has_port = false;
  for (const auto& e : env) has_port |= e.rfind("PORT=", 0) == 0;
  if (!has_port) env.push_back("PORT=0");
  const std::string log = data_dir + ".log";
  *proc = std::make_unique<Process>(std::vector<std::string>{Binary(), role}, env, log);
  std::string line = (*proc)->WaitForLog("listening on http://", 20000);
  if (line.empty()) return -1;
  size_t p = line.find("127.0.0.1:");
  if (p == std::string::npos) return -1;
  return std::stoi(line.substr(p + 10));
}

std::string Str(const boost::json::value& v, const char* key) {
  const auto* o = v.if_object();
  if (!o || !o->contains(key) || !o->at(key).is_string()) return "";
  return std::string(o->at(key).as_string());
}

boost::json::value Json(const HttpResponse& r) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(r.body, ec);
  return ec ? boost::json::value() : v;
}

}  // namespace vs::testing
