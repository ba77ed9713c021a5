#include "db/postgres_job_listener.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>

#include "db/postgres_connection.h"
#include "db/postgres_schema.h"

namespace vs::db::internal {
namespace {

constexpr int kFirstBackoffMs = 100;
constexpr int kMaxBackoffMs = 5000;
// How long the thread sleeps in poll() between checks when nothing arrives;
// TCP keepalives (set on every connection) detect a silent peer.
constexpr int kIdlePollMs = 30'000;

}  // namespace

PgJobListener::PgJobListener(std::string url, PostgresOptions options, std::function<void()> on_job)
    : url_(std::move(url)), options_(options), on_job_(std::move(on_job)) {
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  thread_ = std::thread([this] { Loop(); });
}

PgJobListener::~PgJobListener() {
  stop_ = true;
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
  if (wake_fd_ >= 0) close(wake_fd_);
}

bool PgJobListener::Pause(int ms) {
  if (stop_) return false;
  pollfd pfd{wake_fd_, POLLIN, 0};
  (void)poll(&pfd, 1, ms);
  return !stop_;
}

void PgJobListener::Loop() {
  int backoff_ms = kFirstBackoffMs;
  while (!stop_) {
    Result<std::unique_ptr<PgConn>> conn = ConnectPg(url_, options_);
    if (conn.ok() && !(*conn)->Exec(std::string("LISTEN ") + kJobChannel).ok()) {
      conn = DbError("listen failed");
    }
    if (!conn.ok()) {
      if (!Pause(backoff_ms)) return;
      backoff_ms = std::min(backoff_ms * 2, kMaxBackoffMs);
      continue;
    }
    backoff_ms = kFirstBackoffMs;
    PGconn* raw = (*conn)->raw();
    on_job_();  // anything announced while we were away is unknown
    while (!stop_) {
      pollfd fds[2] = {{PQsocket(raw), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      if (poll(fds, 2, kIdlePollMs) < 0) continue;  // EINTR
      if (stop_) return;
      if (fds[0].revents == 0) continue;
      if (PQconsumeInput(raw) == 0 || PQstatus(raw) != CONNECTION_OK) break;
      bool any = false;
      while (PGnotify* n = PQnotifies(raw)) {
        any = true;
        PQfreemem(n);
      }
      if (any) on_job_();
    }
    // The connection broke (server restart): reconnect after a short pause.
    if (!Pause(kFirstBackoffMs)) return;
  }
}

}  // namespace vs::db::internal
