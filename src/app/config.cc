#include "app/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/ids.h"

namespace vs::app {
namespace {

struct Var {
  const char* name;
  const char* help;
};
constexpr Var kVars[] = {
    {"PORT", "HTTP port (default 8080)"},
    {"HOST", "address to listen on (default 0.0.0.0)"},
    {"DATA_DIR", "database, uploads and outputs (default ./data)"},
    {"PUBLIC_URL", "how clients reach the server, e.g. https://video.example.com (default: from the request's Host)"},
    {"CDN_BASE_URL", "media URLs point here instead of this server (a CDN whose origin is this server)"},
    {"FRONTEND_URL", "CORS origin allowed to call the API (default *)"},
    {"LOG_LEVEL", "debug, info, warn or error (default info)"},
    {"WEBHOOK_SECRET", "HMAC key for webhooks and upload URLs (default: generated into DATA_DIR/webhook_secret)"},
    {"WORKERS", "embedded transcoding workers (default 1; 0 = API only)"},
    {"HTTP_THREADS", "HTTP threads (default 2)"},
    {"MAX_UPLOAD_BYTES", "largest accepted upload (default 5368709120)"},
    {"UPLOAD_URL_TTL_SECONDS", "lifetime of a presigned upload URL (default 3600)"},
    {"UPLOAD_IDLE_SECONDS", "an upload that sends nothing for this long gets 408 (default 60)"},
    {"UPLOAD_MIN_BYTES_PER_SEC", "an upload averaging fewer bytes/s after the grace gets 408 (default 1024; 0 = none)"},
    {"UPLOAD_RATE_GRACE_SECONDS", "the minimum average applies from this long after the body began (default 60)"},
    {"RATE_LIMITS", "rate-limit overrides, e.g. upload=50/900,streaming=1000/60 (limit/seconds)"},
    {"TRUST_PROXY", "1 to take the client address from X-Forwarded-For (default 0)"},
    {"JOB_LEASE_SECONDS", "a job whose worker stops heartbeating is retried after this (default 60)"},
    {"TRANSCODE_MAX_MEMORY_MB", "address-space limit of each transcoder process (default 4096)"},
    {"TRANSCODE_MAX_SECONDS", "wall-clock limit of each transcode (default 3600)"},
    {"WEB_DIST", "folder of the built web UI (default web/dist when present)"},
    {"BREAKER_OPEN_SECONDS", "a dependency that failed 5 times in a row is probed again after this (default 60)"},
    {"METRICS_TOKEN", "bearer token for GET /metrics (default: none, and only loopback clients may scrape)"},
    {"METRICS_PORT", "visionsync worker: serve /metrics, /healthz and /readyz on this port (default 0: off)"},
    {"JOB_STUCK_SECONDS", "a job queued or running for longer is logged as stuck (default 900)"},
    {"REGISTRATION", "open: anyone may create an account; closed: only operators (visionsync user add) (default open)"},
    {"ANONYMOUS_UPLOADS", "1: uploads without an account, and anyone may change videos without an owner (default 0)"},
    {"SESSION_TTL_SECONDS", "life of a sign-in session and its token (default 2592000, 30 days)"},
    {"PLAYBACK_TTL_SECONDS", "life of a private video's playback URLs (default 14400)"},
    {"DATABASE_URL", "postgresql://user:pass@host:port/db: PostgreSQL (default: SQLite in DATA_DIR)"},
    {"S3_BUCKET", "store uploads and outputs in this S3 bucket (default: local disk in DATA_DIR)"},
    {"S3_ENDPOINT", "S3-compatible server, e.g. http://127.0.0.1:4569 (default: AWS's regional endpoint)"},
    {"S3_PUBLIC_ENDPOINT", "the same server as browsers reach it, for presigned URLs (default S3_ENDPOINT)"},
    {"S3_REGION", "signing region (default us-east-1)"},
    {"S3_ACCESS_KEY_ID", "access key (default AWS_ACCESS_KEY_ID)"},
    {"S3_SECRET_ACCESS_KEY", "secret key (default AWS_SECRET_ACCESS_KEY)"},
    {"S3_FORCE_PATH_STYLE", "1: http://host/bucket/key addressing (default 1 when S3_ENDPOINT is set)"},
    {"REDIS_URL", "redis://[:pass@]host:port/db: shared rate limits and live events (default: in-process)"},
};

std::string Get(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

Status Int(const char* name, int64_t lo, int64_t hi, int64_t* out) {
  std::string v = Get(name);
  if (v.empty()) return {};
  char* end = nullptr;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (*end != '\0' || x < lo || x > hi) {
    return MakeError("invalid_config", std::string(name) + " must be a whole number from " +
                                           std::to_string(lo) + " to " + std::to_string(hi));
  }
  *out = x;
  return {};
}

}  // namespace

Result<Config> ConfigFromEnv() {
  Config c;
  int64_t v = c.port;
  VS_TRY(Int("PORT", 0, 65535, &v));
  c.port = static_cast<int>(v);
  if (!Get("HOST").empty()) c.host = Get("HOST");
  if (!Get("DATA_DIR").empty()) c.data_dir = Get("DATA_DIR");
  c.public_url = Get("PUBLIC_URL");
  c.cdn_base_url = Get("CDN_BASE_URL");
  c.frontend_url = Get("FRONTEND_URL");
  if (!Get("LOG_LEVEL").empty()) c.log_level = Get("LOG_LEVEL");
  c.webhook_secret = Get("WEBHOOK_SECRET");
  v = c.workers;
  VS_TRY(Int("WORKERS", 0, 64, &v));
  c.workers = static_cast<int>(v);
  v = c.http_threads;
  VS_TRY(Int("HTTP_THREADS", 1, 64, &v));
  c.http_threads = static_cast<int>(v);
  VS_TRY(Int("MAX_UPLOAD_BYTES", 1, int64_t{1} << 42, &c.max_upload_bytes));
  VS_TRY(Int("UPLOAD_URL_TTL_SECONDS", 1, 7 * 86400, &c.upload_url_ttl_s));
  VS_TRY(Int("UPLOAD_IDLE_SECONDS", 1, 86400, &c.upload_idle_timeout_s));
  VS_TRY(Int("UPLOAD_MIN_BYTES_PER_SEC", 0, int64_t{1} << 30, &c.upload_min_bytes_per_s));
  VS_TRY(Int("UPLOAD_RATE_GRACE_SECONDS", 1, 86400, &c.upload_rate_grace_s));
  c.rate_limits = Get("RATE_LIMITS");
  const std::string tp = Get("TRUST_PROXY");
  c.trust_proxy = tp == "1" || tp == "true" || tp == "yes";
  VS_TRY(Int("JOB_LEASE_SECONDS", 2, 86400, &c.job_lease_s));
  VS_TRY(Int("TRANSCODE_MAX_MEMORY_MB", 256, 1 << 20, &c.transcode_max_memory_mb));
  VS_TRY(Int("TRANSCODE_MAX_SECONDS", 10, 7 * 86400, &c.transcode_max_seconds));
  c.web_dist = Get("WEB_DIST");
  VS_TRY(Int("BREAKER_OPEN_SECONDS", 1, 3600, &c.breaker_open_s));
  c.metrics_token = Get("METRICS_TOKEN");
  v = c.metrics_port;
  VS_TRY(Int("METRICS_PORT", 0, 65535, &v));
  c.metrics_port = static_cast<int>(v);
  VS_TRY(Int("JOB_STUCK_SECONDS", 10, 30 * 86400, &c.job_stuck_s));
  const std::string registration = Get("REGISTRATION");
  if (!registration.empty() && registration != "open" && registration != "closed")
    return MakeError("invalid_config", "REGISTRATION must be open or closed");
  c.registration_open = registration != "closed";
  const std::string anonymous = Get("ANONYMOUS_UPLOADS");
  c.anonymous_uploads = anonymous == "1" || anonymous == "true" || anonymous == "yes";
  VS_TRY(Int("SESSION_TTL_SECONDS", 300, 365LL * 86400, &c.session_ttl_s));
  VS_TRY(Int("PLAYBACK_TTL_SECONDS", 60, 7 * 86400, &c.playback_ttl_s));
  c.database_url = Get("DATABASE_URL");
  if (!c.database_url.empty() && c.database_url.rfind("postgresql://", 0) != 0 &&
      c.database_url.rfind("postgres://", 0) != 0)
    return MakeError("invalid_config", "DATABASE_URL must start with postgresql:// (unset = SQLite in DATA_DIR)");
  c.s3.bucket = Get("S3_BUCKET");
  c.s3.endpoint = Get("S3_ENDPOINT");
  c.s3.public_endpoint = Get("S3_PUBLIC_ENDPOINT");
  if (!Get("S3_REGION").empty()) c.s3.region = Get("S3_REGION");
  c.s3.access_key_id = Get("S3_ACCESS_KEY_ID").empty() ? Get("AWS_ACCESS_KEY_ID") : Get("S3_ACCESS_KEY_ID");
  c.s3.secret_access_key =
      Get("S3_SECRET_ACCESS_KEY").empty() ? Get("AWS_SECRET_ACCESS_KEY") : Get("S3_SECRET_ACCESS_KEY");
  const std::string ps = Get("S3_FORCE_PATH_STYLE");
  c.s3.force_path_style = ps.empty() ? !c.s3.endpoint.empty() : (ps == "1" || ps == "true" || ps == "yes");
  if (!c.s3.bucket.empty() && (c.s3.access_key_id.empty() || c.s3.secret_access_key.empty()))
    return MakeError("invalid_config",
                     "S3_BUCKET is set but no credentials: set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY");
  for (const std::string* u : {&c.s3.endpoint, &c.s3.public_endpoint}) {
    if (!u->empty() && u->rfind("http://", 0) != 0 && u->rfind("https://", 0) != 0)
      return MakeError("invalid_config", "S3_ENDPOINT and S3_PUBLIC_ENDPOINT must start with http:// or https://");
  }
  c.redis_url = Get("REDIS_URL");
  if (!c.redis_url.empty() && c.redis_url.rfind("redis://", 0) != 0)
    return MakeError("invalid_config", "REDIS_URL must start with redis:// (unset = in-process)");
  for (const std::string* u : {&c.public_url, &c.cdn_base_url}) {
    if (!u->empty() && u->rfind("http://", 0) != 0 && u->rfind("https://", 0) != 0)
      return MakeError("invalid_config", "PUBLIC_URL and CDN_BASE_URL must start with http:// or https://");
  }
  return c;
}

std::string ConfigHelp() {
  std::ostringstream s;
  s << "Environment:\n";
  for (const auto& v : kVars) s << "  " << v.name << std::string(26 - std::string(v.name).size(), ' ') << v.help << "\n";
  return s.str();
}

Result<std::string> LoadOrCreateSecret(const std::string& data_dir, const std::string& configured) {
  if (!configured.empty()) {
    if (configured.size() < 16) return MakeError("invalid_config", "WEBHOOK_SECRET must have at least 16 characters");
    return configured;
  }
  const std::string path = data_dir + "/webhook_secret";
  std::ifstream in(path);
  std::string secret;
  if (in && std::getline(in, secret) && secret.size() >= 32) return secret;
  secret = RandomHex(32);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return MakeError("invalid_config", "cannot write " + path);
  const std::string line = secret + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return MakeError("invalid_config", "cannot write " + path);
  return secret;
}

}  // namespace vs::app
