// Job-claim benchmark through the db::Database seam (bench/scaleout.sh,
// part "claims"): enqueue N jobs the way the API does (a video row, then
// ConfirmUpload: UPLOADED + a queued job in one transaction), then T threads
// each Claim -> Complete in a loop until the queue is empty. Prints one line
// of `key=value` figures: claims per second over the claim phase, and the
// latency of each Claim call (p50/p99/max) and of each Complete call.
//
//   queue_bench --sqlite /tmp/q.db --jobs 1000 --threads 2
//   queue_bench --postgres postgresql://postgres@127.0.0.1:55532/bench --jobs 1000 --threads 4
//
// The database must be empty (a fresh file or a fresh PostgreSQL database):
// the claim phase runs until Claim finds nothing, and then checks that every
// enqueued job was claimed exactly once. Only the queue is exercised (no
// status transitions of the video, no heartbeats): what a worker's loop
// costs the database around the transcode itself.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "core/video.h"
#include "db/database.h"
#include "db/postgres_database.h"
#include "db/sqlite_database.h"

namespace {

using Micros = std::chrono::duration<double, std::micro>;
using SteadyClock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "queue_bench: %s\n", msg.c_str());
  std::exit(1);
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  std::string sqlite_path, pg_url;
  int jobs = 1000, threads = 1, enqueue_threads = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--sqlite") {
      sqlite_path = next();
    } else if (a == "--postgres") {
      pg_url = next();
    } else if (a == "--jobs") {
      jobs = std::atoi(next().c_str());
    } else if (a == "--threads") {
      threads = std::atoi(next().c_str());
    } else if (a == "--enqueue-threads") {
      enqueue_threads = std::atoi(next().c_str());
    } else if (a == "-h" || a == "--help") {
      std::printf("usage: queue_bench (--sqlite PATH | --postgres URL) [--jobs N] [--threads T] [--enqueue-threads E]\n");
      return 0;
    } else {
      Die("unknown argument " + a + " (try --help)");
    }
  }
  if (sqlite_path.empty() == pg_url.empty()) Die("give exactly one of --sqlite PATH or --postgres URL");
  if (jobs < 1 || threads < 1 || enqueue_threads < 1) Die("--jobs, --threads and --enqueue-threads must be >= 1");

  const vs::Clock& clock = vs::SystemClock::Instance();
  std::unique_ptr<vs::db::Database> db;
  if (!sqlite_path.empty()) {
    auto r = vs::db::SqliteDatabase::Open(sqlite_path, clock);
    if (!r.ok()) Die("sqlite: " + r.error().message);
    db = std::move(*r);
  } else {
    // The production pool (4) unless more claiming threads than that.
    vs::db::PostgresOptions o;
    o.pool_size = std::max(o.pool_size, threads);
    auto r = vs::db::OpenPostgres(pg_url, clock, o);
    if (!r.ok()) Die("postgres: " + r.error().message);
    db = std::move(*r);
  }

  // --- enqueue: one video + ConfirmUpload per job ------------------------
  std::atomic<int> next_job{0};
  std::atomic<bool> failed{false};
  const auto e0 = SteadyClock::now();
  {
    std::vector<std::thread> ts;
    for (int t = 0; t < enqueue_threads; ++t) {
      ts.emplace_back([&] {
        while (!failed) {
          const int n = next_job++;
          if (n >= jobs) return;
          vs::Video v;
          v.id = vs::NewId(clock.NowMs());
          v.title = "bench " + std::to_string(n);
          v.file_name = "bench.mp4";
          v.file_type = "video/mp4";
          v.file_size = 1 << 20;
          v.status = vs::VideoStatus::kUploading;
          if (auto s = db->videos().Create(v); !s.ok()) {
            std::fprintf(stderr, "queue_bench: create: %s\n", s.error().message.c_str());
            failed = true;
            return;
          }
          // An S3-style ETag of the checked upload, as the API passes it.
          auto c = db->videos().ConfirmUpload(v.id, "\"d41d8cd98f00b204e9800998ecf8427e\"");
          if (!c.ok() || !c->has_value() || !(*c)->enqueued) {
            std::fprintf(stderr, "queue_bench: confirm: %s\n", c.ok() ? "not enqueued" : c.error().message.c_str());
            failed = true;
            return;
          }
        }
      });
    }
    for (auto& t : ts) t.join();
  }
  if (failed) return 1;
  const double enqueue_s = std::chrono::duration<double>(SteadyClock::now() - e0).count();

  // --- claim phase: T threads, Claim -> Complete until empty -------------
  std::mutex mu;
  std::vector<double> claim_us, complete_us, empty_us;
  std::multiset<int64_t> claimed;
  std::atomic<bool> start{false};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      const std::string worker = "bench-worker-" + std::to_string(t);
      std::vector<double> my_claim, my_complete;
      std::vector<int64_t> my_ids;
      double my_empty = 0;
      while (!start) std::this_thread::yield();
      while (!failed) {
        const auto c0 = SteadyClock::now();
        auto job = db->jobs().Claim(worker, 60000);
        const auto c1 = SteadyClock::now();
        if (!job.ok()) {
          std::fprintf(stderr, "queue_bench: claim: %s\n", job.error().message.c_str());
          failed = true;
          break;
        }
        if (!job->has_value()) {
          my_empty = Micros(c1 - c0).count();
          break;
        }
        my_claim.push_back(Micros(c1 - c0).count());
        my_ids.push_back((*job)->id);
        auto done = db->jobs().Complete((*job)->id, worker);
        const auto c2 = SteadyClock::now();
        if (!done.ok() || !*done) {
          std::fprintf(stderr, "queue_bench: complete: %s\n", done.ok() ? "not owned" : done.error().message.c_str());
          failed = true;
          break;
        }
        my_complete.push_back(Micros(c2 - c1).count());
      }
      std::lock_guard lock(mu);
      claim_us.insert(claim_us.end(), my_claim.begin(), my_claim.end());
      complete_us.insert(complete_us.end(), my_complete.begin(), my_complete.end());
      claimed.insert(my_ids.begin(), my_ids.end());
      empty_us.push_back(my_empty);
    });
  }
  const auto t0 = SteadyClock::now();
  start = true;
  for (auto& t : ts) t.join();
  const double claim_s = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  if (failed) return 1;

  const std::set<int64_t> distinct(claimed.begin(), claimed.end());
  if (static_cast<int>(claimed.size()) != jobs || distinct.size() != claimed.size()) {
    std::fprintf(stderr, "queue_bench: %zu claims of %zu distinct jobs for %d enqueued\n", claimed.size(),
                 distinct.size(), jobs);
    return 1;
  }
  const size_t n = claim_us.size();
  std::printf(
      "adapter=%s threads=%d jobs=%d enqueue_s=%.3f enqueue_per_s=%.1f claim_s=%.3f claims_per_s=%.1f "
      "claim_p50_ms=%.3f claim_p99_ms=%.3f claim_max_ms=%.3f complete_p50_ms=%.3f complete_p99_ms=%.3f\n",
      sqlite_path.empty() ? "postgres" : "sqlite", threads, jobs, enqueue_s, jobs / enqueue_s, claim_s,
      static_cast<double>(n) / claim_s, Percentile(claim_us, 0.50) / 1000, Percentile(claim_us, 0.99) / 1000,
      Percentile(claim_us, 1.0) / 1000, Percentile(complete_us, 0.50) / 1000, Percentile(complete_us, 0.99) / 1000);
  return 0;
}
