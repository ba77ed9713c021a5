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
