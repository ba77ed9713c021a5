// JobQueue on SQLite. Internal to the db module; SqliteDatabase owns it.
// Thread-safe: every call holds the shared connection's mutex; a Claim is
// one BEGIN IMMEDIATE transaction, so claimers in other processes serialize
// on the file's write lock and never take the same job.
#pragma once

#include "db/repository.h"
#include "db/sqlite_connection.h"

namespace vs::db::internal {

class SqliteJobQueue final : public JobQueue {
 public:
  explicit SqliteJobQueue(Connection& c) : c_(c) {}

  Result<std::optional<Job>> Claim(const std::string& worker_id, int64_t lease_ms) override;
  Result<bool> Heartbeat(int64_t job_id, const std::string& worker_id, int64_t lease_ms) override;
  Result<bool> Complete(int64_t job_id, const std::string& worker_id) override;
  Result<JobState> Fail(int64_t job_id, const std::string& worker_id, const std::string& error,
                        bool retryable, int64_t backoff_ms) override;
  Result<bool> Release(int64_t job_id, const std::string& worker_id) override;
  Result<std::optional<Job>> LatestForVideo(const std::string& video_id) override;
  Result<std::vector<Job>> List(std::optional<JobState> state, int limit) override;
  Result<std::optional<Job>> Cancel(int64_t job_id) override;
  Result<JobStats> Stats() override;

 private:
  Connection& c_;
};

}  // namespace vs::db::internal
