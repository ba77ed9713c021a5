// Scripted children for tests of the worker: each Start plays the next
// script: writes its files into the output folder (the last argv), returns
// its stdout lines one per ReadLine, then ends with its exit status.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <filesystem>
#include <fstream>

#include "worker/child_process.h"

namespace vs::worker {

struct FakeChildScript {
  std::vector<std::string> lines;  // stdout, one line each
  ExitStatus exit;
  std::string stderr_tail;
  std::map<std::string, std::string> files;  // name -> content, in the output folder
  // Called before line i is returned (i == lines.size(): before the end),
  // on the job's thread: the place to steal a lease or stop the pool.
  std::function<void(size_t)> before_line;
  bool hang = false;         // after the lines, time out until killed
  bool throw_at_end = false;  // after the lines, ReadLine throws
};

// What one fake child went through, for the test to check afterwards.
struct FakeChildRecord {
  std::vector<std::string> argv;
  bool killed = false;
  bool waited = false;
};

class FakeChildProcess final : public ChildProcess {
 public:
  FakeChildProcess(FakeChildScript script, std::shared_ptr<FakeChildRecord> record)
      : script_(std::move(script)), record_(std::move(record)) {}
  ~FakeChildProcess() override {
    if (!record_->waited) {
      Kill();
      (void)Wait();
    }
  }

  Read ReadLine(std::string* line, std::chrono::milliseconds) override {
    if (record_->killed) return Read::kEnd;  // a killed child's pipes close
    if (script_.before_line) script_.before_line(next_);
    if (next_ < script_.lines.size()) {
      *line = script_.lines[next_++];
      return Read::kLine;
    }
    if (script_.throw_at_end) throw std::runtime_error("scripted failure");
    if (script_.hang && !record_->killed) return Read::kTimeout;
    return Read::kEnd;
  }
  std::string StderrTail() const override { return script_.stderr_tail; }
  void Kill() override { record_->killed = true; }
  ExitStatus Wait() override {
    record_->waited = true;
    return record_->killed ? ExitStatus::Signaled(9) : script_.exit;
  }

 private:
  FakeChildScript script_;
  std::shared_ptr<FakeChildRecord> record_;
  size_t next_ = 0;
};

// Thread-safe. Runs out of scripts: Start fails ("spawn_failed").
class FakeChildLauncher final : public ChildLauncher {
 public:
  void Push(FakeChildScript script) {
    std::lock_guard lock(mu_);
    scripts_.push_back(std::move(script));
  }
  // One record per Start, in order.
  std::vector<std::shared_ptr<FakeChildRecord>> records() const {
    std::lock_guard lock(mu_);
    return records_;
  }

  Result<std::unique_ptr<ChildProcess>> Start(const std::vector<std::string>& argv) override {
    std::lock_guard lock(mu_);
    if (scripts_.empty()) return MakeError("spawn_failed", "no scripted child left");
    FakeChildScript script = std::move(scripts_.front());
    scripts_.erase(scripts_.begin());
    auto record = std::make_shared<FakeChildRecord>();
    record->argv = argv;
    records_.push_back(record);
    if (!argv.empty()) {
      const std::filesystem::path out = argv.back();
      std::filesystem::create_directories(out);
      for (const auto& [name, content] : script.files) std::ofstream(out / name) << content;
    }
    return std::unique_ptr<ChildProcess>(std::make_unique<FakeChildProcess>(std::move(script), record));
  }

 private:
  mutable std::mutex mu_;
  std::vector<FakeChildScript> scripts_;
  std::vector<std::shared_ptr<FakeChildRecord>> records_;
};

}  // namespace vs::worker
