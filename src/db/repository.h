// Persistence seams: videos, the status-change history (notifications), the
// durable job queue and the accounts (users, sessions). Adapters: SQLite
// (embedded default) and PostgreSQL; database.h bundles them per database.
// Every method is thread-safe and may be called from any thread; several
// processes (the server and `visionsync worker`) may share one database.
// Expected failures (database busy, I/O, server unreachable) come back as
// Errors with code "db_error"; "not found" is a value (nullopt / false), not
// an error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/event_bus.h"
#include "core/result.h"
#include "core/user.h"
#include "core/video.h"

namespace vs::db {

inline constexpr const char* kDbError = "db_error";
inline constexpr const char* kBadCursor = "invalid_cursor";

// The database failed or answered something unusable: kDbError, kUnavailable.
inline Error DbError(std::string message) {
  return MakeError(ErrorKind::kUnavailable, kDbError, std::move(message));
}

// The database's disk is full (SQLITE_FULL, PostgreSQL's disk_full): not an
// outage, so it trips no breaker; "insufficient_storage".
inline Error DbFull(std::string message) {
  return MakeError(ErrorKind::kInsufficientStorage, "insufficient_storage", std::move(message));
}

// Who is asking, for what lists, counts and notifications contain. Unlisted
// and private videos are never listed, searched or counted for others.
struct Audience {
  bool everything = true;  // no filter (admins, internal callers)
  // When !everything: public videos, plus this user's own (any visibility)
  // when non-empty.
  std::string user_id;
};

struct ListQuery {
  std::optional<VideoStatus> status;  // filter
  std::string search;                 // full-text over title, description, file name
  int limit = 20;                     // clamped to 1..100
  std::string cursor;                 // opaque; from a previous page's next_cursor
  Audience audience;
  // Non-empty: only this owner's videos (any visibility), combined with
  // `audience`.
  std::string owner_id;
};

// Fields a status transition may set alongside the status.
struct StatusPatch {
  std::optional<std::string> error_message;
  std::optional<double> progress;
  std::optional<double> duration;
  std::optional<int> width;
  std::optional<int> height;
  std::optional<std::vector<RenditionInfo>> renditions;
};

struct ConfirmResult {
  Video video;
  bool enqueued = false;  // false when it was already confirmed (idempotent repeat)
};

class VideoRepository {
 public:
  virtual ~VideoRepository() = default;
  // Stores every field, owner_id (empty = none) and visibility included.
  virtual Status Create(const Video& v) = 0;
  // Whatever its visibility: access checks are the caller's.
  virtual Result<std::optional<Video>> Get(const std::string& id) = 0;
  // Newest first (created_at, then id, descending); only what q.audience
  // may list.
  virtual Result<Page<Video>> List(const ListQuery& q) = 0;
  // Every status with its count (zeros included), in kAllVideoStatuses
  // order, over the videos `a` may list.
  virtual Result<std::vector<std::pair<VideoStatus, int64_t>>> CountByStatus(const Audience& a) = 0;
  // Sets the fields given (nullopt keeps one). Returns the updated video;
  // nullopt when it does not exist.
  virtual Result<std::optional<Video>> UpdateMetadata(
      const std::string& id, const std::optional<std::string>& title,
      const std::optional<std::string>& description,
      const std::optional<Visibility>& visibility) = 0;
  // Guarded conditional update: sets `to` (and the patch) only if the current
  // status is one of `from` and CanTransition(current, to). Returns the
  // updated video, or nullopt when the guard failed or the video is missing.
  virtual Result<std::optional<Video>> Transition(const std::string& id,
                                                  const std::vector<VideoStatus>& from,
                                                  VideoStatus to, const StatusPatch& patch) = 0;
  // Sets progress (never lower than the stored value) while PROCESSING.
  virtual Result<bool> UpdateProgress(const std::string& id, double progress) = 0;
  // One transaction: UPLOADING or ERROR -> UPLOADED and a new queued job
  // that carries `source_etag` (the ETag of the upload the caller checked;
  // see Job::source_etag). Already UPLOADED/PROCESSING/READY: returns the
  // video with enqueued=false. nullopt when the video does not exist.
  virtual Result<std::optional<ConfirmResult>> ConfirmUpload(const std::string& id,
                                                             const std::string& source_etag) = 0;
  // Deletes the row and cancels its jobs; false when it did not exist.
  virtual Result<bool> Delete(const std::string& id) = 0;
  // Gives every video without an owner to `owner_id`; returns how many.
  virtual Result<int64_t> AdoptOrphans(const std::string& owner_id) = 0;
};

class NotificationRepository {
 public:
  virtual ~NotificationRepository() = default;
  virtual Result<Notification> Add(const std::string& video_id, VideoStatus status,
                                   const std::string& message) = 0;
  // Newest first; video_id empty = all videos. Only notifications of videos
  // that `a` may list (so none of a deleted video, unless a.everything).
  virtual Result<Page<Notification>> List(int limit, const std::string& cursor,
                                          const std::string& video_id, const Audience& a) = 0;

