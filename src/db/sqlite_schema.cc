#include "db/sqlite_schema.h"

namespace vs::db::internal {
namespace {

// Ordered schema migrations; entry i takes the file from version i to i+1.
// Append new entries, never edit old ones: files in the field ran them.
//
// videos.rid is the INTEGER PRIMARY KEY because the FTS5 external-content
// index refers to rows by rowid, and VACUUM may renumber the implicit rowid
// of a table whose primary key is not an integer. The public key is `id`
// (UNIQUE, so it is indexed and conflicts fail).
//
// The update trigger names its columns so that progress updates (many per
// second while transcoding) do not rewrite the search index.
//
// jobs.video_id has no foreign key on purpose: deleting a video cancels its
// jobs and keeps them as history, like its notifications.
constexpr std::string_view kMigrationV1 = R"sql(
CREATE TABLE videos (
  rid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  file_name TEXT NOT NULL DEFAULT '',
  file_type TEXT NOT NULL DEFAULT '',
  file_size INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL
    CHECK (status IN ('UPLOADING', 'UPLOADED', 'PROCESSING', 'READY', 'ERROR')),
  error_message TEXT NOT NULL DEFAULT '',
  progress REAL NOT NULL DEFAULT 0,
  duration REAL NOT NULL DEFAULT 0,
  width INTEGER NOT NULL DEFAULT 0,
  height INTEGER NOT NULL DEFAULT 0,
  renditions TEXT NOT NULL DEFAULT '[]',
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE INDEX videos_by_created ON videos (created_at_ms DESC, id DESC);
CREATE INDEX videos_by_status_created ON videos (status, created_at_ms DESC, id DESC);

CREATE VIRTUAL TABLE videos_fts USING fts5 (
  title, description, file_name,
  content = 'videos', content_rowid = 'rid',
  tokenize = 'unicode61 remove_diacritics 2',
  prefix = '2 3'
);
CREATE TRIGGER videos_fts_insert AFTER INSERT ON videos BEGIN
  INSERT INTO videos_fts (rowid, title, description, file_name)
  VALUES (new.rid, new.title, new.description, new.file_name);
END;
CREATE TRIGGER videos_fts_delete AFTER DELETE ON videos BEGIN
  INSERT INTO videos_fts (videos_fts, rowid, title, description, file_name)
  VALUES ('delete', old.rid, old.title, old.description, old.file_name);
END;
CREATE TRIGGER videos_fts_update AFTER UPDATE OF title, description, file_name ON videos BEGIN
  INSERT INTO videos_fts (videos_fts, rowid, title, description, file_name)
  VALUES ('delete', old.rid, old.title, old.description, old.file_name);
  INSERT INTO videos_fts (rowid, title, description, file_name)
  VALUES (new.rid, new.title, new.description, new.file_name);
END;

CREATE TABLE notifications (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  video_id TEXT NOT NULL,
  status TEXT NOT NULL,
  message TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL
);
CREATE INDEX notifications_by_video ON notifications (video_id, id);

CREATE TABLE jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  video_id TEXT NOT NULL,
  state TEXT NOT NULL
    CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 3,
  run_after_ms INTEGER NOT NULL,
  lease_owner TEXT NOT NULL DEFAULT '',
  lease_expires_ms INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE INDEX jobs_claimable ON jobs (state, run_after_ms, id);
CREATE INDEX jobs_leases ON jobs (state, lease_expires_ms);
CREATE INDEX jobs_by_video ON jobs (video_id, id);
-- At most one live job per video, whatever races the callers run.
CREATE UNIQUE INDEX jobs_one_live_per_video ON jobs (video_id)
  WHERE state IN ('queued', 'running');
)sql";

// v2: events published by one process for the others (a `visionsync worker`
// process's status and progress events reach the server's live clients).
constexpr std::string_view kMigrationV2 = R"sql(
CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  origin TEXT NOT NULL,
  video_id TEXT NOT NULL,
  name TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL
);
CREATE INDEX events_by_age ON events (created_at_ms);
)sql";

// v3: the ETag of the upload each job was confirmed for (Job::source_etag).
// Jobs queued before it carry none, and their source is not checked.
constexpr std::string_view kMigrationV3 = R"sql(
ALTER TABLE jobs ADD COLUMN source_etag TEXT NOT NULL DEFAULT '';
)sql";

// v4: the webhook deliveries received, by their senders' ids, so that a
// replayed or retried delivery is applied once (RecordDelivery); rows older
// than a day are pruned by the writers.
constexpr std::string_view kMigrationV4 = R"sql(
CREATE TABLE webhook_deliveries (
  id TEXT PRIMARY KEY,
  received_at_ms INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_by_age ON webhook_deliveries (received_at_ms);
)sql";

// v5: accounts (issue 12). Users, unique by lower(email) (SQLite's lower()
// folds ASCII only; callers lower-case emails before they get here), their
// sessions (gone with the user: foreign keys are on), and each video's owner
// and visibility. Videos from before have no owner and stay public; the
// first user to register adopts them. videos.owner_id has no foreign key:
// a video keeps its owner id as history, like jobs keep their video id.
constexpr std::string_view kMigrationV5 = R"sql(
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  password_hash TEXT NOT NULL,
  is_admin INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_by_email ON users (lower(email));

CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  secret_hash TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at_ms);

ALTER TABLE videos ADD COLUMN owner_id TEXT;
ALTER TABLE videos ADD COLUMN visibility TEXT NOT NULL DEFAULT 'public'
  CHECK (visibility IN ('public', 'unlisted', 'private'));
CREATE INDEX videos_by_owner_created ON videos (owner_id, created_at_ms DESC, id DESC);
)sql";

}  // namespace

const std::vector<std::string_view>& SqliteMigrations() {
  static const std::vector<std::string_view> kMigrations = {
      kMigrationV1, kMigrationV2, kMigrationV3, kMigrationV4, kMigrationV5};
  return kMigrations;
}

}  // namespace vs::db::internal
