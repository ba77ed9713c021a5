#include "postgres_server.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace vs::testing {
namespace fs = std::filesystem;

namespace {

constexpr const char* kUser = "postgres";
constexpr int kStartTimeoutMs = 30000;
constexpr int kToolTimeoutMs = 60000;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

bool HasServerBinaries(const std::string& dir) {
  std::error_code ec;
  return !dir.empty() && fs::exists(fs::path(dir) / "initdb", ec) &&
         fs::exists(fs::path(dir) / "postgres", ec);
}

// Runs a fixed command line (no user input) and returns its first line.
std::string FirstLineOf(const char* command) {
  FILE* p = popen(command, "r");
  if (p == nullptr) return "";
  char buf[4096];
  std::string out;
  if (fgets(buf, sizeof buf, p) != nullptr) out = buf;
  pclose(p);
  return Trim(out);
}

bool IsPlainName(const std::string& name) {
  return !name.empty() && name.size() < 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace

std::string FindPostgresBinDir() {
  std::string dir = FirstLineOf("pg_config --bindir 2>/dev/null");
  if (HasServerBinaries(dir)) return dir;
  // Debian installs the server apart from pg_config (libpq-dev).
  std::vector<fs::path> candidates;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec))
    candidates.push_back(entry.path() / "bin");
  std::sort(candidates.begin(), candidates.end(), [](const fs::path& a, const fs::path& b) {
    // "15" > "9": compare version folders as numbers.
    return std::atoi(a.parent_path().filename().c_str()) >
           std::atoi(b.parent_path().filename().c_str());
  });
  for (const fs::path& c : candidates)
    if (HasServerBinaries(c.string())) return c.string();
  return "";
}

PostgresServer::PostgresServer()
    : port_(FreeLoopbackPort()), dir_(MakeServiceDir("postgres", kUser)) {}

PostgresServer::~PostgresServer() { Stop(); }

std::string PostgresServer::UrlFor(const std::string& database) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

int PostgresServer::RunTool(const std::string& tool, const std::vector<std::string>& args,
                            int timeout_ms) {
  ServiceOptions o;
  o.argv = {bindir_ + "/" + tool};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.log_path = dir_ + "/tools.log";
  o.run_as_user = kUser;
  o.workdir = dir_;  // the postgres user may not be able to read the caller's folder
  try {
    ServiceProcess p(o);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (p.running() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return p.Stop(1000);  // the exit status, or 128+signal when it had to be killed
  } catch (const std::exception& e) {
    std::ofstream(dir_ + "/tools.log", std::ios::app) << tool << ": " << e.what() << "\n";
    return -1;
  }
}

ServiceOptions PostgresServer::Options(const std::string& data) const {
  ServiceOptions o;
  o.argv = {bindir_ + "/postgres", "-D", data, "-k", dir_, "-p", std::to_string(port_),
            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off", "-c", "max_connections=200"};
  o.log_path = dir_ + "/postgres.log";
  o.run_as_user = kUser;
  o.workdir = dir_;
  return o;
}

// Whether the server of `data` accepts connections: its postmaster.pid's
// status line (the 8th) says "ready".
bool PostgresServer::Ready(const std::string& data) {
  std::ifstream pid(data + "/postmaster.pid");
  std::string line;
  for (int i = 0; i < 8 && std::getline(pid, line); ++i) {
  }
  return line.rfind("ready", 0) == 0;
}

Status PostgresServer::Start() {
  if (process_ && process_->running()) return {};
  process_.reset();
  if (bindir_.empty()) bindir_ = FindPostgresBinDir();
  if (bindir_.empty()) {
    return MakeError("service_unavailable",
                     "PostgreSQL server binaries not found (pg_config --bindir, "
                     "/usr/lib/postgresql/*/bin); install postgresql");
  }
  const std::string data = dir_ + "/data";
  try {
    if (!initialized_) {
      // No locale: the adapter must not depend on the server's collation or
      // character classes, and C makes that visible.
      const int rc = RunTool(
          "initdb",
          {"-D", data, "-U", kUser, "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"},
          kToolTimeoutMs);
      if (rc != 0)
        return MakeError("service_unavailable",
                         "initdb failed (" + std::to_string(rc) + "): " + Log());
    }
    // The port was free when it was chosen, but another server started
    // meanwhile (tests run in parallel) may have taken it: then this one
    // exits at once while the port answers, for the other. Ours is up when
    // its own postmaster.pid says "ready"; a first start that lost its port
    // tries a fresh one (a restart keeps its URL).
    for (int attempt = 0;; ++attempt) {
      process_ = std::make_unique<ServiceProcess>(Options(data));
      const auto deadline =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(kStartTimeoutMs);
      while (process_->running() && !Ready(data) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (process_->running() && Ready(data)) break;
      const bool exited = !process_->running();
      process_.reset();
      if (exited && !initialized_ && attempt < 3) {
        port_ = FreeLoopbackPort();
        continue;
      }
      return MakeError("service_unavailable",
                       "postgres did not start on port " + std::to_string(port_) + ": " + Log());
    }
    if (!initialized_) {
      initialized_ = true;
      Result<std::string> db = CreateDatabase(kDefaultDatabase);
      if (!db.ok()) return db.error();
    }
  } catch (const std::exception& e) {
    process_.reset();
    return MakeError("service_unavailable", std::string("postgres: ") + e.what());
  }
  return {};
}

void PostgresServer::Stop() {
  if (!process_) return;
  // SIGINT is PostgreSQL's fast shutdown: sessions end at once. SIGTERM
  // (what ServiceProcess::Stop sends) would wait for every client to leave.
  process_->Signal(SIGINT);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (process_->running() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  process_->Stop(1000);
  process_.reset();
}

Result<std::string> PostgresServer::CreateDatabase(const std::string& name) {
  if (!IsPlainName(name)) return MakeError("invalid_argument", "bad database name: " + name);
  if (!running()) return MakeError("service_unavailable", "postgres is not running");
  const int rc =
      RunTool("createdb", {"-h", "127.0.0.1", "-p", std::to_string(port_), "-U", kUser, name},
              kToolTimeoutMs);
  if (rc != 0) {
    return MakeError("service_unavailable",
                     "createdb " + name + " failed (" + std::to_string(rc) + "): " + Log());
  }
  return UrlFor(name);
}

std::string PostgresServer::Log() const {
  std::stringstream ss;
  for (const char* file : {"/tools.log", "/postgres.log"}) {
    std::ifstream in(dir_ + file);
    ss << in.rdbuf();
  }
  return ss.str();
}

PostgresServer& SharedPostgresServer() {
  // A function-local static: destroyed (and so stopped) at exit, before the
  // folder it lives in is removed.
  static PostgresServer server;
  return server;
}

}  // namespace vs::testing
