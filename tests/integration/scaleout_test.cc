// Scale-out on real engines: two `visionsync api` and two `visionsync worker`
// processes, each with its own empty DATA_DIR (no shared disk), on a real
// PostgreSQL, Redis and s3rver started here on loopback. Uploads go straight
// to the bucket through presigned URLs; a worker is killed mid-transcode and
// another finishes its job; a Socket.IO client on api B sees READY for a
// video confirmed through api A; the stream plays through api B; delete
// leaves no object; an upload replaced through its URL after confirm is
// refused; Redis and PostgreSQL outages are ridden out.
#include <gtest/gtest.h>
#include <unistd.h>
#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "postgres_server.h"
#include "redis_server.h"
#include "s3rver_server.h"
#include "core/clock.h"
#include "test_util.h"

namespace vs::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kClip = "src-720p30-10s.mp4";

struct Url {
  int port = 0;
  std::string target;  // path + query
};

// Only loopback URLs are expected here.
Url ParseUrl(const std::string& url) {
  static const std::regex re(R"(^https?://(127\.0\.0\.1|localhost):(\d+)(/.*)$)");
  std::smatch m;
  if (!std::regex_match(url, m, re)) return {};
  return Url{std::stoi(m[2]), m[3]};
}

// The PIDs of a process's children (its threads' children lists).
std::vector<int> ChildrenOf(int pid) {
  std::vector<int> out;
  std::error_code ec;
  for (const auto& t : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(t.path() / "children");
    int c = 0;
    while (in >> c) out.push_back(c);
  }
  return out;
}

class ScaleOutTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pg_ = new PostgresServer();
    ASSERT_TRUE(pg_->Start().ok());
    redis_ = new RedisServer();
    ASSERT_TRUE(redis_->Start().ok());
    s3_ = new S3rverServer();
    ASSERT_TRUE(s3_->Start().ok());
  }
  static void TearDownTestSuite() {
    delete s3_;
    delete redis_;
    delete pg_;
  }

  std::vector<std::string> Env() const {
    return {"DATABASE_URL=" + pg_->url(),
            "S3_BUCKET=" + s3_->bucket(),
            "S3_ENDPOINT=" + s3_->endpoint(),
            "S3_ACCESS_KEY_ID=" + std::string(S3rverServer::kAccessKeyId),
            "S3_SECRET_ACCESS_KEY=" + std::string(S3rverServer::kSecretAccessKey),
            "REDIS_URL=" + redis_->url(),
            "WEBHOOK_SECRET=scale-out-test-secret-0123456789abcdef",
            // Search is kept small to show that the api processes share one window.
            "RATE_LIMITS=upload=1000/60,general=1000/60,status=10000/60,search=6/60,streaming=10000/60,auth=1000/60",
            // The original's open flow, except where a test says otherwise.
            "ANONYMOUS_UPLOADS=1",
            "JOB_LEASE_SECONDS=3",
            "BREAKER_OPEN_SECONDS=1",
            "LOG_LEVEL=warn"};
  }

  int StartApi(std::unique_ptr<Process>* p, const std::string& name, bool accounts = false) {
    const std::string dir = TempDir() + "/" + name;
    fs::create_directories(dir);
    std::vector<std::string> env = Env();
    if (accounts) std::erase(env, std::string("ANONYMOUS_UPLOADS=1"));
    return StartServer(p, dir, env, "api");
  }

  void StartWorker(std::unique_ptr<Process>* p, const std::string& name) {
    const std::string dir = TempDir() + "/" + name;
    fs::create_directories(dir);
    std::vector<std::string> env = Env();
    env.push_back("DATA_DIR=" + dir);
    env.push_back("WORKERS=1");
    *p = std::make_unique<Process>(std::vector<std::string>{Binary(), "worker"}, env, dir + ".log");
    ASSERT_FALSE((*p)->WaitForLog("worker started", 20000).empty()) << ReadFile(dir + ".log");
  }

  // presign through `port`, PUT straight to the bucket; returns the video id
  // (and, with `upload`, the presigned URL).
  std::string PresignAndPut(int port, const std::string& bytes, Url* upload = nullptr) {
    json::object o{{"fileName", kClip}, {"fileType", "video/mp4"}, {"fileSize", bytes.size()}};
    HttpResponse r = Http(port, "POST", "/api/upload/generate-presigned-url", json::serialize(o),
                          {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 201) << r.body;
    const json::value d = Json(r).at("data");
    const std::string url = Str(d, "presignedUrl");
    const Url u = ParseUrl(url);
    EXPECT_EQ(u.port, s3_->port()) << "the upload URL must point at the bucket, not the api: " << url;
    HttpResponse put = Http(u.port, "PUT", u.target, bytes, {{"Content-Type", "video/mp4"}});
    EXPECT_EQ(put.status, 200) << put.body;
    if (upload != nullptr) *upload = u;
    return Str(d, "videoId");
  }

  std::string StatusOf(int port, const std::string& id) {
    HttpResponse r = Http(port, "GET", "/api/videos/" + id + "/status");
    return r.status == 200 ? Str(Json(r).at("data"), "status") : "";
  }

  // The status once the video is READY or ERROR (or the last seen after
  // four minutes).
  std::string FinalStatusOf(int port, const std::string& id) {
    std::string s;
    for (int i = 0; i < 1200 && s != "READY" && s != "ERROR"; ++i) {
      s = StatusOf(port, id);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return s;
  }

  // Object keys under a prefix, read from the bucket listing.
  std::vector<std::string> Keys(const std::string& prefix) {
    HttpResponse r = Http(s3_->port(), "GET", "/" + s3_->bucket() + "?list-type=2&prefix=" + prefix);
    std::vector<std::string> keys;
    static const std::regex key_re("<Key>([^<]+)</Key>");
    for (auto it = std::sregex_iterator(r.body.begin(), r.body.end(), key_re); it != std::sregex_iterator(); ++it)
      keys.push_back((*it)[1]);
    return keys;
  }

  int Psql(const std::string& sql) {
    ProcessResult r = RunProcess({"psql", pg_->url(), "-At", "-c", sql});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.empty() ? -1 : std::stoi(r.out);
  }

  static PostgresServer* pg_;
  static RedisServer* redis_;
  static S3rverServer* s3_;
};

PostgresServer* ScaleOutTest::pg_ = nullptr;
RedisServer* ScaleOutTest::redis_ = nullptr;
S3rverServer* ScaleOutTest::s3_ = nullptr;

TEST_F(ScaleOutTest, TwoApisTwoWorkersNoSharedDisk) {
  std::unique_ptr<Process> api_a, api_b, w1, w2;
  const int a = StartApi(&api_a, "api-a");
  const int b = StartApi(&api_b, "api-b");
  ASSERT_GT(a, 0);
  ASSERT_GT(b, 0);

  const std::string bytes = ReadFile(MediaDir() + "/" + kClip);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(PresignAndPut(i % 2 == 0 ? a : b, bytes));
  for (const auto& id : ids) ASSERT_EQ(Keys("raw/" + id + "/").size(), 1u) << id;
  // One more upload, whose object is replaced through its still-valid URL
  // after confirm (S3 takes the second PUT): the job pinned the confirmed
  // ETag, so the workers refuse the other bytes.
  Url swap_url;
  const std::string swapped = PresignAndPut(a, bytes, &swap_url);

  // A Socket.IO client on api B waits for the first video's READY.
  const std::string watcher_log = TempDir() + "/watcher.log";
  Process watcher({"/usr/bin/env", "node", SourceDir() + "/tests/node/wait-for-status.mjs", "http://127.0.0.1:" + std::to_string(b),
                   ids[0], "READY", "240000"},
                  {}, watcher_log);
  ASSERT_FALSE(watcher.WaitForLog("joined", 20000).empty()) << ReadFile(watcher_log);

  // Confirm everything through api A, before any worker runs: each job waits.
  for (const auto& id : ids) {
    HttpResponse c = Http(a, "POST", "/api/upload/confirm/" + id);
    ASSERT_EQ(c.status, 200) << c.body;
  }
  ASSERT_EQ(Http(a, "POST", "/api/upload/confirm/" + swapped).status, 200);
  HttpResponse swap = Http(swap_url.port, "PUT", swap_url.target,
                           ReadFile(MediaDir() + "/src-720p25-6s-noaudio.mp4"),
                           {{"Content-Type", "video/mp4"}});
  ASSERT_EQ(swap.status, 200) << swap.body;
  StartWorker(&w1, "worker-1");

  // Kill the worker mid-transcode (its sandboxed child dies with it); the
  // second worker, started afterwards, takes the job over once the lease expires.
  bool killed = false;
  for (int i = 0; i < 300 && !killed; ++i) {
    if (!ChildrenOf(w1->pid()).empty() && StatusOf(a, ids[0]) == "PROCESSING") {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      w1->Signal(SIGKILL);
      w1->Wait();
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(killed) << "the first worker never started transcoding";
  StartWorker(&w2, "worker-2");
  std::unique_ptr<Process> w3;
  StartWorker(&w3, "worker-3");

  for (const auto& id : ids)
    ASSERT_EQ(FinalStatusOf(b, id), "READY") << id << "\n" << ReadFile(TempDir() + "/worker-2.log");
  EXPECT_EQ(FinalStatusOf(b, swapped), "ERROR");
  EXPECT_EQ(Str(Json(Http(b, "GET", "/api/videos/" + swapped)).at("data"), "errorMessage"),
            "the uploaded file changed after it was confirmed; upload it again");
  EXPECT_TRUE(Keys("processed/" + swapped + "/").empty());
  // The killed attempt counts: the job that was running took two claims.
  EXPECT_EQ(Psql("SELECT max(attempts) FROM jobs WHERE video_id = '" + ids[0] + "'"), 2);
  EXPECT_EQ(watcher.Wait(), 0) << ReadFile(watcher_log);

  // Every output of a video comes from one attempt: exactly the files one
  // transcode of the clip makes, nothing left over from the killed one.
  size_t expected_files = 0;
  for (const auto& e : fs::recursive_directory_iterator(TranscodeOnce(kClip)))
    expected_files += e.is_regular_file();
  for (const auto& id : ids) EXPECT_EQ(Keys("processed/" + id + "/").size(), expected_files) << id;

  // The stream plays through api B, read from the bucket.
  for (const char* manifest : {"master.m3u8", "manifest.mpd"}) {
    ProcessResult play = RunProcess({"ffmpeg", "-v", "error", "-i",
                                     "http://127.0.0.1:" + std::to_string(b) + "/media/" + ids[0] + "/" + manifest,
                                     "-map", "0", "-f", "null", "-"});
    EXPECT_EQ(play.exit_code, 0) << manifest << ": " << play.err;
  }
  // A ranged read of a segment comes back exact.
  HttpResponse init = Http(b, "GET", "/media/" + ids[0] + "/thumbnail.jpg", "", {{"Range", "bytes=0-99"}});
  EXPECT_EQ(init.status, 206);
  EXPECT_EQ(init.body.size(), 100u);

  // Delete through api B removes every object of the video.
  HttpResponse del = Http(b, "DELETE", "/api/videos/" + ids[1]);
  EXPECT_EQ(del.status, 200) << del.body;
  EXPECT_TRUE(Keys("processed/" + ids[1] + "/").empty());
  EXPECT_TRUE(Keys("raw/" + ids[1] + "/").empty());

  // Rate limits are shared: the search tier's 6 requests are spent across both apis.
  int allowed = 0;
  for (int i = 0; i < 8; ++i) allowed += Http(i % 2 ? a : b, "GET", "/api/videos/search?q=x").status == 200;
  EXPECT_EQ(allowed, 6);

  // Redis away: requests are still served (limits fall back to each process).
  redis_->Stop();
  for (int i = 0; i < 5; ++i) {
    HttpResponse r = Http(a, "GET", "/api/videos/" + ids[0]);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_FALSE(r.Header("X-RateLimit-Limit").empty());
  }
  ASSERT_TRUE(redis_->Start().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // past the breaker's rest
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Http(b, "GET", "/api/videos/" + ids[0]).status, 200);

  // PostgreSQL restarted: 503 meanwhile, then recovery without restarting us.
  pg_->Stop();
  HttpResponse during = Http(a, "GET", "/api/videos/" + ids[0]);
  EXPECT_EQ(during.status, 503) << during.body;
  ASSERT_TRUE(pg_->Start().ok());
  int after = 0;
  for (int i = 0; i < 100 && after != 200; ++i) {
    after = Http(a, "GET", "/api/videos/" + ids[0]).status;
    if (after != 200) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(after, 200);
  EXPECT_TRUE(api_a->running());
  EXPECT_TRUE(api_b->running());
}

// Accounts live in the shared database: a session opened on one api works
// on the other, and a private video stays its owner's on both; its
// playback URLs signed by one api play through the other, from the bucket.
TEST_F(ScaleOutTest, AccountsAndPrivateVideosAcrossApis) {
  std::unique_ptr<Process> api_a, api_b, worker;
  const int a = StartApi(&api_a, "acc-a", true);
  const int b = StartApi(&api_b, "acc-b", true);
  ASSERT_GT(a, 0);
  ASSERT_GT(b, 0);
  auto signup = [&](int port, const std::string& email) {
    HttpResponse r = Http(port, "POST", "/api/auth/register",
                          json::serialize(json::object{{"email", email}, {"password", "long enough pw"}}),
                          {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? Str(Json(r).at("data"), "token") : std::string();
  };
  // Earlier tests may have made accounts in this database: ours are fresh.
  const std::string tag = std::to_string(::getpid()) + "-" + std::to_string(SystemClock::Instance().NowMs());
  const std::string owner = signup(a, "owner-" + tag + "@example.com");
  const std::string other = signup(b, "other-" + tag + "@example.com");
  const auto as = [](const std::string& token) {
    return std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer " + token},
                                                            {"Content-Type", "application/json"}};
  };
  EXPECT_EQ(Http(b, "GET", "/api/auth/me", "", as(owner)).status, 200) << "a session of api A works on api B";
  EXPECT_EQ(Http(b, "POST", "/api/upload/generate-presigned-url", "{}", {{"Content-Type", "application/json"}}).status,
            401);

  const std::string bytes = ReadFile(MediaDir() + "/" + kClip);
  json::object o{{"fileName", kClip}, {"fileType", "video/mp4"}, {"fileSize", bytes.size()}, {"visibility", "private"}};
  HttpResponse p = Http(a, "POST", "/api/upload/generate-presigned-url", json::serialize(o), as(owner));
  ASSERT_EQ(p.status, 201) << p.body;
  const std::string id = Str(Json(p).at("data"), "videoId");
  const Url u = ParseUrl(Str(Json(p).at("data"), "presignedUrl"));
  ASSERT_EQ(Http(u.port, "PUT", u.target, bytes, {{"Content-Type", "video/mp4"}}).status, 200);
  EXPECT_EQ(Http(b, "POST", "/api/upload/confirm/" + id, "", as(other)).status, 404) << "not other's to confirm";
  ASSERT_EQ(Http(b, "POST", "/api/upload/confirm/" + id, "", as(owner)).status, 200);
  StartWorker(&worker, "acc-worker");
  std::string status;
  for (int i = 0; i < 1200 && status != "READY" && status != "ERROR"; ++i) {
    HttpResponse r = Http(a, "GET", "/api/videos/" + id + "/status", "", as(owner));
    status = r.status == 200 ? Str(Json(r).at("data"), "status") : "";
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_EQ(status, "READY") << ReadFile(TempDir() + "/acc-worker.log");

  for (int port : {a, b}) {
    EXPECT_EQ(Http(port, "GET", "/api/videos/" + id, "", as(other)).status, 404);
    EXPECT_EQ(Http(port, "GET", "/api/videos/" + id).status, 404);
    EXPECT_EQ(Http(port, "GET", "/media/" + id + "/master.m3u8").status, 404);
    EXPECT_EQ(Http(port, "GET", "/api/videos", "", as(other)).body.find(id), std::string::npos);
  }
  HttpResponse pb = Http(a, "GET", "/api/videos/" + id + "/playback", "", as(owner));
  ASSERT_EQ(pb.status, 200) << pb.body;
  const std::string hls = ParseUrl(Str(Json(pb).at("data"), "hlsUrl")).target;
  ASSERT_EQ(hls.rfind("/media/t/", 0), 0u) << hls;
  ProcessResult play = RunProcess({"ffmpeg", "-v", "error", "-i", "http://127.0.0.1:" + std::to_string(b) + hls, "-map",
                                   "0", "-f", "null", "-"});
  EXPECT_EQ(play.exit_code, 0) << "signed by api A, played through api B: " << play.err;
}

TEST_F(ScaleOutTest, AnUnreachableDependencyIsNamedAtStart) {
  const std::string dir = TempDir() + "/bad";
  fs::create_directories(dir);
  for (const auto& [var, value, name] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none", "PostgreSQL"},
           {"REDIS_URL", "redis://127.0.0.1:1/0", "Redis"},
           {"S3_ENDPOINT", "http://127.0.0.1:1", "S3"}}) {
    std::vector<std::string> argv = {"env", var + "=" + value};
    if (var == "S3_ENDPOINT") {
      argv.push_back("S3_BUCKET=b");
      argv.push_back("S3_ACCESS_KEY_ID=k");
      argv.push_back("S3_SECRET_ACCESS_KEY=s");
    }
    argv.push_back("DATA_DIR=" + dir);
    argv.push_back("PORT=0");
    argv.push_back(Binary());
    argv.push_back("api");
    ProcessResult r = RunProcess(argv);
    EXPECT_NE(r.exit_code, 0) << var;
    EXPECT_NE(r.err.find(name), std::string::npos) << var << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace
}  // namespace vs::testing
