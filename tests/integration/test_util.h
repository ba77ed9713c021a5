// Helpers for integration tests that drive real processes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

namespace vs::testing {

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv[0] with the given arguments, no shell, capturing stdout/stderr.
ProcessResult RunProcess(const std::vector<std::string>& argv);

// Paths from the environment that ctest sets.
std::string Binary();      // build/visionsync
std::string SourceDir();   // repository root
std::string MediaDir();    // ../shared/media beside the repository
std::string TempDir();     // a fresh folder, removed at exit

// Transcodes `clip` (a name in MediaDir) once per build: later calls, from
// this or another test process, reuse the output. Returns the output folder.
std::string TranscodeOnce(const std::string& clip);

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& data);
boost::json::value ParseJson(const std::string& text);
// The string member `key` of a JSON object; "" when absent or not a string.
std::string Str(const boost::json::value& v, const char* key);
// The last non-empty line of `text`.
std::string LastLine(const std::string& text);
// Runs ffprobe with -of json and the given arguments.
boost::json::value FfprobeJson(const std::vector<std::string>& args);

}  // namespace vs::testing

namespace vs::testing {

// A long-running child process (the server) with extra environment
// variables; its stdout/stderr go to a log file. Killed on destruction.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::vector<std::string>& env,
          const std::string& log_path);
  ~Process();
  int pid() const { return pid_; }
  // Waits until the log contains `needle`; returns the log line, or "" on timeout.
  std::string WaitForLog(const std::string& needle, int timeout_ms);
  void Signal(int sig);
  int Wait();  // exit status (128+signal when killed)
  bool running();

 private:
  int pid_ = -1;
  std::string log_;
  size_t log_start_ = 0;
  bool reaped_ = false;
  int status_ = 0;
};

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string Header(const std::string& name) const;  // case-insensitive, "" if absent
};

// The response's body as JSON (null when it is not JSON).
boost::json::value Json(const HttpResponse& r);

// One HTTP/1.1 request on a fresh loopback connection ("Connection: close").
HttpResponse Http(int port, const std::string& method, const std::string& target,
                  const std::string& body = "",
                  const std::vector<std::pair<std::string, std::string>>& headers = {});

// Starts `visionsync serve` on a free port with DATA_DIR=data_dir; returns
// the port once it listens.
int StartServer(std::unique_ptr<Process>* proc, const std::string& data_dir,
                std::vector<std::string> env = {}, const std::string& role = "serve");

}  // namespace vs::testing
