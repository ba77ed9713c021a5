#include "db/sqlite_job_queue.h"

#include <algorithm>
#include <string>

namespace vs::db::internal {
namespace {

Result<std::optional<Job>> StepOptionalJob(Stmt& s) { return StepOptional<Job>(s, &ReadJob<Stmt>); }

Result<JobState> StateFrom(const Stmt& s) {
  std::optional<JobState> st = ParseJobState(s.ColText(0));
  if (!st) return DbError("unknown job state");
  return *st;
}

}  // namespace

Result<std::optional<Job>> SqliteJobQueue::Claim(const std::string& worker_id, int64_t lease_ms) {
  std::lock_guard lock(c_.mutex());
  const int64_t now = c_.Now();
  VS_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(c_));
  {
    // A lease that ran out on the last attempt: the worker died (or hung)
    // every time. Giving it yet another worker would loop forever.
    VS_ASSIGN_OR_RETURN(Stmt s, c_.Prepare("UPDATE jobs SET state = 'failed', last_error = ?, "
                                           "updated_at_ms = ? WHERE state = 'running' AND "
                                           "lease_expires_ms <= ? AND attempts >= max_attempts"));
    s.Text(kWorkerLost).Int(now).Int(now);
    VS_TRY(s.Run());
  }
  std::optional<int64_t> job_id;
  {
    VS_ASSIGN_OR_RETURN(
        Stmt s, c_.Prepare("SELECT id FROM jobs WHERE (state = 'queued' AND run_after_ms <= ?) "
                           "OR (state = 'running' AND lease_expires_ms <= ?) "
                           "ORDER BY run_after_ms, id LIMIT 1"));
    s.Int(now).Int(now);
    VS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (row) job_id = s.ColInt(0);
  }
  std::optional<Job> claimed;
  if (job_id) {
    VS_ASSIGN_OR_RETURN(
        Stmt s, c_.Prepare(std::string("UPDATE jobs SET state = 'running', lease_owner = ?, "
                                       "lease_expires_ms = ?, attempts = attempts + 1, "
                                       "updated_at_ms = ? WHERE id = ? RETURNING ") +
                           kJobColumns));
    s.Text(worker_id).Int(AddMs(now, lease_ms)).Int(now).Int(*job_id);
    VS_ASSIGN_OR_RETURN(claimed, StepOptionalJob(s));
  }
  // Commit even without a claim: the worker-lost failures must stick.
  VS_TRY(tx.Commit());
  return claimed;
}

Result<bool> SqliteJobQueue::Heartbeat(int64_t job_id, const std::string& worker_id,
                                       int64_t lease_ms) {
  std::lock_guard lock(c_.mutex());
  const int64_t now = c_.Now();
  VS_ASSIGN_OR_RETURN(Stmt s, c_.Prepare("UPDATE jobs SET lease_expires_ms = ?, "
                                         "updated_at_ms = ? WHERE id = ? AND "
                                         "state = 'running' AND lease_owner = ?"));
  s.Int(AddMs(now, lease_ms)).Int(now).Int(job_id).Text(worker_id);
  VS_TRY(s.Run());
  return s.changes() > 0;
}

Result<bool> SqliteJobQueue::Complete(int64_t job_id, const std::string& worker_id) {
  std::lock_guard lock(c_.mutex());
  VS_ASSIGN_OR_RETURN(Stmt s, c_.Prepare("UPDATE jobs SET state = 'done', last_error = '', "
                                         "updated_at_ms = ? WHERE id = ? AND "
                                         "state = 'running' AND lease_owner = ?"));
  s.Int(c_.Now()).Int(job_id).Text(worker_id);
  VS_TRY(s.Run());
  return s.changes() > 0;
}

