#include "redis_server.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace vs::testing {

namespace {
constexpr int kStartTimeoutMs = 10000;
}  // namespace

RedisServer::RedisServer() : port_(FreeLoopbackPort()), dir_(MakeServiceDir("redis")) {}

RedisServer::~RedisServer() { Stop(); }

Status RedisServer::Start() {
  if (process_ && process_->running()) return {};
  ServiceOptions o;
  o.argv = {"redis-server",
            "--port",
            std::to_string(port_),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            dir_,
            "--loglevel",
            "warning"};
  o.log_path = dir_ + "/redis.log";
  try {
    process_ = std::make_unique<ServiceProcess>(o);
  } catch (const std::exception& e) {
    return MakeError("service_unavailable", std::string("redis-server: ") + e.what());
  }
  if (!process_->WaitForPort(port_, kStartTimeoutMs)) {
    std::string log = process_->Log();
    process_.reset();
    return MakeError("service_unavailable",
                     "redis-server did not start on port " + std::to_string(port_) + ": " + log);
  }
  return {};
}

void RedisServer::Stop() {
  if (!process_) return;
  process_->Stop();
  process_.reset();
}

std::string RedisServer::url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

std::string RedisServer::Log() const {
  std::ifstream in(dir_ + "/redis.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

RedisServer& SharedRedisServer() {
  // A function-local static: destroyed (and so stopped) at exit, before the
  // folder it lives in is removed.
  static RedisServer server;
  return server;
}

}  // namespace vs::testing
