// Configuration of the server and worker roles, read from the environment
// (the only place that reads it; everything below app gets this struct).
#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"

namespace vs::app {

struct S3Config {
  std::string bucket;
  std::string endpoint;         // empty = AWS's regional endpoint
  std::string public_endpoint;  // host in URLs handed to browsers; empty = endpoint
  std::string region = "us-east-1";
  std::string access_key_id;
  std::string secret_access_key;
  bool force_path_style = false;
};

struct Config {
  std::string host = "0.0.0.0";
  int port = 8080;
  std::string data_dir = "./data";
  std::string public_url;
  std::string cdn_base_url;
  std::string frontend_url;
  std::string log_level = "info";
  std::string webhook_secret;  // generated and stored under data_dir when unset
  int workers = 1;
  int http_threads = 2;
  int64_t max_upload_bytes = 5LL << 30;
  int64_t upload_url_ttl_s = 3600;
  // An upload body that sends nothing for upload_idle_timeout_s, or averages
  // under upload_min_bytes_per_s once upload_rate_grace_s have passed, is
  // answered 408 and discarded.
  int64_t upload_idle_timeout_s = 60;
  int64_t upload_min_bytes_per_s = 1024;
  int64_t upload_rate_grace_s = 60;
  std::string rate_limits;  // overrides, "upload=50/900,streaming=1000/60"
  bool trust_proxy = false;
  int64_t job_lease_s = 60;
  int64_t transcode_max_memory_mb = 4096;
  int64_t transcode_max_seconds = 3600;
  std::string web_dist;  // default: web/dist beside the binary's source tree, if built
  int64_t breaker_open_s = 60;  // a tripped circuit breaker probes again after this
  std::string metrics_token;     // /metrics wants "Authorization: Bearer <it>"; empty = loopback only
  int metrics_port = 0;          // `visionsync worker`: serve /metrics, /healthz, /readyz here (0 = off)
  int64_t job_stuck_s = 900;     // a job queued or running longer is logged as stuck
  // Accounts (docs/accounts.md).
  bool registration_open = true;     // REGISTRATION=open|closed
  bool anonymous_uploads = false;    // ANONYMOUS_UPLOADS: the original's open flow
  int64_t session_ttl_s = 30LL * 24 * 3600;
  int64_t playback_ttl_s = 4 * 3600;

  // Scale-out adapters; each one empty = the embedded default.
  std::string database_url;  // postgresql://... (else SQLite in data_dir)
  S3Config s3;               // s3.bucket set = object storage on S3 (else local disk)
  std::string redis_url;     // redis://... (else in-process limits and events)
};

// Reads every variable; an invalid value (e.g. PORT=abc) is an error naming it.
Result<Config> ConfigFromEnv();
// One line per variable with its meaning and default, for --help.
std::string ConfigHelp();
// WEBHOOK_SECRET, or the one stored in data_dir (created on first use, mode 0600).
Result<std::string> LoadOrCreateSecret(const std::string& data_dir, const std::string& configured);

}  // namespace vs::app
