// WorkerPool's job steps with scripted transcoder children, over the real
// SQLite adapter (in memory) and a LocalStore in a temporary folder: what is
// published, the video's status and the job's state for each way a
// transcoder can end, and that no child output can take the worker down.
#include "worker/worker.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/event_bus.h"
#include "core/transcode_protocol.h"
#include "db/sqlite_database.h"
#include "store/object_store.h"
#include "worker/fake_child_process.h"

namespace vs::worker {
namespace {

namespace fs = std::filesystem;
namespace tp = transcode_protocol;

constexpr int64_t kLeaseMs = 60000;

tp::DoneLine Done() {
  tp::DoneLine d;
  d.duration = 12.5;
  d.width = 1280;
  d.height = 720;
  d.frame_rate = 30;
  d.has_audio = true;
  d.renditions = {{"v720", "video", "720p", "avc1.64001f", 1280, 720, 2'500'000, 3'000'000, 1000, 12.5, 4},
                  {"a", "audio", "audio", "mp4a.40.2", 0, 0, 128'000, 130'000, 100, 12.5, 4}};
  return d;
}

// A transcoder that works: progress, outputs, the result line, exit 0.
FakeChildScript Success() {
  FakeChildScript s;
  s.lines = {tp::EncodeProgress({"probing", 0}), tp::EncodeProgress({"encoding", 50}),
             tp::EncodeProgress({"packaging", 90}), tp::EncodeDone(Done())};
  for (auto& l : s.lines) l.pop_back();  // ReadLine gives lines without '\n'
  s.files = {{"init-v720.mp4", "i"}, {"v720-1.m4s", "s"}, {"thumbnail.jpg", "t"},
             {"manifest.mpd", "m"}, {"master.m3u8", "h"}};
  return s;
}

std::string Line(std::string encoded) {
  encoded.pop_back();
  return encoded;
}

// A new empty folder; empty on failure.
std::string NewTempDir() {
  std::string tmpl = (fs::path(::testing::TempDir()) / "vs_worker_XXXXXX").string();
  return mkdtemp(tmpl.data()) ? tmpl : std::string();
}

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = NewTempDir();
    ASSERT_FALSE(root_.empty());
    auto db = db::SqliteDatabase::Open(":memory:", clock_);
    ASSERT_TRUE(db.ok());
    db_ = std::move(*db);
    auto store = store::NewLocalStore(root_ + "/store");
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
    svc_ = std::make_unique<service::VideoService>(db_->videos(), db_->notifications(), *store_, bus_, clock_,
                                                   service::UrlConfig{});
    bus_.Subscribe([this](const Event& e) {
      if (e.name != "processing-progress") return;
      if (throw_on_progress_.exchange(false)) throw std::runtime_error("a subscriber failed");
      const auto o = boost::json::parse(e.payload).as_object();
      progress_.push_back(o.at("progress").to_number<double>());
      stages_.push_back(boost::json::value_to<std::string>(o.at("stage")));
    });
    auto launcher = std::make_unique<FakeChildLauncher>();
    children_ = launcher.get();
    pool_ =
        std::make_unique<WorkerPool>(Options(), db_->jobs(), *svc_, *store_, std::move(launcher));
  }
  WorkerOptions Options() {
    WorkerOptions opt;
    opt.transcoder_binary = "/opt/visionsync";
    opt.scratch_dir = root_ + "/scratch";
    opt.worker_id = "test";
    opt.lease_ms = kLeaseMs;
    opt.heartbeat_ms = 0;  // renew after every line: the lease tests need no real waiting
    opt.retry_base_ms = 1000;
    opt.log = [this](const std::string& line) {
      std::lock_guard lock(log_mu_);
      log_.push_back(line);
    };
    return opt;
  }
  std::vector<std::string> Log() {
    std::lock_guard lock(log_mu_);
    return log_;
  }
  void TearDown() override {
    pool_.reset();
    fs::remove_all(root_);
  }

