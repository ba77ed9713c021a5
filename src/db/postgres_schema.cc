#include "db/postgres_schema.h"

#include <string>

#include "db/repository.h"

namespace vs::db::internal {
namespace {

// pg_advisory_lock key of the migrator: "vsmg" in ASCII. Other code taking
// advisory locks in the same database must use other keys.
constexpr int64_t kMigrationLockKey = 0x76736d67;

// Versus SQLite: `id` is the primary key itself (no rowid games), with
// byte-order collation so that list order and cursors compare ids exactly as
// SQLite does, whatever the database's default collation. `search` holds the
// tokens of title, description and file name (see search_tokens.h), written
// by the adapter with every change of those columns.
//
// jobs.video_id has no foreign key on purpose: deleting a video cancels its
// jobs and keeps them as history, like its notifications.
//
// jobs_notify: every change that leaves a job queued (a new job, a retry, a
// release) wakes the listeners when its transaction commits; PostgreSQL
// folds repeats within one transaction into one notification.
const PgMigration kV1 = {{
    R"sql(CREATE TABLE videos (
  id text COLLATE "C" PRIMARY KEY,
  title text NOT NULL DEFAULT '',
  description text NOT NULL DEFAULT '',
  file_name text NOT NULL DEFAULT '',
  file_type text NOT NULL DEFAULT '',
  file_size bigint NOT NULL DEFAULT 0,
  status text NOT NULL
    CHECK (status IN ('UPLOADING', 'UPLOADED', 'PROCESSING', 'READY', 'ERROR')),
  error_message text NOT NULL DEFAULT '',
  progress double precision NOT NULL DEFAULT 0,
  duration double precision NOT NULL DEFAULT 0,
  width integer NOT NULL DEFAULT 0,
  height integer NOT NULL DEFAULT 0,
  renditions text NOT NULL DEFAULT '[]',
  created_at_ms bigint NOT NULL,
  updated_at_ms bigint NOT NULL,
  search tsvector NOT NULL DEFAULT ''
))sql",
    "CREATE INDEX videos_by_created ON videos (created_at_ms DESC, id DESC)",
    "CREATE INDEX videos_by_status_created ON videos (status, created_at_ms DESC, id DESC)",
    "CREATE INDEX videos_search ON videos USING gin (search)",
    R"sql(CREATE TABLE notifications (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  video_id text NOT NULL,
  status text NOT NULL,
  message text NOT NULL,
  created_at_ms bigint NOT NULL
))sql",
    "CREATE INDEX notifications_by_video ON notifications (video_id, id)",
    R"sql(CREATE TABLE jobs (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  video_id text NOT NULL,
  state text NOT NULL
    CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
  attempts integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL DEFAULT 3,
  run_after_ms bigint NOT NULL,
  lease_owner text NOT NULL DEFAULT '',
  lease_expires_ms bigint NOT NULL DEFAULT 0,
  last_error text NOT NULL DEFAULT '',
  created_at_ms bigint NOT NULL,
  updated_at_ms bigint NOT NULL
))sql",
    "CREATE INDEX jobs_claimable ON jobs (state, run_after_ms, id)",
    "CREATE INDEX jobs_leases ON jobs (state, lease_expires_ms)",
    "CREATE INDEX jobs_by_video ON jobs (video_id, id)",
    // At most one live job per video, whatever races the callers run.
    "CREATE UNIQUE INDEX jobs_one_live_per_video ON jobs (video_id) "
    "WHERE state IN ('queued', 'running')",
    R"sql(CREATE FUNCTION vs_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('vs_jobs', '');
  RETURN NULL;
END
$$)sql",
    "CREATE TRIGGER jobs_notify AFTER INSERT OR UPDATE ON jobs FOR EACH ROW "
    "WHEN (NEW.state = 'queued') EXECUTE FUNCTION vs_jobs_notify()",
}};

// v2: events published by one process for the others (a `visionsync worker`
// process's status and progress events reach the server's live clients).
const PgMigration kV2 = {{
    R"sql(CREATE TABLE events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  origin text NOT NULL,
  video_id text NOT NULL,
  name text NOT NULL,
  payload text NOT NULL,
  created_at_ms bigint NOT NULL
))sql",
    "CREATE INDEX events_by_age ON events (created_at_ms)",
}};

// v3: the ETag of the upload each job was confirmed for (Job::source_etag).
// Jobs queued before it carry none, and their source is not checked. A
// constant default: PostgreSQL adds the column without rewriting the table.
const PgMigration kV3 = {{
    "ALTER TABLE jobs ADD COLUMN source_etag text NOT NULL DEFAULT ''",
}};

