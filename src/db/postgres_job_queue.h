// JobQueue on PostgreSQL. Internal to the db module; the PostgreSQL database
// owns it. Thread-safe, and safe across processes: a Claim is one statement
// that locks its job with FOR UPDATE SKIP LOCKED, so concurrent claimers
// never wait for each other and never take the same job; the other calls are
// compare-and-set updates on (id, state, lease owner). Every change that
// leaves a job queued is announced on the job channel by a trigger
// (postgres_schema.cc).
#pragma once

#include "core/clock.h"
#include "db/postgres_connection.h"
#include "db/repository.h"

namespace vs::db::internal {

class PgJobQueue final : public JobQueue {
 public:
  PgJobQueue(PgPool& pool, const Clock& clock) : pool_(pool), clock_(clock) {}

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
  PgPool& pool_;
  const Clock& clock_;
};

}  // namespace vs::db::internal
