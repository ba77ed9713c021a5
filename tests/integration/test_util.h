// Helpers for integration tests that drive real processes.
#pragma once

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
// The last non-empty line of `text`.
std::string LastLine(const std::string& text);
// Runs ffprobe with -of json and the given arguments.
boost::json::value FfprobeJson(const std::vector<std::string>& args);

}  // namespace vs::testing