  // An uploaded and confirmed video: its job is queued.
  std::string Upload() {
    auto v = svc_->CreateUpload("clip", "", "clip.mp4", "video/mp4", 5);
    EXPECT_TRUE(v.ok());
    auto w = store_->OpenWriter(service::RawKey(v->id));
    EXPECT_TRUE(w.ok());
    EXPECT_TRUE((*w)->Write("bytes", 5).ok());
    EXPECT_TRUE((*w)->Commit().ok());
    auto st = store_->Stat(service::RawKey(v->id));
    EXPECT_TRUE(st.ok());
    EXPECT_TRUE(svc_->Confirm(v->id, st->etag).ok());
    return v->id;
  }
  Video Get(const std::string& id) {
    auto v = db_->videos().Get(id);
    EXPECT_TRUE(v.ok() && v->has_value());
    return v.ok() && v->has_value() ? **v : Video{};
  }
  Job LatestJob(const std::string& id) {
    auto j = db_->jobs().LatestForVideo(id);
    EXPECT_TRUE(j.ok() && j->has_value());
    return j.ok() && j->has_value() ? **j : Job{};
  }
  std::vector<std::string> Published(const std::string& id) {
    auto keys = store_->List(service::ProcessedPrefix(id));
    EXPECT_TRUE(keys.ok());
    return keys.ok() ? *keys : std::vector<std::string>{};
  }
  bool ScratchIsEmpty() { return fs::is_empty(root_ + "/scratch"); }

  FakeClock clock_;
  std::string root_;
  std::unique_ptr<db::SqliteDatabase> db_;
  std::unique_ptr<store::ObjectStore> store_;
  EventBus bus_;
  std::unique_ptr<service::VideoService> svc_;
  FakeChildLauncher* children_ = nullptr;
  std::unique_ptr<WorkerPool> pool_;
  std::vector<double> progress_;
  std::vector<std::string> stages_;
  std::atomic<bool> throw_on_progress_{false};
  std::mutex log_mu_;
  std::vector<std::string> log_;
};

TEST_F(WorkerTest, SuccessPublishesTheFilesAndMarksReady) {
  const std::string id = Upload();
  children_->Push(Success());
  ASSERT_TRUE(pool_->RunOne("test/0"));

  const Video v = Get(id);
  EXPECT_EQ(v.status, VideoStatus::kReady);
  EXPECT_EQ(v.duration, 12.5);
  EXPECT_EQ(v.width, 1280);
  EXPECT_EQ(v.height, 720);
  ASSERT_EQ(v.renditions.size(), 2u);
  EXPECT_EQ(v.renditions[0].id, "v720");
  EXPECT_EQ(v.renditions[0].name, "720p");
  EXPECT_EQ(v.renditions[0].width, 1280);
  EXPECT_EQ(v.renditions[0].bitrate, 2'500'000);
  EXPECT_EQ(v.renditions[1].name, "audio");
  EXPECT_EQ(LatestJob(id).state, JobState::kDone);

  const std::string p = service::ProcessedPrefix(id);
  EXPECT_EQ(Published(id), (std::vector<std::string>{p + "init-v720.mp4", p + "manifest.mpd", p + "master.m3u8",
                                                      p + "thumbnail.jpg", p + "v720-1.m4s"}));
  // The transcoder's 0-100 on 0-98, then the upload.
  EXPECT_EQ(progress_, (std::vector<double>{0, 49, 88.2, 98.5}));
  EXPECT_EQ(stages_, (std::vector<std::string>{"probing", "encoding", "packaging", "uploading"}));

  const auto records = children_->records();
  ASSERT_EQ(records.size(), 1u);
  const auto& argv = records[0]->argv;
  ASSERT_EQ(argv.size(), 10u);
  EXPECT_EQ((std::vector<std::string>(argv.begin(), argv.begin() + 8)),
            (std::vector<std::string>{"/opt/visionsync", "transcode", "--progress", "json", "--max-memory", "4096",
                                      "--max-seconds", "3600"}));
  EXPECT_FALSE(records[0]->killed);
  EXPECT_TRUE(records[0]->waited);
  EXPECT_TRUE(ScratchIsEmpty());
  EXPECT_FALSE(pool_->RunOne("test/0"));  // nothing left
}