  // Webhook deliveries received (their senders' ids, under a UNIQUE key):
  // true when `delivery_id` is new and is now recorded, false when it was
  // recorded before (a replay or a retry: apply nothing). Ids recorded more
  // than kDeliveryRetentionMs before `now_ms` are pruned on the way.
  virtual Result<bool> RecordDelivery(const std::string& delivery_id, int64_t now_ms) = 0;
};

// How long a webhook delivery id is remembered: far beyond the signature's
// 5-minute window, and any sender's retry schedule worth following.
inline constexpr int64_t kDeliveryRetentionMs = 24LL * 3600 * 1000;

// What the queue holds, for metrics and the stuck-job watch.
struct JobStats {
  std::vector<std::pair<JobState, int64_t>> counts;  // every state, zeros included
  // Creation time of the oldest queued job and the oldest running one
  // (0 when there is none): how long work has been waiting or running.
  int64_t oldest_queued_created_ms = 0;
  int64_t oldest_running_created_ms = 0;
  int64_t expired_leases = 0;  // running jobs whose lease ran out (worker gone?)
};

// Durable queue in the same database as the videos. A claim is a lease: the
// worker must heartbeat before it expires, or another worker may take the
// job over (the first one crashed). Attempts count claims.
class JobQueue {
 public:
  virtual ~JobQueue() = default;
  // The oldest claimable job: queued with run_after <= now, or running with
  // an expired lease. Marks it running, owned by worker_id until now+lease_ms,
  // and counts an attempt. A job whose expired lease was its last attempt is
  // failed instead ("worker lost") and is not returned.
  virtual Result<std::optional<Job>> Claim(const std::string& worker_id, int64_t lease_ms) = 0;
  // Extends the lease. false when the worker no longer owns the job
  // (cancelled, or taken over after expiry): the worker must stop.
  virtual Result<bool> Heartbeat(int64_t job_id, const std::string& worker_id,
                                 int64_t lease_ms) = 0;
  virtual Result<bool> Complete(int64_t job_id, const std::string& worker_id) = 0;
  // Retryable and attempts < max_attempts: back to queued, claimable after
  // backoff_ms. Otherwise failed for good. Returns the job's new state.
  virtual Result<JobState> Fail(int64_t job_id, const std::string& worker_id,
                                const std::string& error, bool retryable, int64_t backoff_ms) = 0;
  // Hands a running job back (graceful shutdown) without using up an attempt.
  virtual Result<bool> Release(int64_t job_id, const std::string& worker_id) = 0;
  virtual Result<std::optional<Job>> LatestForVideo(const std::string& video_id) = 0;

  // Operators' views and controls (`visionsync jobs`, /metrics).
  // Newest first; `state` filters when set. limit clamped to 1..1000.
  virtual Result<std::vector<Job>> List(std::optional<JobState> state, int limit) = 0;
  // A queued or running job becomes cancelled (its worker learns on its next
  // heartbeat). Returns the job as it is now; nullopt when there is no such
  // job. A job already finished is returned unchanged.
  virtual Result<std::optional<Job>> Cancel(int64_t job_id) = 0;
  virtual Result<JobStats> Stats() = 0;
};

// The accounts. Emails are unique compared case-insensitively (ASCII case
// at least: callers pass them lower-cased and trimmed, and they are stored
// as given).
class UserRepository {
 public:
  virtual ~UserRepository() = default;
  // One transaction: when no user exists yet, `u` becomes admin (is_admin
  // = true) and adopts every video without an owner; otherwise it is stored
  // as given. Zero timestamps mean "now". Returns the stored user; nullopt
  // when the email (or the id) is taken. Concurrent first registrations
  // make one admin.
  virtual Result<std::optional<User>> Register(User u) = 0;
  virtual Result<std::optional<User>> Get(const std::string& id) = 0;
  virtual Result<std::optional<User>> FindByEmail(const std::string& email) = 0;
  // false: no such user.
  virtual Result<bool> SetAdmin(const std::string& id, bool admin) = 0;
  // false: no such user.
  virtual Result<bool> SetPasswordHash(const std::string& id, const std::string& hash,
                                       int64_t now_ms) = 0;
  virtual Result<int64_t> Count() = 0;
};

// Sign-in sessions, stored server-side so they can be revoked. A session
// expires at expires_at_ms (expired when now >= expires_at_ms); the sessions
// of a user go with the user.
class SessionRepository {
 public:
  virtual ~SessionRepository() = default;
  // A db_error when the id is taken or the user does not exist.
  virtual Status Create(const Session& s) = 0;
  // Expired ones too: callers check expires_at_ms.
  virtual Result<std::optional<Session>> Get(const std::string& id) = 0;
  // The user's unexpired sessions, newest first.
  virtual Result<std::vector<Session>> ListForUser(const std::string& user_id, int64_t now_ms) = 0;
  // false: no such session.
  virtual Result<bool> Delete(const std::string& id) = 0;
  // Returns how many went.
  virtual Result<int64_t> DeleteForUser(const std::string& user_id) = 0;
  // Removes the sessions expired at now_ms; returns how many.
  virtual Result<int64_t> PruneExpired(int64_t now_ms) = 0;
};

// Events crossing processes: a process that publishes status events but
// serves no live clients (`visionsync worker`) appends them here, and the
// server processes read what is new and publish it to their own clients.
// Rows are short-lived: the writers prune old ones.
struct StoredEvent {
  int64_t id = 0;      // increasing
  std::string origin;  // the writing process
  Event event;
};

class EventLog {
 public:
  virtual ~EventLog() = default;
  virtual Status Append(const std::string& origin, const Event& e) = 0;
  // Oldest first, at most `limit`.
  virtual Result<std::vector<StoredEvent>> After(int64_t after_id, int limit) = 0;
  virtual Result<int64_t> LastId() = 0;  // 0 when empty
  // Removes events created before `older_than_ms`; returns how many.
  virtual Result<int> Prune(int64_t older_than_ms) = 0;
};

}  // namespace vs::db
