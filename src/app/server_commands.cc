#include "app/server_commands.h"

#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <thread>

#include <spdlog/spdlog.h>

#include "api/api.h"
#include "app/config.h"
#include "app/guarded_adapters.h"
#include "core/clock.h"
#include "core/event_bus.h"
#include "core/hmac.h"
#include "core/json_text.h"
#include "core/time_format.h"
#include "db/postgres_database.h"
#include "db/sqlite_database.h"
#include "http/http.h"
#include "ratelimit/rate_limiter.h"
#include "ratelimit/redis_rate_limiter.h"
#include "redis/client.h"
#include "redis/event_fanout.h"
#include "realtime/realtime.h"
#include "service/event_relay.h"
#include "service/video_service.h"
#include "store/object_store.h"
#include "store/s3_store.h"
#include "worker/worker.h"

namespace vs::app {
namespace {

namespace fs = std::filesystem;

std::string SelfPath() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "visionsync" : p.string();
}

void SetupLogging(const std::string& level) {
  spdlog::set_pattern("%v");
  spdlog::set_level(spdlog::level::from_str(level));
}

// Lifecycle lines ({"time","level","msg"}) go to stdout whatever LOG_LEVEL
// says: operators and scripts wait for "listening on ...".
void LogEvent(spdlog::level::level_enum lvl, const std::string& msg) {
  const auto level = spdlog::level::to_string_view(lvl);
  std::string line;
  json_text::Object(line)
      .String("time", IsoTime(SystemClock::Instance().NowMs()))
      .String("level", std::string_view(level.data(), level.size()))
      .String("msg", msg);
  line += '\n';
  fwrite(line.data(), 1, line.size(), stdout);
  fflush(stdout);
}

// Blocks SIGINT/SIGTERM in every thread; a watcher thread runs `on_signal`.
std::thread WatchSignals(std::function<void()> on_signal) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return std::thread([set, on_signal] {
    int sig = 0;
    sigwait(&set, &sig);
    on_signal();
  });
}

// Everything both roles share: database, storage, events, the service.
struct Core {
  Config cfg;
  std::unique_ptr<db::Database> db;
  std::unique_ptr<store::ObjectStore> store;
  // What the rest of the program uses: the adapters behind circuit breakers.
  GuardedDatabase guarded_db;
  std::unique_ptr<store::ObjectStore> guarded_store;
  EventBus bus;  // what this process's services publish
  std::unique_ptr<redis::RedisClient> redis;
  // Rate limits sit on every request's path: their client waits less, so a
  // hung Redis costs little before the breaker routes around it.
  std::unique_ptr<redis::RedisClient> redis_limits;
  redis::RedisOptions redis_options;
  std::unique_ptr<service::VideoService> svc;
  std::string secret;

  Status Open() {
    VS_ASSIGN_OR_RETURN(cfg, ConfigFromEnv());
    SetupLogging(cfg.log_level);
    std::error_code ec;
    fs::create_directories(cfg.data_dir, ec);
    if (ec) return MakeError("invalid_config", "cannot create DATA_DIR " + cfg.data_dir + ": " + ec.message());
    VS_ASSIGN_OR_RETURN(secret, LoadOrCreateSecret(cfg.data_dir, cfg.webhook_secret));
    const Clock& clock = SystemClock::Instance();
    VS_TRY(OpenDatabase(clock));
    VS_TRY(OpenStore());
    VS_TRY(OpenRedis());
    const resilience::BreakerOptions bo = Breaker();
    guarded_db = GuardDatabase(db->videos(), db->notifications(), db->jobs(),
                               std::make_shared<resilience::CircuitBreaker>("database", bo, clock));
    guarded_store = GuardStore(*store, std::make_shared<resilience::CircuitBreaker>("storage", bo, clock));
    svc = std::make_unique<service::VideoService>(*guarded_db.videos, *guarded_db.notifications, *guarded_store, bus,
                                                  clock, service::UrlConfig{cfg.public_url, cfg.cdn_base_url});
    return {};
  }

