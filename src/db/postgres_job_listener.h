// The wake-up side of the PostgreSQL job queue: a thread with a dedicated
// connection that LISTENs on the job channel and calls back for every
// notification. Internal to the db module; PostgresDatabase's
// StartJobListener creates one.
//
// Thread-safety: constructed and destroyed by one owner; the callback runs
// on the listener's own thread, one call at a time.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "db/postgres_database.h"

namespace vs::db::internal {

class PgJobListener {
 public:
  // Starts the thread at once; connection failures are retried with
  // backoff (100 ms doubling up to 5 s) for as long as the listener lives.
  // `on_job` runs for each batch of notifications that arrives together,
  // and also after each successful (re)connect, since notifications sent
  // while no LISTEN was active are lost (so the first call also tells that
  // the listener is live).
  PgJobListener(std::string url, PostgresOptions options, std::function<void()> on_job);
  // Wakes the thread and joins it; `on_job` is not running afterwards.
  ~PgJobListener();
  PgJobListener(const PgJobListener&) = delete;
  PgJobListener& operator=(const PgJobListener&) = delete;

 private:
  void Loop();
  // Sleeps up to ms, or until the destructor wakes the thread (false).
  bool Pause(int ms);

  const std::string url_;
  const PostgresOptions options_;
  const std::function<void()> on_job_;
  std::atomic<bool> stop_{false};
  int wake_fd_ = -1;  // eventfd the destructor writes to
  std::thread thread_;
};

}  // namespace vs::db::internal