TEST_F(WorkerTest, RejectedInputIsAnErrorWithTheChildsMessageAndNoRetry) {
  const std::string id = Upload();
  FakeChildScript s;
  s.lines = {Line(tp::EncodeProgress({"probing", 0})),
             Line(tp::EncodeError(MakeError("unsupported_container", "this is not a video file")))};
  s.exit = ExitStatus::Exited(2);
  s.files = {{"partial.m4s", "x"}};
  children_->Push(s);
  ASSERT_TRUE(pool_->RunOne("test/0"));

  const Video v = Get(id);
  EXPECT_EQ(v.status, VideoStatus::kError);
  EXPECT_EQ(v.error_message, "the video could not be processed: this is not a video file");
  EXPECT_EQ(LatestJob(id).state, JobState::kFailed);
  EXPECT_TRUE(Published(id).empty());
  clock_.Advance(24 * 3600 * 1000);
  children_->Push(Success());
  EXPECT_FALSE(pool_->RunOne("test/0"));
  EXPECT_TRUE(ScratchIsEmpty());
}

TEST_F(WorkerTest, TheTranscodersStderrIsLoggedNotShown) {
  const std::string id = Upload();
  FakeChildScript s;
  s.lines = {Line(tp::EncodeError(MakeError("corrupt_input", "the file is damaged")))};
  s.exit = ExitStatus::Exited(2);
  s.stderr_tail = "[mov @ 0x1] moov atom not found\nopening the file failed: Invalid data found\n";
  children_->Push(s);
  ASSERT_TRUE(pool_->RunOne("test/0"));

  EXPECT_EQ(Get(id).error_message, "the video could not be processed: the file is damaged");
  const std::vector<std::string> log = Log();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("video " + id), std::string::npos) << log[0];
  EXPECT_NE(log[0].find(
                "failed: the file is damaged; transcoder stderr: [mov @ 0x1] moov atom not found\n"
                "opening the file failed: Invalid data found"),
            std::string::npos)
      << log[0];
}

TEST_F(WorkerTest, ACrashIsRetriedAfterABackoff) {
  const std::string id = Upload();
  FakeChildScript crash;
  crash.lines = {Line(tp::EncodeProgress({"encoding", 10}))};
  crash.exit = ExitStatus::Signaled(11);
  children_->Push(crash);
  ASSERT_TRUE(pool_->RunOne("test/0"));

  EXPECT_EQ(Get(id).status, VideoStatus::kUploaded);
  Job job = LatestJob(id);
  EXPECT_EQ(job.state, JobState::kQueued);
  EXPECT_EQ(job.last_error, "the transcoder was killed by signal 11");
  EXPECT_TRUE(Published(id).empty());

  children_->Push(Success());
  EXPECT_FALSE(pool_->RunOne("test/0"));  // still backing off
  clock_.Advance(3600 * 1000);
  ASSERT_TRUE(pool_->RunOne("test/0"));
  EXPECT_EQ(Get(id).status, VideoStatus::kReady);
  EXPECT_EQ(LatestJob(id).attempts, 2);
}

TEST_F(WorkerTest, RunsAndAttemptsAreCountedByOutcome) {
  metrics::Registry registry;
  WorkerOptions opt = Options();
  opt.metrics = &registry;
  auto launcher = std::make_unique<FakeChildLauncher>();
  FakeChildLauncher* children = launcher.get();
  WorkerPool pool(opt, db_->jobs(), *svc_, *store_, std::move(launcher));

  const std::string id = Upload();
  FakeChildScript crash;
  crash.exit = ExitStatus::Signaled(11);
  children->Push(crash);
  ASSERT_TRUE(pool.RunOne("test/0"));
  clock_.Advance(3600 * 1000);
  children->Push(Success());
  ASSERT_TRUE(pool.RunOne("test/0"));
  ASSERT_EQ(Get(id).status, VideoStatus::kReady);

  metrics::Family* runs = registry.Find("visionsync_transcode_duration_seconds");
  metrics::Family* attempts = registry.Find("visionsync_job_attempts_total");
  metrics::Family* speed = registry.Find("visionsync_transcode_speed_ratio");
  ASSERT_TRUE(runs && attempts && speed);
  EXPECT_EQ(runs->Count({{"outcome", "failed"}}), 1u);
  EXPECT_EQ(runs->Count({{"outcome", "ok"}}), 1u);
  EXPECT_EQ(speed->Count({}), 1u);
  EXPECT_EQ(attempts->Value({{"outcome", "retried"}}), 1);
  EXPECT_EQ(attempts->Value({{"outcome", "ready"}}), 1);
  EXPECT_EQ(attempts->Value({{"outcome", "failed"}}), 0);
}