  // A dependency that is configured but cannot be reached at start is
  // named in one line, and the process exits (the caller prints it).
  Status OpenDatabase(const Clock& clock) {
    if (cfg.database_url.empty()) {
      VS_ASSIGN_OR_RETURN(db, db::SqliteDatabase::Open(cfg.data_dir + "/visionsync.db", clock));
      return {};
    }
    auto pg = db::OpenPostgres(cfg.database_url, clock);
    if (!pg.ok()) return MakeError("unavailable", "PostgreSQL (DATABASE_URL): " + pg.error().message);
    db = std::move(*pg);
    return {};
  }

  Status OpenRedis() {
    if (cfg.redis_url.empty()) return {};
    VS_ASSIGN_OR_RETURN(redis_options, redis::ParseRedisUrl(cfg.redis_url));
    redis = std::make_unique<redis::RedisClient>(redis_options);
    if (Status st = redis->Ping(); !st.ok())
      return MakeError("unavailable", "Redis (REDIS_URL): " + st.error().message);
    redis::RedisOptions quick = redis_options;
    quick.connect_timeout_ms = 250;
    quick.command_timeout_ms = 250;
    redis_limits = std::make_unique<redis::RedisClient>(quick);
    return {};
  }

  resilience::BreakerOptions Breaker() const {
    resilience::BreakerOptions bo;
    bo.open_ms = cfg.breaker_open_s * 1000;
    return bo;
  }

  Status OpenStore() {
    if (cfg.s3.bucket.empty()) {
      VS_ASSIGN_OR_RETURN(store, store::NewLocalStore(cfg.data_dir + "/storage"));
      return {};
    }
    store::S3Options o;
    o.bucket = cfg.s3.bucket;
    o.endpoint = cfg.s3.endpoint;
    o.public_endpoint = cfg.s3.public_endpoint;
    o.region = cfg.s3.region;
    o.access_key_id = cfg.s3.access_key_id;
    o.secret_access_key = cfg.s3.secret_access_key;
    o.force_path_style = cfg.s3.force_path_style;
    o.content_type_for = [](const std::string& key) { return api::MimeTypeFor(key); };
    auto s3 = store::NewS3Store(o);
    if (!s3.ok()) return MakeError("invalid_config", "S3 storage: " + s3.error().message);
    if (Status st = (*s3)->Check(); !st.ok()) {
      return MakeError("unavailable", "S3 storage (bucket " + o.bucket + " at " +
                                          (o.endpoint.empty() ? "AWS" : o.endpoint) + "): " + st.error().message);
    }
    store = std::move(*s3);
    return {};
  }

  // This process among those sharing the database: host and pid.
  static std::string ProcessId() {
    char host[128] = "host";
    gethostname(host, sizeof(host) - 1);
    return std::string(host) + "-" + std::to_string(getpid());
  }

  worker::WorkerOptions WorkerOpts() const {
    worker::WorkerOptions w;
    w.transcoder_binary = SelfPath();
    w.scratch_dir = cfg.data_dir + "/work";
    w.worker_id = ProcessId();
    w.lease_ms = cfg.job_lease_s * 1000;
    w.heartbeat_ms = std::max<int64_t>(500, w.lease_ms / 4);
    w.max_memory_mb = cfg.transcode_max_memory_mb;
    w.max_seconds = cfg.transcode_max_seconds;
    return w;
  }
};

// A start-up failure as the one line operators and scripts read.
int Fatal(const std::string& what) {
  std::string line = what;
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  while (!line.empty() && line.back() == ' ') line.pop_back();
  std::cerr << "visionsync: " << line << "\n";
  return 1;
}