Result<JobState> SqliteJobQueue::Fail(int64_t job_id, const std::string& worker_id,
                                      const std::string& error, bool retryable,
                                      int64_t backoff_ms) {
  std::lock_guard lock(c_.mutex());
  const int64_t now = c_.Now();
  {
    VS_ASSIGN_OR_RETURN(
        Stmt s, c_.Prepare("UPDATE jobs SET "
                           "state = CASE WHEN ?1 AND attempts < max_attempts THEN 'queued' "
                           "ELSE 'failed' END, "
                           "run_after_ms = CASE WHEN ?1 AND attempts < max_attempts THEN ?2 "
                           "ELSE run_after_ms END, "
                           "lease_owner = CASE WHEN ?1 AND attempts < max_attempts THEN '' "
                           "ELSE lease_owner END, "
                           "lease_expires_ms = 0, last_error = ?3, updated_at_ms = ?4 "
                           "WHERE id = ?5 AND state = 'running' AND lease_owner = ?6 "
                           "RETURNING state"));
    s.Int(retryable ? 1 : 0).Int(AddMs(now, std::max<int64_t>(backoff_ms, 0)));
    s.Text(error).Int(now).Int(job_id).Text(worker_id);
    VS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (row) {
      Result<JobState> st = StateFrom(s);
      VS_TRY(s.Run());
      return st;
    }
  }
  // Not this worker's job (any more): report its state untouched, so the
  // caller can tell a cancellation or takeover from its own failure.
  VS_ASSIGN_OR_RETURN(Stmt s, c_.Prepare("SELECT state FROM jobs WHERE id = ?"));
  s.Int(job_id);
  VS_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return JobState::kCancelled;  // no such job: nothing left to run
  return StateFrom(s);
}

Result<bool> SqliteJobQueue::Release(int64_t job_id, const std::string& worker_id) {
  std::lock_guard lock(c_.mutex());
  const int64_t now = c_.Now();
  VS_ASSIGN_OR_RETURN(
      Stmt s, c_.Prepare("UPDATE jobs SET state = 'queued', attempts = MAX(attempts - 1, 0), "
                         "run_after_ms = ?, lease_owner = '', lease_expires_ms = 0, "
                         "updated_at_ms = ? WHERE id = ? AND state = 'running' AND "
                         "lease_owner = ?"));
  s.Int(now).Int(now).Int(job_id).Text(worker_id);
  VS_TRY(s.Run());
  return s.changes() > 0;
}

Result<std::optional<Job>> SqliteJobQueue::LatestForVideo(const std::string& video_id) {
  std::lock_guard lock(c_.mutex());
  VS_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(std::string("SELECT ") + kJobColumns +
                                         " FROM jobs WHERE video_id = ? ORDER BY id DESC "
                                         "LIMIT 1"));
  s.Text(video_id);
  return StepOptionalJob(s);
}

Result<std::vector<Job>> SqliteJobQueue::List(std::optional<JobState> state, int limit) {
  std::lock_guard lock(c_.mutex());
  VS_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(SqliteNumbered(std::string("SELECT ") + kJobColumns + kJobListWhere)));
  s.Text(state ? ToString(*state) : "").Int(ClampJobListLimit(limit));
  return StepAll<Job>(s, &ReadJob<Stmt>);
}

Result<std::optional<Job>> SqliteJobQueue::Cancel(int64_t job_id) {
  std::lock_guard lock(c_.mutex());
  {
    VS_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(SqliteNumbered(kJobCancelSql)));
    s.Int(job_id).Text(kCancelledByOperator).Int(c_.Now());
    VS_TRY(s.Run());
  }
  VS_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = ?"));
  s.Int(job_id);
  return StepOptionalJob(s);
}

Result<JobStats> SqliteJobQueue::Stats() {
  std::lock_guard lock(c_.mutex());
  VS_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(SqliteNumbered(kJobStatsSql)));
  s.Int(c_.Now());
  JobStats stats = ZeroJobStats();
  while (true) {
    VS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    VS_TRY(AddJobStatsRow(stats, s));
  }
  return stats;
}

}  // namespace vs::db::internal
