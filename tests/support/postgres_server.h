// A throwaway PostgreSQL server on 127.0.0.1 for tests: its own cluster
// (initdb into a temporary folder), fsync off, trust authentication for the
// `postgres` role, a port picked once and kept across Stop()/Start() so that
// clients configured with a URL see an outage and a recovery of the same
// server, with the same data.
//
// When the tests run as root the server runs as the `postgres` user (initdb
// and postgres refuse root) and its folder belongs to that user. Binaries
// come from `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "service_process.h"

namespace vs::testing {

// Thread-compatible (one owner, normally a test environment or fixture).
// The server is stopped on destruction.
class PostgresServer {
 public:
  PostgresServer();  // picks the port and folder; does not start
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // The first call runs initdb and creates the database visionsync_test;
  // every call starts the server (no-op when running) and waits until it
  // accepts queries. Errors: "service_unavailable" with the reason (no
  // PostgreSQL binaries, initdb failed, the server's log).
  Status Start();
  // Fast shutdown (open sessions are ended, as in a server restart); the
  // data stays for the next Start(). Idempotent.
  void Stop();
  bool running() const { return process_ != nullptr; }

  int port() const { return port_; }
  // postgresql://postgres@127.0.0.1:<port>/visionsync_test
  std::string url() const { return UrlFor(kDefaultDatabase); }
  std::string UrlFor(const std::string& database) const;
  // Creates an empty database (name: letters, digits, '_') and returns its
  // URL; the server must be running.
  Result<std::string> CreateDatabase(const std::string& name);
  std::string Log() const;

  static constexpr const char* kDefaultDatabase = "visionsync_test";

 private:
  // Runs a PostgreSQL client or tool to completion; its exit status (-1
  // when it could not be started).
  int RunTool(const std::string& tool, const std::vector<std::string>& args, int timeout_ms);

  int port_ = 0;
  ServiceOptions Options(const std::string& data) const;
  static bool Ready(const std::string& data);
  std::string dir_;  // socket folder; the cluster lives in dir_/data
  std::string bindir_;
  bool initialized_ = false;
  std::unique_ptr<ServiceProcess> process_;
};

// The folder with initdb, postgres, createdb and pg_isready; empty when
// PostgreSQL is not installed.
std::string FindPostgresBinDir();

// The test binary's PostgreSQL server, made on first use and stopped when
// the binary exits; shared by all its tests, which isolate themselves with
// CreateDatabase. A test that stops it (an outage) should Start() it again.
PostgresServer& SharedPostgresServer();

}  // namespace vs::testing
