// The real launcher, with /bin/sh as the child: lines, the stderr tail,
// exit statuses, timeouts, the sandbox (process group, nice), killing the
// whole group, and reaping on every path.
#include "worker/child_process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

namespace vs::worker {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<ChildProcess> Sh(const std::string& script) {
  auto child = NewSubprocessLauncher()->Start({"/bin/sh", "-c", script});
  EXPECT_TRUE(child.ok());
  return child.ok() ? std::move(*child) : nullptr;
}

// Every line until the end (or a 10 s timeout, which fails the test).
std::vector<std::string> ReadAll(ChildProcess& c) {
  std::vector<std::string> lines;
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    switch (c.ReadLine(&line, 100ms)) {
      case ChildProcess::Read::kLine: lines.push_back(line); break;
      case ChildProcess::Read::kTimeout: break;
      case ChildProcess::Read::kEnd: return lines;
    }
  }
  ADD_FAILURE() << "the child did not end";
  return lines;
}

std::string NextLine(ChildProcess& c) {
  std::string line;
  for (int i = 0; i < 100; ++i) {
    if (c.ReadLine(&line, 100ms) == ChildProcess::Read::kLine) return line;
  }
  ADD_FAILURE() << "no line";
  return "";
}

// Fields of /proc/<pid>/stat after the command name.
std::vector<std::string> StatFields(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const size_t name_end = text.rfind(')');
  if (name_end == std::string::npos) return {};  // no such process (any more)
  std::istringstream rest(text.substr(name_end + 2));
  std::vector<std::string> fields;
  for (std::string w; rest >> w;) fields.push_back(w);
  return fields;  // [0] state, [1] ppid, [2] pgrp, ... [16] nice
}

bool GoneOrZombie(pid_t pid) {
  for (int i = 0; i < 200; ++i) {
    auto f = StatFields(pid);
    if (f.empty() || f[0] == "Z") return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

TEST(ChildProcessTest, ReadsLinesAndTheExitCode) {
  auto c = Sh("echo one; echo; printf 'two\\nthree'; exit 3");
  ASSERT_TRUE(c);
  // The unterminated "three" is no line.
  EXPECT_EQ(ReadAll(*c), (std::vector<std::string>{"one", "", "two"}));
  const ExitStatus s = c->Wait();
  EXPECT_EQ(s.code, 3);
  EXPECT_EQ(s.signal, 0);
}

TEST(ChildProcessTest, KeepsTheTailOfStderr) {
  auto c = Sh("i=0; while [ $i -lt 2000 ]; do echo \"noise $i\" >&2; i=$((i+1)); done; echo last words >&2; exit 1");
  ASSERT_TRUE(c);
  EXPECT_TRUE(ReadAll(*c).empty());
  const std::string tail = c->StderrTail();
  EXPECT_LE(tail.size(), 8192u);
  EXPECT_GT(tail.size(), 1000u);
  EXPECT_EQ(tail.substr(tail.size() - 11), "last words\n");
  EXPECT_EQ(c->Wait().code, 1);
}

TEST(ChildProcessTest, TimesOutThenKillsTheWholeGroup) {
  auto c = Sh("sleep 30 & echo $!; echo $$; wait");
  ASSERT_TRUE(c);
  const pid_t grandchild = std::stoi(NextLine(*c));
  const pid_t child = std::stoi(NextLine(*c));
  std::string line;
  EXPECT_EQ(c->ReadLine(&line, 50ms), ChildProcess::Read::kTimeout);
  // Sandbox: its own process group, 5 nicer than us.
  const auto stat = StatFields(child);
  ASSERT_GT(stat.size(), 16u);
  EXPECT_EQ(std::stoi(stat[2]), child);
  EXPECT_EQ(std::stoi(StatFields(grandchild)[2]), child);
  EXPECT_EQ(std::stoi(stat[16]), std::min(19, getpriority(PRIO_PROCESS, 0) + 5));

  c->Kill();
  EXPECT_TRUE(ReadAll(*c).empty());
  const ExitStatus s = c->Wait();
  EXPECT_EQ(s.signal, SIGKILL);
  EXPECT_EQ(s.code, -1);
  EXPECT_TRUE(GoneOrZombie(grandchild));  // a zombie until init reaps it
  c->Kill();  // after the reaping: harmless
}

TEST(ChildProcessTest, DestroyingARunningChildKillsAndReapsIt) {
  pid_t pid;
  {
    auto c = Sh("echo $$; exec sleep 30");
    ASSERT_TRUE(c);
    pid = std::stoi(NextLine(*c));
  }
  // Reaped: no longer our child (and not a zombie left behind).
  EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

// As PID 1 of a container (or any subreaper), what the child's group leaves
// behind is handed to us when the child dies: Wait reaps it too.
TEST(ChildProcessTest, AsSubreaperKilledGrandchildrenAreReapedNotLeftZombies) {
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  auto c = Sh("sleep 30 & echo $!; sleep 30 & echo $!; wait");
  ASSERT_TRUE(c);
  const pid_t first = std::stoi(NextLine(*c));
  const pid_t second = std::stoi(NextLine(*c));
  c->Kill();
  EXPECT_TRUE(ReadAll(*c).empty());
  EXPECT_EQ(c->Wait().signal, SIGKILL);
  for (pid_t p : {first, second}) {
    EXPECT_TRUE(StatFields(p).empty()) << p << " is still there, state " << StatFields(p)[0];
    EXPECT_EQ(waitpid(p, nullptr, WNOHANG), -1);
  }
  prctl(PR_SET_CHILD_SUBREAPER, 0);
}

TEST(ChildProcessTest, WhatAnExitedChildLeftInItsGroupIsEnded) {
  // The child exits; a background process it started runs on with its
  // output elsewhere, so the pipes close and ReadLine ends.
  auto c = Sh("sleep 30 >/dev/null 2>&1 & echo $!");
  ASSERT_TRUE(c);
  const std::vector<std::string> lines = ReadAll(*c);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(c->Wait().code, 0);
  EXPECT_TRUE(GoneOrZombie(std::stoi(lines[0])));
}

TEST(ChildProcessTest, DropsARunawayLineWhole) {
  auto c = Sh("head -c 3000000 /dev/zero | tr '\\0' x; echo; echo after");
  ASSERT_TRUE(c);
  EXPECT_EQ(ReadAll(*c), (std::vector<std::string>{"after"}));
  EXPECT_EQ(c->Wait().code, 0);
}

TEST(ChildProcessTest, AProgramThatCannotRunExits127) {
  auto c = NewSubprocessLauncher()->Start({"/nonexistent/transcoder", "transcode"});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(ReadAll(**c).empty());
  EXPECT_EQ((*c)->Wait().code, 127);
  EXPECT_FALSE(NewSubprocessLauncher()->Start({}).ok());
}

}  // namespace
}  // namespace vs::worker