TEST_F(WorkerTest, MalformedAndHostileLinesAreNoProgress) {
  const std::string id = Upload();
  FakeChildScript s = Success();
  const std::string deep = "{\"stage\":\"a\",\"progress\":1,\"x\":" + std::string(100000, '[');
  s.lines = {"garbage",
             "",
             "[1,2,3]",
             R"({"stage":1,"progress":5})",
             R"({"stage":"encoding","progress":"5"})",
             R"({"stage":"encoding","progress":1e308})",
             R"({"stage":"encoding","progress":-1e400})",
             "{\"stage\":\"enc\xff\xfe\",\"progress\":5}",
             deep,
             "{\"stage\":\"encoding\",\"progress\":5,\"pad\":\"" + std::string(2 << 20, 'x') + "\"}",
             R"({"stage":"done","progress":100,"result":{"duration":"long"}})",
             R"({"error":"boom"})",
             Line(tp::EncodeProgress({"encoding", 50})),
             Line(tp::EncodeDone(Done()))};
  children_->Push(s);
  ASSERT_TRUE(pool_->RunOne("test/0"));

  EXPECT_EQ(Get(id).status, VideoStatus::kReady);
  EXPECT_EQ(progress_, (std::vector<double>{49, 98.5}));
  EXPECT_EQ(Published(id).size(), 5u);
}

TEST_F(WorkerTest, AnUnreadableVerdictFailsTheAttemptRetryably) {
  const std::vector<std::string> verdicts = {
      "not json at all",
      R"({"stage":"done","progress":100,"result":{"duration":1,"width":1e300,"height":1,"renditions":[]}})",
      R"({"stage":"done","progress":100,"result":{"duration":1,"width":1,"height":1,"renditions":{}}})",
      R"({"stage":"done","progress":100,"result":{"duration":1,"width":1,"height":1,"renditions":[{"id":7}]}})",
      R"({"stage":"done","progress":100,"result":[]})",
      Line(tp::EncodeProgress({"packaging", 99})),  // exit 0, yet no result
      "",                                          // no output at all
  };
  for (const std::string& verdict : verdicts) {
    SCOPED_TRACE(verdict);
    const std::string id = Upload();
    FakeChildScript s = Success();
    s.lines = {Line(tp::EncodeProgress({"encoding", 50})), verdict};
    children_->Push(s);
    ASSERT_TRUE(pool_->RunOne("test/0"));

    EXPECT_EQ(Get(id).status, VideoStatus::kUploaded);
    const Job job = LatestJob(id);
    EXPECT_EQ(job.state, JobState::kQueued);
    EXPECT_NE(job.last_error.find("the transcoder gave no usable result"), std::string::npos) << job.last_error;
    EXPECT_TRUE(Published(id).empty());
    EXPECT_TRUE(ScratchIsEmpty());
  }
}

