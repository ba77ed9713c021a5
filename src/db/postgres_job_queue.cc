#include "db/postgres_job_queue.h"

#include <algorithm>
#include <string>
#include <utility>

#include "db/repository_common.h"

namespace vs::db::internal {
namespace {

Result<std::optional<Job>> OptionalJob(const PgResult& r) {
  if (r.rows() == 0) return std::optional<Job>();
  VS_ASSIGN_OR_RETURN(Job j, ReadJob(r.row(0)));
  return std::optional<Job>(std::move(j));
}

Result<JobState> StateOf(const PgResult& r) {
  std::optional<JobState> st = ParseJobState(r.row(0).ColText(0));
  if (!st) return DbError("unknown job state");
  return *st;
}

// Claim in one statement (one round trip, no transaction held open):
//  - `lost` fails the running jobs whose lease ran out on their last
//    attempt: the worker died (or hung) every time, and giving the job yet
//    another worker would loop forever;
//  - the outer UPDATE takes the oldest claimable job. Both lock with SKIP
//    LOCKED, so a row another claimer holds is passed over, not waited for.
// Both parts see the same snapshot, so the claim excludes last-attempt jobs
// itself rather than relying on `lost` having run first.
const std::string& ClaimSql() {
  static const std::string kSql =
      std::string(
          "WITH lost AS ("
          " UPDATE jobs SET state = 'failed', last_error = $4, updated_at_ms = $3"
          " WHERE id IN (SELECT id FROM jobs WHERE state = 'running'"
          " AND lease_expires_ms <= $3 AND attempts >= max_attempts FOR UPDATE SKIP LOCKED)) "
          "UPDATE jobs SET state = 'running', lease_owner = $1, lease_expires_ms = $2,"
          " attempts = attempts + 1, updated_at_ms = $3 "
          "WHERE id = (SELECT id FROM jobs"
          " WHERE (state = 'queued' AND run_after_ms <= $3)"
          " OR (state = 'running' AND lease_expires_ms <= $3 AND attempts < max_attempts)"
          " ORDER BY run_after_ms, id LIMIT 1 FOR UPDATE SKIP LOCKED) "
          "RETURNING ") +
      kJobColumns;
  return kSql;
}

}  // namespace

Result<std::optional<Job>> PgJobQueue::Claim(const std::string& worker_id, int64_t lease_ms) {
  const int64_t now = clock_.NowMs();
  PgParams p;
  p.Text(worker_id).Int(AddMs(now, lease_ms)).Int(now).Text(kWorkerLost);
  return pool_.Run([&](PgConn& c) -> Result<std::optional<Job>> {
    VS_ASSIGN_OR_RETURN(PgResult r, c.Exec(ClaimSql(), p));
    return OptionalJob(r);
  });
}

Result<bool> PgJobQueue::Heartbeat(int64_t job_id, const std::string& worker_id, int64_t lease_ms) {
  const int64_t now = clock_.NowMs();
  PgParams p;
  p.Int(AddMs(now, lease_ms)).Int(now).Int(job_id).Text(worker_id);
  return pool_.Run([&](PgConn& c) -> Result<bool> {
    VS_ASSIGN_OR_RETURN(PgResult r,
                        c.Exec("UPDATE jobs SET lease_expires_ms = $1, updated_at_ms = $2 "
                               "WHERE id = $3 AND state = 'running' AND lease_owner = $4",
                               p));
    return r.affected() > 0;
  });
}

Result<bool> PgJobQueue::Complete(int64_t job_id, const std::string& worker_id) {
  PgParams p;
  p.Int(clock_.NowMs()).Int(job_id).Text(worker_id);
  return pool_.Run([&](PgConn& c) -> Result<bool> {
    VS_ASSIGN_OR_RETURN(PgResult r,
                        c.Exec("UPDATE jobs SET state = 'done', last_error = '', "
                               "updated_at_ms = $1 WHERE id = $2 AND state = 'running' AND "
                               "lease_owner = $3",
                               p));
    return r.affected() > 0;
  });
}

Result<JobState> PgJobQueue::Fail(int64_t job_id, const std::string& worker_id,
                                  const std::string& error, bool retryable, int64_t backoff_ms) {
  const int64_t now = clock_.NowMs();
  PgParams p;
  p.Bool(retryable)
      .Int(AddMs(now, std::max<int64_t>(backoff_ms, 0)))
      .Text(error)
      .Int(now)
      .Int(job_id)
      .Text(worker_id);
  return pool_.Run([&](PgConn& c) -> Result<JobState> {
    VS_ASSIGN_OR_RETURN(
        PgResult r,
        c.Exec("UPDATE jobs SET "
               "state = CASE WHEN $1::boolean AND attempts < max_attempts THEN 'queued' "
               "ELSE 'failed' END, "
               "run_after_ms = CASE WHEN $1::boolean AND attempts < max_attempts THEN $2 "
               "ELSE run_after_ms END, "
               "lease_owner = CASE WHEN $1::boolean AND attempts < max_attempts THEN '' "
               "ELSE lease_owner END, "
               "lease_expires_ms = 0, last_error = $3, updated_at_ms = $4 "
               "WHERE id = $5 AND state = 'running' AND lease_owner = $6 RETURNING state",
               p));
    if (r.rows() > 0) return StateOf(r);
    // Not this worker's job (any more): report its state untouched, so the
    // caller can tell a cancellation or takeover from its own failure.
    PgParams id;
    id.Int(job_id);
    VS_ASSIGN_OR_RETURN(PgResult s, c.Exec("SELECT state FROM jobs WHERE id = $1", id));
    if (s.rows() == 0) return JobState::kCancelled;  // no such job: nothing left to run
    return StateOf(s);
  });
}

Result<bool> PgJobQueue::Release(int64_t job_id, const std::string& worker_id) {
  const int64_t now = clock_.NowMs();
  PgParams p;
  p.Int(now).Int(job_id).Text(worker_id);
  return pool_.Run([&](PgConn& c) -> Result<bool> {
    VS_ASSIGN_OR_RETURN(
        PgResult r,
        c.Exec("UPDATE jobs SET state = 'queued', attempts = GREATEST(attempts - 1, 0), "
               "run_after_ms = $1, lease_owner = '', lease_expires_ms = 0, "
               "updated_at_ms = $1 WHERE id = $2 AND state = 'running' AND "
               "lease_owner = $3",
               p));
    return r.affected() > 0;
  });
}

Result<std::optional<Job>> PgJobQueue::LatestForVideo(const std::string& video_id) {
  PgParams p;
  p.Text(video_id);
  return pool_.Read([&](PgConn& c) -> Result<std::optional<Job>> {
    VS_ASSIGN_OR_RETURN(PgResult r, c.Exec(std::string("SELECT ") + kJobColumns +
                                               " FROM jobs WHERE video_id = $1 "
                                               "ORDER BY id DESC LIMIT 1",
                                           p));
    return OptionalJob(r);
  });
}

Result<std::vector<Job>> PgJobQueue::List(std::optional<JobState> state, int limit) {
  PgParams p;
  p.Text(state ? ToString(*state) : "").Int(ClampJobListLimit(limit));
  return pool_.Read([&](PgConn& c) -> Result<std::vector<Job>> {
    VS_ASSIGN_OR_RETURN(PgResult r, c.Exec(std::string("SELECT ") + kJobColumns + kJobListWhere, p));
    std::vector<Job> out;
    for (int i = 0; i < r.rows(); ++i) {
      VS_ASSIGN_OR_RETURN(Job j, ReadJob(r.row(i)));
      out.push_back(std::move(j));
    }
    return out;
  });
}

Result<std::optional<Job>> PgJobQueue::Cancel(int64_t job_id) {
  PgParams p;
  p.Int(job_id).Text(kCancelledByOperator).Int(clock_.NowMs());
  return pool_.Run([&](PgConn& c) -> Result<std::optional<Job>> {
    VS_TRY(c.Exec(kJobCancelSql, p));
    PgParams id;
    id.Int(job_id);
    VS_ASSIGN_OR_RETURN(PgResult r,
                        c.Exec(std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = $1", id));
    return OptionalJob(r);
  });
}

Result<JobStats> PgJobQueue::Stats() {
  PgParams p;
  p.Int(clock_.NowMs());
  return pool_.Read([&](PgConn& c) -> Result<JobStats> {
    VS_ASSIGN_OR_RETURN(PgResult r, c.Exec(kJobStatsSql, p));
    JobStats stats = ZeroJobStats();
    for (int i = 0; i < r.rows(); ++i) VS_TRY(AddJobStatsRow(stats, r.row(i)));
    return stats;
  });
}

}  // namespace vs::db::internal