int RunServe(bool with_workers) {
  Core core;
  Status s = core.Open();
  if (!s.ok()) return Fatal(s.error().message);
  const Config& cfg = core.cfg;
  auto tiers = ratelimit::ParseTiers(cfg.rate_limits, ratelimit::DefaultTiers());
  if (!tiers.ok()) {
    std::cerr << "visionsync: RATE_LIMITS: " << tiers.error().message << "\n";
    return 1;
  }
  // With Redis every api process counts against the same windows; while
  // Redis is away each one falls back to its own (behind a breaker).
  std::unique_ptr<ratelimit::RateLimiter> limiter =
      core.redis ? ratelimit::NewRedisRateLimiter(
                       *core.redis_limits, *tiers, SystemClock::Instance(), nullptr,
                       std::make_shared<resilience::CircuitBreaker>("redis", core.Breaker(), SystemClock::Instance()))
                 : ratelimit::NewMemoryRateLimiter(*tiers, SystemClock::Instance());
  // Live events: with Redis, every event (ours and every other process's)
  // comes back through it, numbered once for all api processes; without it,
  // ours go straight to our clients and other processes' through the database.
  EventBus delivery_bus;
  std::unique_ptr<redis::RedisEventFanout> fanout;
  if (core.redis) {
    fanout = std::make_unique<redis::RedisEventFanout>(core.redis_options, core.bus, &delivery_bus,
                                                       SystemClock::Instance());
  }
  EventBus& live = fanout ? delivery_bus : core.bus;
  api::ApiConfig ac;
  ac.public_url = cfg.public_url;
  ac.frontend_url = cfg.frontend_url;
  ac.webhook_secret = core.secret;
  ac.upload_secret = HmacSha256Hex(core.secret, "visionsync upload urls");
  ac.max_upload_bytes = cfg.max_upload_bytes;
  ac.presign_ttl_s = cfg.upload_url_ttl_s;
  ac.trust_proxy = cfg.trust_proxy;
  ac.web_dist = cfg.web_dist;
  if (ac.web_dist.empty()) {
    const fs::path guess = fs::path(SelfPath()).parent_path().parent_path() / "web" / "dist";
    std::error_code ec;
    if (fs::exists(guess / "index.html", ec)) ac.web_dist = guess.string();
  }
  realtime::RealtimeOptions ro;
  ro.cors_origin = cfg.frontend_url;
  ro.trust_proxy = cfg.trust_proxy;
  ro.video_exists = [&core](const std::string& id) -> Result<bool> {
    VS_ASSIGN_OR_RETURN(std::optional<Video> v, core.svc->Get(id));
    return v.has_value();
  };
  // Declared before the server: it must outlive the connections it owns.
  if (fanout) {
    ro.history = [f = fanout.get()](const std::string& id) {
      auto recent = f->Recent(id);
      return recent.ok() ? std::move(*recent) : std::vector<Event>{};
    };
  }
  realtime::RealtimeServer rt(ro, live, SystemClock::Instance());
  api::Api api(ac, *core.svc, *limiter, SystemClock::Instance());
  api.SetAccessLog([](const std::string& line) { spdlog::info(line); },
                   [] { return spdlog::should_log(spdlog::level::info); });
  http::Router router;
  rt.Register(router);
  api.Register(router);
  http::ServerOptions so;
  so.host = cfg.host;
  so.port = cfg.port;
  so.threads = cfg.http_threads;
  http::Server server(so, router, api.MakeMiddleware());
  server.SetUpgradeHandler(rt.upgrade_handler());
  api.SetConnectionCounter([&rt] { return rt.connection_count(); });
  s = server.Listen();
  if (!s.ok()) {
    std::cerr << "visionsync: " << s.error().message << "\n";
    return 1;
  }
  std::unique_ptr<worker::WorkerPool> pool;
  if (with_workers && cfg.workers > 0) {
    pool = std::make_unique<worker::WorkerPool>(core.WorkerOpts(), *core.guarded_db.jobs, *core.svc,
                                                *core.guarded_store);
    core.svc->SetJobListener([p = pool.get()] { p->Wake(); });
  }
  std::thread watcher = WatchSignals([&] {
    LogEvent(spdlog::level::info, "shutting down");
    rt.Shutdown();  // answers held polls and closes WebSockets, so Stop need not wait for them
    server.Stop();
  });
  // Without Redis, events cross processes through the database: the relay
  // brings other processes' events (separate workers, other api processes)
  // to our clients. An `api` process also writes its own events there, so
  // clients of its peers see uploads and confirmations made through it; an
  // all-in-one `serve` skips that write (its events reach its clients
  // directly, and separate workers write theirs).
  service::EventRelay relay(core.db->events(), core.bus, Core::ProcessId());
  std::unique_ptr<service::EventOutbox> outbox;
  if (fanout) {
    fanout->Start();
  } else {
    if (!with_workers) {
      outbox = std::make_unique<service::EventOutbox>(core.db->events(), core.bus, SystemClock::Instance(),
                                                      Core::ProcessId());
    }
    relay.Start();
  }
  if (pool) {
    core.db->StartJobListener([p = pool.get()] { p->Wake(); });  // jobs confirmed through other api processes
    pool->Start(cfg.workers);
  }
  LogEvent(spdlog::level::info, "listening on http://" + cfg.host + ":" + std::to_string(server.port()) +
                                    " (data in " + cfg.data_dir + ", " + std::to_string(pool ? cfg.workers : 0) +
                                    " workers" + (ac.web_dist.empty() ? ", no web UI" : ", web UI from " + ac.web_dist) + ")");
  server.Run();
  relay.Stop();
  if (fanout) fanout->Stop();
  rt.Shutdown();
  core.db->StopJobListener();
  if (pool) pool->Stop();  // running jobs go back to the queue
  LogEvent(spdlog::level::info, "stopped");
  watcher.detach();
  return 0;
}