TEST_F(WorkerTest, ALostLeaseKillsTheChildAndPublishesNothing) {
  const std::string id = Upload();
  FakeChildScript s = Success();
  s.hang = true;
  s.before_line = [this](size_t i) {
    if (i != 2) return;
    // The lease runs out and another worker takes the job over.
    clock_.Advance(kLeaseMs + 1);
    auto stolen = db_->jobs().Claim("thief/0", kLeaseMs);
    ASSERT_TRUE(stolen.ok() && stolen->has_value());
  };
  children_->Push(s);
  ASSERT_TRUE(pool_->RunOne("test/0"));

  const auto records = children_->records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(records[0]->killed);
  EXPECT_TRUE(records[0]->waited);
  EXPECT_TRUE(Published(id).empty());
  const Job job = LatestJob(id);
  EXPECT_EQ(job.state, JobState::kRunning);
  EXPECT_EQ(job.lease_owner, "thief/0");
  EXPECT_EQ(Get(id).status, VideoStatus::kProcessing);  // the thief reports on it
  EXPECT_TRUE(ScratchIsEmpty());
}

TEST_F(WorkerTest, AnExceptionFailsTheAttemptAndTheWorkerGoesOn) {
  const std::string id = Upload();
  FakeChildScript s;
  s.lines = {Line(tp::EncodeProgress({"encoding", 10}))};
  s.throw_at_end = true;
  children_->Push(s);
  ASSERT_TRUE(pool_->RunOne("test/0"));

  const auto records = children_->records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(records[0]->killed);  // unwinding killed and reaped it
  EXPECT_TRUE(records[0]->waited);
  EXPECT_EQ(Get(id).status, VideoStatus::kUploaded);
  const Job job = LatestJob(id);
  EXPECT_EQ(job.state, JobState::kQueued);
  EXPECT_EQ(job.last_error, "internal error: scripted failure");
  EXPECT_TRUE(ScratchIsEmpty());

  const std::string next = Upload();
  children_->Push(Success());
  ASSERT_TRUE(pool_->RunOne("test/0"));
  EXPECT_EQ(Get(next).status, VideoStatus::kReady);
}

TEST_F(WorkerTest, StoppingHandsTheJobBack) {
  const std::string id = Upload();
  FakeChildScript s = Success();
  s.hang = true;
  s.before_line = [this](size_t i) {
    if (i == 1) pool_->Stop();
  };
  children_->Push(s);
  ASSERT_TRUE(pool_->RunOne("test/0"));

  EXPECT_TRUE(children_->records()[0]->killed);
  EXPECT_EQ(Get(id).status, VideoStatus::kUploaded);
  EXPECT_EQ(LatestJob(id).state, JobState::kQueued);
  EXPECT_TRUE(Published(id).empty());
}

TEST_F(WorkerTest, ATranscoderThatCannotStartIsRetried) {
  const std::string id = Upload();
  ASSERT_TRUE(pool_->RunOne("test/0"));  // no script: Start fails
  EXPECT_EQ(Get(id).status, VideoStatus::kUploaded);
  const Job job = LatestJob(id);
  EXPECT_EQ(job.state, JobState::kQueued);
  EXPECT_EQ(job.last_error, "no scripted child left");
}

// The same steps with the real launcher and a shell script as the
// transcoder, which starts a grandchild in its group and then runs until it
// is stopped. The test process is a subreaper, as the server is when it runs
// as PID 1 in its container: whatever the script leaves behind is handed to
// us, and must be reaped, not left a zombie.
class RealChildTest : public WorkerTest {
 protected:
  void SetUp() override {
    WorkerTest::SetUp();
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    pids_ = root_ + "/pids";
    script_ = root_ + "/transcoder.sh";
    WriteScript(
        "echo '{\"stage\":\"probing\",\"progress\":0}'; echo 'libav: some detail' >&2; wait");
  }
  void TearDown() override {
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    WorkerTest::TearDown();
  }

  // The script records its pid and its grandchild's, then runs `rest`.
  void WriteScript(const std::string& rest) {
    std::ofstream(script_) << "#!/bin/sh\nsleep 600 >/dev/null 2>&1 &\necho \"$$ $!\" > " << pids_
                           << ".tmp\nmv " << pids_ << ".tmp " << pids_ << "\n"
                           << rest << "\n";
    fs::permissions(script_, fs::perms::owner_all);
  }

  void UsePool(WorkerOptions opt) {
    opt.transcoder_binary = script_;
    pool_ = std::make_unique<WorkerPool>(opt, db_->jobs(), *svc_, *store_);
  }