// v4: the webhook deliveries received, by their senders' ids, so that a
// replayed or retried delivery is applied once (RecordDelivery); rows older
// than a day are pruned by the writers.
const PgMigration kV4 = {{
    "CREATE TABLE webhook_deliveries (id text PRIMARY KEY, received_at_ms bigint NOT NULL)",
    "CREATE INDEX webhook_deliveries_by_age ON webhook_deliveries (received_at_ms)",
}};

// v5: accounts (issue 12). Users, unique by lower(email), their sessions
// (gone with the user), and each video's owner and visibility. Videos from
// before have no owner and stay public (constant defaults: no table
// rewrite); the first user to register adopts them. videos.owner_id has no
// foreign key: a video keeps its owner id as history, like jobs keep their
// video id.
const PgMigration kV5 = {{
    R"sql(CREATE TABLE users (
  id text COLLATE "C" PRIMARY KEY,
  email text NOT NULL,
  name text NOT NULL DEFAULT '',
  password_hash text NOT NULL,
  is_admin boolean NOT NULL DEFAULT false,
  created_at_ms bigint NOT NULL,
  updated_at_ms bigint NOT NULL
))sql",
    "CREATE UNIQUE INDEX users_by_email ON users (lower(email))",
    R"sql(CREATE TABLE sessions (
  id text COLLATE "C" PRIMARY KEY,
  user_id text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  secret_hash text NOT NULL,
  created_at_ms bigint NOT NULL,
  expires_at_ms bigint NOT NULL
))sql",
    "CREATE INDEX sessions_by_user ON sessions (user_id)",
    "CREATE INDEX sessions_by_expiry ON sessions (expires_at_ms)",
    "ALTER TABLE videos ADD COLUMN owner_id text COLLATE \"C\"",
    "ALTER TABLE videos ADD COLUMN visibility text NOT NULL DEFAULT 'public' "
    "CHECK (visibility IN ('public', 'unlisted', 'private'))",
    "CREATE INDEX videos_by_owner_created ON videos (owner_id, created_at_ms DESC, id DESC)",
}};

Error NewerSchema(int found, int known) {
  return DbError("database schema version " + std::to_string(found) +
                 " is newer than this binary supports (" + std::to_string(known) + ")");
}

Result<int> MigrateLocked(PgConn& c, const std::vector<PgMigration>& migrations) {
  const int target = static_cast<int>(migrations.size());
  VS_TRY(
      c.Exec("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
             "applied_at timestamptz NOT NULL DEFAULT now())"));
  VS_ASSIGN_OR_RETURN(PgResult r,
                      c.Exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  int version = r.rows() > 0 ? static_cast<int>(r.row(0).ColInt(0)) : 0;
  if (version > target) return NewerSchema(version, target);
  for (; version < target; ++version) {
    VS_TRY(c.Exec("BEGIN"));
    // A migration may rewrite big tables: the session's statement timeout
    // (meant for requests) does not apply inside it.
    Status s = c.Exec("SELECT set_config('statement_timeout', '0', true)").ok()
                   ? Status()
                   : DbError("cannot lift statement_timeout");
    for (std::string_view sql : migrations[static_cast<size_t>(version)].statements) {
      if (!s.ok()) break;
      Result<PgResult> step = c.Exec(sql);
      if (!step.ok()) {
        s = step.error();
        break;
      }
    }
    if (s.ok()) {
      PgParams p;
      p.Int(version + 1);
      Result<PgResult> mark = c.Exec("INSERT INTO schema_migrations (version) VALUES ($1)", p);
      if (!mark.ok()) s = mark.error();
    }
    if (s.ok()) {
      Result<PgResult> commit = c.Exec("COMMIT");
      if (!commit.ok()) s = commit.error();
    }
    if (!s.ok()) {
      (void)c.Exec("ROLLBACK");
      return MakeError(ErrorKind::kUnavailable, kDbError,
                       "migration " + std::to_string(version + 1) + ": " + s.error().message);
    }
  }
  return version;
}

}  // namespace

const std::vector<PgMigration>& PostgresMigrations() {
  static const std::vector<PgMigration> kMigrations = {kV1, kV2, kV3, kV4, kV5};
  return kMigrations;
}

Result<int> MigratePostgres(PgConn& c, const std::vector<PgMigration>& migrations) {
  PgParams key;
  key.Int(kMigrationLockKey);
  // Waits for a concurrent migrator; statement_timeout bounds the wait.
  VS_TRY(c.Exec("SELECT pg_advisory_lock($1)", key));
  Result<int> version = MigrateLocked(c, migrations);
  // A lost connection released the lock with the session.
  (void)c.Exec("SELECT pg_advisory_unlock($1)", key);
  return version;
}

}  // namespace vs::db::internal
