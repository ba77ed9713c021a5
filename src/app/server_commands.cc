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
#include "app/operations.h"
#include "core/clock.h"
#include "core/event_bus.h"
#include "core/hmac.h"
#include "core/json_text.h"
#include "core/metrics.h"
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
#include "service/access.h"
#include "service/auth_service.h"
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

// The S3 endpoint browsers upload to (presigned PUTs); "" without S3. As
// the store builds it: the public endpoint, else the endpoint, else AWS's.
std::string S3BrowserEndpoint(const S3Config& s3) {
  if (s3.bucket.empty()) return "";
  if (!s3.public_endpoint.empty()) return s3.public_endpoint;
  return s3.endpoint.empty() ? "https://s3." + s3.region + ".amazonaws.com" : s3.endpoint;
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
  std::unique_ptr<service::AuthService> auth;
  std::string secret;
  // Every breaker of this process, for /metrics.
  std::vector<std::shared_ptr<resilience::CircuitBreaker>> breakers;

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
    breakers.push_back(std::make_shared<resilience::CircuitBreaker>("database", bo, clock));
    breakers.push_back(std::make_shared<resilience::CircuitBreaker>("storage", bo, clock));
    guarded_db = GuardDatabase(*db, breakers[0]);
    guarded_store = GuardStore(*store, breakers[1]);
    service::UrlConfig urls{cfg.public_url, cfg.cdn_base_url,
                            HmacSha256Hex(secret, "visionsync playback urls"), cfg.playback_ttl_s};
    svc = std::make_unique<service::VideoService>(*guarded_db.videos, *guarded_db.notifications, *guarded_store, bus,
                                                  clock, std::move(urls), guarded_db.jobs.get());
    service::AuthOptions ao;
    ao.session_ttl_ms = cfg.session_ttl_s * 1000;
    ao.registration_open = cfg.registration_open;
    auth = std::make_unique<service::AuthService>(*guarded_db.users, *guarded_db.sessions, clock, ao);
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

  // A process without live clients of its own (a worker, the jobs command)
  // shares its status events with the servers: through Redis when set,
  // else through the database's event log.
  struct EventSharing {
    std::unique_ptr<service::EventOutbox> outbox;
    std::unique_ptr<redis::RedisEventFanout> fanout;
  };
  EventSharing ShareEvents() {
    EventSharing s;
    if (redis) {
      s.fanout = std::make_unique<redis::RedisEventFanout>(redis_options, bus, nullptr, SystemClock::Instance());
      s.fanout->Start();
    } else {
      s.outbox = std::make_unique<service::EventOutbox>(db->events(), bus, SystemClock::Instance(), ProcessId());
    }
    return s;
  }

  // The gauges every role exports, and the readiness of its dependencies.
  void AddOperations(metrics::Registry& registry) {
    AddQueueMetrics(registry, db->jobs(), SystemClock::Instance());
    AddBreakerMetrics(registry, breakers);
  }
  std::vector<api::ReadinessCheck> Readiness() {
    return ReadinessChecks(*db, *store, redis_limits.get());
  }
  std::unique_ptr<StuckJobWatch> WatchStuckJobs() {
    auto w = std::make_unique<StuckJobWatch>(db->jobs(), SystemClock::Instance(), cfg.job_stuck_s * 1000,
                                             [](const std::string& m) { LogEvent(spdlog::level::warn, m); });
    w->Start();
    return w;
  }

  worker::WorkerOptions WorkerOpts(metrics::Registry* registry) const {
    worker::WorkerOptions w;
    w.transcoder_binary = SelfPath();
    w.scratch_dir = cfg.data_dir + "/work";
    w.worker_id = ProcessId();
    w.lease_ms = cfg.job_lease_s * 1000;
    w.heartbeat_ms = std::max<int64_t>(500, w.lease_ms / 4);
    w.max_memory_mb = cfg.transcode_max_memory_mb;
    w.max_seconds = cfg.transcode_max_seconds;
    w.metrics = registry;
    w.log = [](const std::string& line) { LogEvent(spdlog::level::warn, line); };
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
  if (core.redis) {
    core.breakers.push_back(
        std::make_shared<resilience::CircuitBreaker>("redis", core.Breaker(), SystemClock::Instance()));
  }
  std::unique_ptr<ratelimit::RateLimiter> limiter =
      core.redis ? ratelimit::NewRedisRateLimiter(*core.redis_limits, *tiers, SystemClock::Instance(), nullptr,
                                                  core.breakers.back())
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
  ac.metrics_token = cfg.metrics_token;
  ac.anonymous_uploads = cfg.anonymous_uploads;
  ac.session_ttl_s = cfg.session_ttl_s;
  ac.playback_ttl_s = cfg.playback_ttl_s;
  for (const std::string& url : {cfg.cdn_base_url, S3BrowserEndpoint(cfg.s3)})
    if (!url.empty()) ac.content_urls.push_back(url);
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
  // A socket's identity: "<user id>" ("<user id>!" for admins), "" anonymous.
  ro.identify = [&core](const http::Headers& headers, const boost::json::object* auth) -> std::string {
    std::string token;
    if (auth)
      if (const auto* t = auth->if_contains("token"); t && t->is_string()) token = std::string(t->as_string());
    if (token.empty()) token = api::SessionToken(headers);
    if (token.empty()) return "";
    auto who = core.auth->Authenticate(token);
    if (!who.ok() || !who->has_value()) return "";
    return (**who).user.id + ((**who).user.is_admin ? "!" : "");
  };
  ro.may_join = [&core](const std::string& identity, std::string_view kind, std::string_view id) {
    service::Viewer viewer;
    viewer.admin = identity.ends_with('!');
    viewer.user_id = viewer.admin ? identity.substr(0, identity.size() - 1) : identity;
    if (kind == "user") return !viewer.anonymous() && id == viewer.user_id;
    auto v = core.svc->Get(std::string(id));
    return v.ok() && v->has_value() && service::CanView(viewer, **v);
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
  api.SetAuth(core.auth.get());
  metrics::Registry registry;
  api.SetOperations(&registry, core.Readiness());
  core.AddOperations(registry);
  metrics::Family& connections =
      registry.Gauge("visionsync_realtime_connections", "Live realtime clients, by transport.");
  registry.AddCollector([&rt, &connections] {
    const auto n = rt.connection_counts();
    connections.Set({{"transport", "polling"}}, n.polling);
    connections.Set({{"transport", "websocket"}}, n.websocket);
    connections.Set({{"transport", "sse"}}, n.sse);
  });
  api.SetAccessLog([](const std::string& line) { spdlog::info(line); },
                   [] { return spdlog::should_log(spdlog::level::info); });
  http::Router router;
  rt.Register(router);
  api.Register(router);
  http::ServerOptions so;
  so.host = cfg.host;
  so.port = cfg.port;
  so.threads = cfg.http_threads;
  so.upload_idle_timeout_ms = cfg.upload_idle_timeout_s * 1000;
  so.upload_min_bytes_per_s = cfg.upload_min_bytes_per_s;
  so.upload_rate_grace_ms = cfg.upload_rate_grace_s * 1000;
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
    pool = std::make_unique<worker::WorkerPool>(core.WorkerOpts(&registry), *core.guarded_db.jobs, *core.svc,
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
  std::unique_ptr<StuckJobWatch> stuck;
  if (pool) {
    core.db->StartJobListener([p = pool.get()] { p->Wake(); });  // jobs confirmed through other api processes
    pool->Start(cfg.workers);
    stuck = core.WatchStuckJobs();
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

// A worker's own small HTTP server (METRICS_PORT): /healthz, /readyz and
// /metrics, behind the same middleware (rate limits, request metrics).
struct OpsServer {
  std::unique_ptr<ratelimit::RateLimiter> limiter;
  std::unique_ptr<api::Api> api;
  http::Router router;
  std::unique_ptr<http::Server> server;
  std::thread thread;

  static Result<std::unique_ptr<OpsServer>> Start(Core& core, metrics::Registry& registry) {
    auto ops = std::make_unique<OpsServer>();
    ops->limiter = ratelimit::NewMemoryRateLimiter(ratelimit::DefaultTiers(), SystemClock::Instance());
    api::ApiConfig ac;
    ac.metrics_token = core.cfg.metrics_token;
    ac.trust_proxy = core.cfg.trust_proxy;
    ops->api = std::make_unique<api::Api>(ac, *core.svc, *ops->limiter, SystemClock::Instance());
    ops->api->SetOperations(&registry, core.Readiness());
    ops->api->RegisterOperations(ops->router);
    http::ServerOptions so;
    so.host = core.cfg.host;
    so.port = core.cfg.metrics_port;
    so.threads = 1;
    ops->server = std::make_unique<http::Server>(so, ops->router, ops->api->MakeMiddleware());
    if (Status st = ops->server->Listen(); !st.ok())
      return MakeError("invalid_config", "METRICS_PORT: " + st.error().message);
    LogEvent(spdlog::level::info, "metrics on http://" + core.cfg.host + ":" + std::to_string(ops->server->port()) +
                                      "/metrics");
    ops->thread = std::thread([s = ops->server.get()] { s->Run(); });
    return ops;
  }
  void Stop() {
    server->Stop();
    if (thread.joinable()) thread.join();
  }
};

int RunWorker() {
  Core core;
  Status s = core.Open();
  if (!s.ok()) return Fatal(s.error().message);
  const int n = std::max(1, core.cfg.workers);
  // No live clients here: our status events go to the servers through the
  // database (they relay them to their Socket.IO and SSE clients).
  // (With Redis they go through it instead.)
  Core::EventSharing sharing = core.ShareEvents();
  metrics::Registry registry;
  core.AddOperations(registry);
  worker::WorkerPool pool(core.WorkerOpts(&registry), *core.guarded_db.jobs, *core.svc, *core.guarded_store);
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
  std::unique_ptr<StuckJobWatch> stuck = core.WatchStuckJobs();
  // /metrics, /healthz and /readyz of this worker on METRICS_PORT, if set.
  std::unique_ptr<OpsServer> ops;
  if (core.cfg.metrics_port > 0) {
    auto started = OpsServer::Start(core, registry);
    if (!started.ok()) {
      pool.Stop();
      return Fatal(started.error().message);
    }
    ops = std::move(*started);
  }
  LogEvent(spdlog::level::info, "worker started with " + std::to_string(n) + " threads on " + core.cfg.data_dir);
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done; });
  }
  LogEvent(spdlog::level::info, "worker shutting down; handing running jobs back");
  if (ops) ops->Stop();
  stuck.reset();
  core.db->StopJobListener();
  pool.Stop();
  watcher.join();
  return 0;
}

// `visionsync jobs ...`: an operator's view of the queue and the two
// actions on it. Works on the configured database and storage (the same
// environment as the servers), with or without servers running.
std::string Age(int64_t now_ms, int64_t then_ms) {
  const int64_t s = std::max<int64_t>(0, (now_ms - then_ms) / 1000);
  if (s < 120) return std::to_string(s) + "s";
  if (s < 7200) return std::to_string(s / 60) + "m";
  return std::to_string(s / 3600) + "h";
}

int RunJobsList(const std::string& state_name, int limit, bool as_json) {
  std::optional<JobState> state;
  if (!state_name.empty()) {
    for (JobState st : kAllJobStates)
      if (ToString(st) == state_name) state = st;
    if (!state) return Fatal("--state must be one of queued, running, done, failed, cancelled");
  }
  Core core;
  if (Status s = core.Open(); !s.ok()) return Fatal(s.error().message);
  auto jobs = core.db->jobs().List(state, limit);
  if (!jobs.ok()) return Fatal(jobs.error().message);
  const int64_t now = SystemClock::Instance().NowMs();
  for (const Job& j : *jobs) {
    if (as_json) {
      std::string line;
      json_text::Object(line)
          .Int("id", j.id)
          .String("videoId", j.video_id)
          .String("state", ToString(j.state))
          .Int("attempts", j.attempts)
          .Int("maxAttempts", j.max_attempts)
          .String("leaseOwner", j.lease_owner)
          .String("lastError", j.last_error)
          .String("createdAt", IsoTime(j.created_at_ms))
          .String("updatedAt", IsoTime(j.updated_at_ms));
      std::cout << line << "\n";
      continue;
    }
    std::cout << j.id << "  " << j.video_id << "  " << ToString(j.state) << "  attempt " << j.attempts << "/"
              << j.max_attempts << "  age " << Age(now, j.created_at_ms);
    if (j.state == JobState::kRunning) std::cout << "  on " << j.lease_owner;
    if (!j.last_error.empty()) std::cout << "  last error: " << j.last_error;
    std::cout << "\n";
  }
  if (!as_json && jobs->empty()) std::cout << "no jobs\n";
  return 0;
}

int RunJobsRetry(const std::string& video_id) {
  Core core;
  if (Status s = core.Open(); !s.ok()) return Fatal(s.error().message);
  Core::EventSharing sharing = core.ShareEvents();
  auto v = core.svc->Retry(video_id);
  if (!v.ok()) return Fatal(v.error().message);
  if (!v->has_value()) return Fatal("no video with id " + video_id);
  std::cout << "video " << video_id << " queued for another attempt\n";
  return 0;
}

int RunJobsCancel(const std::string& video_id) {
  Core core;
  if (Status s = core.Open(); !s.ok()) return Fatal(s.error().message);
  Core::EventSharing sharing = core.ShareEvents();
  auto job = core.db->jobs().LatestForVideo(video_id);
  if (!job.ok()) return Fatal(job.error().message);
  if (!job->has_value() || ((**job).state != JobState::kQueued && (**job).state != JobState::kRunning))
    return Fatal("video " + video_id + " has no queued or running job");
  auto cancelled = core.db->jobs().Cancel((**job).id);
  if (!cancelled.ok()) return Fatal(cancelled.error().message);
  // The video is failed with the reason, so it does not sit in UPLOADED or
  // PROCESSING; `jobs retry` (or POST /api/videos/:id/retry) starts it again.
  auto marked = core.svc->MarkError(video_id, "processing cancelled by an operator");
  if (!marked.ok()) return Fatal(marked.error().message);
  std::cout << "job " << (**job).id << " of video " << video_id << " cancelled\n";
  return 0;
}

// A password from standard input (one line), so it is in no process list or
// shell history.
std::string ReadPassword() {
  std::string line;
  std::getline(std::cin, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

int RunUserAdd(const std::string& email, const std::string& name, bool admin) {
  Core core;
  if (Status s = core.Open(); !s.ok()) return Fatal(s.error().message);
  auto u = core.auth->AddUser(email, ReadPassword(), name, admin);
  if (!u.ok()) return Fatal(u.error().message);
  std::cout << "user " << u->email << " (" << u->id << ")" << (u->is_admin ? " is an admin" : "") << "\n";
  return 0;
}

int RunUserSetAdmin(const std::string& email, bool off) {
  Core core;
  if (Status s = core.Open(); !s.ok()) return Fatal(s.error().message);
  auto done = core.auth->SetAdmin(email, !off);
  if (!done.ok()) return Fatal(done.error().message);
  if (!*done) return Fatal("no user with email " + email);
  std::cout << email << (off ? " is no longer an admin\n" : " is an admin\n");
  return 0;
}

int RunUserResetPassword(const std::string& email) {
  Core core;
  if (Status s = core.Open(); !s.ok()) return Fatal(s.error().message);
  auto done = core.auth->ResetPassword(email, ReadPassword());
  if (!done.ok()) return Fatal(done.error().message);
  if (!*done) return Fatal("no user with email " + email);
  std::cout << "password of " << email << " changed; every session of it ended\n";
  return 0;
}

void AddUserCommands(CLI::App& app, int* exit_code) {
  CLI::App* user = app.add_subcommand("user", "Manage accounts (operators); passwords are read from standard input");
  user->require_subcommand(1);
  user->footer(ConfigHelp());
  auto email = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>();
  auto admin = std::make_shared<bool>(false);
  CLI::App* add = user->add_subcommand("add", "Create an account (also when REGISTRATION=closed)");
  add->add_option("email", *email, "its email")->required();
  add->add_option("--name", *name, "its display name (default: the email before the @)");
  add->add_flag("--admin", *admin, "make it an admin");
  add->callback([=] { *exit_code = RunUserAdd(*email, *name, *admin); });
  auto off = std::make_shared<bool>(false);
  CLI::App* set_admin = user->add_subcommand("set-admin", "Make an account an admin (--off: no longer)");
  set_admin->add_option("email", *email, "its email")->required();
  set_admin->add_flag("--off", *off, "take admin rights away");
  set_admin->callback([=] { *exit_code = RunUserSetAdmin(*email, *off); });
  CLI::App* reset = user->add_subcommand("reset-password", "Set a new password and end every session of the account");
  reset->add_option("email", *email, "its email")->required();
  reset->callback([=] { *exit_code = RunUserResetPassword(*email); });
}

void AddJobCommands(CLI::App& app, int* exit_code) {
  CLI::App* jobs = app.add_subcommand("jobs", "Inspect and control the transcoding queue (operators)");
  jobs->require_subcommand(1);
  jobs->footer(ConfigHelp());
  CLI::App* list = jobs->add_subcommand("list", "Jobs, newest first");
  auto state = std::make_shared<std::string>();
  auto limit = std::make_shared<int>(50);
  auto as_json = std::make_shared<bool>(false);
  list->add_option("--state", *state, "only jobs in this state (queued, running, done, failed, cancelled)");
  list->add_option("--limit", *limit, "at most this many (1-1000, default 50)");
  list->add_flag("--json", *as_json, "one JSON object per line");
  list->callback([=] { *exit_code = RunJobsList(*state, *limit, *as_json); });
  auto video = std::make_shared<std::string>();
  CLI::App* retry = jobs->add_subcommand("retry", "Queue a video in ERROR again, with a fresh attempt budget");
  retry->add_option("video-id", *video, "the video")->required();
  retry->callback([=] { *exit_code = RunJobsRetry(*video); });
  auto cancel_video = std::make_shared<std::string>();
  CLI::App* cancel = jobs->add_subcommand("cancel", "Stop a video's queued or running job; the video goes to ERROR");
  cancel->add_option("video-id", *cancel_video, "the video")->required();
  cancel->callback([=] { *exit_code = RunJobsCancel(*cancel_video); });
}

}  // namespace

void AddServerCommands(CLI::App& app, int* exit_code) {
  AddJobCommands(app, exit_code);
  AddUserCommands(app, exit_code);
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
