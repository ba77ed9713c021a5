// A throwaway s3rver (npm, tests/node/node_modules/s3rver, pinned in
// tests/node/package-lock.json; install with scripts/setup-node-tests) on
// 127.0.0.1: its own data folder, one bucket created at start with a CORS
// rule that lets browsers PUT/GET/HEAD from any origin with Content-Type, and
// a port picked once and kept across Stop()/Start(), so clients configured
// with endpoint() see an outage and a recovery of the same server. The data
// folder is kept across a restart too (objects survive, as in real S3).
//
// s3rver accepts any SigV4 signature (docs/protocols.md 5.4b): tests against
// it prove requests, XML and flows, not signing.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"
#include "service_process.h"

namespace vs::testing {

// Thread-compatible (one owner, normally a test fixture). The process is
// stopped on destruction.
class S3rverServer {
 public:
  // Picks port and folder; does not start. With `log_requests` s3rver logs
  // every request to Log() (e.g. "Stored part 2 of <upload id> ...").
  explicit S3rverServer(std::string bucket = "videos", bool log_requests = false);
  ~S3rverServer();
  S3rverServer(const S3rverServer&) = delete;
  S3rverServer& operator=(const S3rverServer&) = delete;

  // False (with the reason) when node or the s3rver package is missing, so
  // tests can skip with a useful message instead of failing.
  static bool Available(std::string* why);

  // Starts s3rver (no-op when running) and waits until it accepts
  // connections; the bucket exists by then. Errors: "service_unavailable"
  // with the server's log.
  Status Start();
  // Stops it (SIGTERM to its own process group, then SIGKILL). Idempotent.
  void Stop();
  bool running() const { return process_ != nullptr; }

  int port() const { return port_; }
  // http://127.0.0.1:<port> (path-style addressing).
  std::string endpoint() const;
  // http://s3.localhost:<port>: with it, virtual-hosted addressing
  // (http://<bucket>.s3.localhost:<port>/<key>) works too; curl resolves
  // *.localhost to loopback by itself.
  std::string vhost_endpoint() const;
  const std::string& bucket() const { return bucket_; }
  // s3rver's built-in account.
  static constexpr const char* kAccessKeyId = "S3RVER";
  static constexpr const char* kSecretAccessKey = "S3RVER";
  std::string Log() const;

 private:
  std::string bucket_;
  bool log_requests_ = false;
  int port_ = 0;
  std::string dir_;
  std::unique_ptr<ServiceProcess> process_;
};

}  // namespace vs::testing
