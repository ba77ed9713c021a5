// A throwaway redis-server on 127.0.0.1 for tests: no persistence, its own
// folder, a port picked once and kept across Stop()/Start() so that clients
// configured with url() see an outage and a recovery of the same server.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"
#include "service_process.h"

namespace vs::testing {

// Thread-compatible (one owner, normally a test fixture). The process is
// stopped on destruction.
class RedisServer {
 public:
  RedisServer();  // picks the port; does not start
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts redis-server (no-op when running) and waits until it accepts
  // connections. Errors: "service_unavailable" with the server's log.
  Status Start();
  // Stops it (SIGTERM, then SIGKILL); the data is gone. Idempotent.
  void Stop();
  bool running() const { return process_ != nullptr; }

  int port() const { return port_; }
  std::string url() const;  // redis://127.0.0.1:<port>
  std::string Log() const;

 private:
  int port_ = 0;
  std::string dir_;
  std::unique_ptr<ServiceProcess> process_;
};

// The test binary's redis-server, made on first use and stopped when the
// binary exits; shared by all its tests, which flush it as they need. A
// test that stops it (an outage) should Start() it again; Start() is a no-op
// while it runs.
RedisServer& SharedRedisServer();

}  // namespace vs::testing