  // Runs one job on another thread; `intervene` runs once the script has
  // started. Returns the script's pid and its grandchild's.
  std::pair<pid_t, pid_t> RunJob(const std::function<void()>& intervene) {
    std::thread job([this] { EXPECT_TRUE(pool_->RunOne("test/0")); });
    std::pair<pid_t, pid_t> pids{-1, -1};
    for (int i = 0; i < 1000 && pids.first < 0; ++i) {
      std::ifstream f(pids_);
      if (!(f >> pids.first >> pids.second)) {
        pids.first = -1;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    EXPECT_GT(pids.first, 0) << "the script did not start";
    intervene();
    job.join();
    return pids;
  }

  // Neither running nor a zombie: reaped (by us, its parent or reaper).
  static void ExpectReaped(pid_t pid) {
    EXPECT_FALSE(fs::exists("/proc/" + std::to_string(pid))) << "pid " << pid << " is still there";
    EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), -1);
  }

  std::string pids_, script_;
};

TEST_F(RealChildTest, TimedOutByTheWorker) {
  WorkerOptions opt = Options();
  opt.max_seconds = 1;  // the script ignores its --max-seconds: the worker's deadline stops it
  opt.kill_grace_ms = 0;
  UsePool(opt);
  const std::string id = Upload();
  const auto [child, grandchild] = RunJob([] {});
  ExpectReaped(child);
  ExpectReaped(grandchild);
  const Job job = LatestJob(id);
  EXPECT_EQ(job.state, JobState::kQueued);
  EXPECT_EQ(job.last_error, "the transcoder ran past its time limit and was stopped");
  EXPECT_EQ(Get(id).status, VideoStatus::kUploaded);
  const std::vector<std::string> log = Log();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("transcoder stderr: libav: some detail"), std::string::npos) << log[0];
}

TEST_F(RealChildTest, KilledWhenThePoolStops) {
  UsePool(Options());
  const std::string id = Upload();
  const auto [child, grandchild] = RunJob([this] { pool_->Stop(); });
  ExpectReaped(child);
  ExpectReaped(grandchild);
  EXPECT_EQ(LatestJob(id).state, JobState::kQueued);
}

TEST_F(RealChildTest, KilledWhenTheLeaseIsLost) {
  UsePool(Options());
  const std::string id = Upload();
  const auto [child, grandchild] = RunJob([this] {
    // A heartbeat between the two steps renews the lease: try again then.
    bool stolen = false;
    for (int i = 0; i < 20 && !stolen; ++i) {
      clock_.Advance(kLeaseMs + 1);
      auto job = db_->jobs().Claim("thief/0", kLeaseMs);
      stolen = job.ok() && job->has_value();
    }
    EXPECT_TRUE(stolen);
  });
  ExpectReaped(child);
  ExpectReaped(grandchild);
  EXPECT_EQ(LatestJob(id).lease_owner, "thief/0");
}

TEST_F(RealChildTest, KilledWhenTheJobThrows) {
  UsePool(Options());
  throw_on_progress_ = true;  // the script's progress line makes the job throw, once
  const std::string id = Upload();
  const auto [child, grandchild] = RunJob([] {});
  ExpectReaped(child);
  ExpectReaped(grandchild);
  EXPECT_EQ(LatestJob(id).last_error, "internal error: a subscriber failed");
}

TEST_F(RealChildTest, WhatAFinishedChildLeftRunningIsEnded) {
  // The script gives its verdict and exits; its grandchild runs on (with
  // its pipes closed, so the worker sees the end of the output).
  WriteScript(
      "echo '{\"error\":{\"code\":\"corrupt_input\",\"message\":\"the file is damaged\"}}'; exit "
      "2");
  UsePool(Options());
  const std::string id = Upload();
  const auto [child, grandchild] = RunJob([] {});
  ExpectReaped(child);
  ExpectReaped(grandchild);
  EXPECT_EQ(Get(id).error_message, "the video could not be processed: the file is damaged");
}

}  // namespace
}  // namespace vs::worker