int RunWorker() {
  Core core;
  Status s = core.Open();
  if (!s.ok()) return Fatal(s.error().message);
  const int n = std::max(1, core.cfg.workers);
  // No live clients here: our status events go to the servers through the
  // database (they relay them to their Socket.IO and SSE clients).
  // (With Redis they go through it instead.)
  std::unique_ptr<service::EventOutbox> outbox;
  std::unique_ptr<redis::RedisEventFanout> fanout;
  if (core.redis) {
    fanout = std::make_unique<redis::RedisEventFanout>(core.redis_options, core.bus, nullptr,
                                                       SystemClock::Instance());
    fanout->Start();
  } else {
    outbox = std::make_unique<service::EventOutbox>(core.db->events(), core.bus, SystemClock::Instance(),
                                                    Core::ProcessId());
  }
  worker::WorkerPool pool(core.WorkerOpts(), *core.guarded_db.jobs, *core.svc, *core.guarded_store);
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread watcher = WatchSignals([&] {
    std::lock_guard lock(mu);
    done = true;
    cv.notify_all();
  });
  core.db->StartJobListener([&pool] { pool.Wake(); });  // PostgreSQL NOTIFY; SQLite polls
  pool.Start(n);
  LogEvent(spdlog::level::info, "worker started with " + std::to_string(n) + " threads on " + core.cfg.data_dir);
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done; });
  }
  LogEvent(spdlog::level::info, "worker shutting down; handing running jobs back");
  core.db->StopJobListener();
  pool.Stop();
  watcher.join();
  return 0;
}

}  // namespace

void AddServerCommands(CLI::App& app, int* exit_code) {
  const std::string env_help = ConfigHelp();
  CLI::App* serve = app.add_subcommand("serve", "Run the whole product: API, media, web UI and embedded workers");
  serve->footer(env_help);
  serve->callback([exit_code] { *exit_code = RunServe(true); });
  CLI::App* api = app.add_subcommand("api", "Run the API, media and web UI without workers (scale-out front end)");
  api->footer(env_help);
  api->callback([exit_code] { *exit_code = RunServe(false); });
  CLI::App* worker = app.add_subcommand("worker", "Run transcoding workers against the shared database and storage");
  worker->footer(env_help);
  worker->callback([exit_code] { *exit_code = RunWorker(); });
}

}  // namespace vs::app
