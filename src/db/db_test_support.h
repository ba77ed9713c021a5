// Helpers for the db module's tests (linked into db_test only): sample
// values, and the test binary's PostgreSQL server with a fresh database per
// test.
//
// The server is started once per test binary, by a global test environment,
// and only when a selected test needs it (its full name mentions Postgres):
// ctest runs every case in a process of its own, and the SQLite cases should
// not pay for an initdb. A missing or broken PostgreSQL installation fails
// those tests loudly; it never skips them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/video.h"
#include "db/database.h"
#include "db/repository.h"

namespace vs::db::test {

inline constexpr int64_t kT0 = 1'700'000'000'000;

// 24 hex characters whose order follows n, so tie-breaks are predictable.
std::string Id(int n);
Video MakeVideo(const std::string& id, const std::string& title, int64_t created_at_ms,
                VideoStatus status = VideoStatus::kUploading);
// (Designated initializers would trip -Wmissing-field-initializers in g++ 12.)
StatusPatch ErrorPatch(const std::string& message);
StatusPatch ProgressPatch(double progress);
std::vector<std::string> Ids(const std::vector<Video>& videos);

// Creates a video (created now) and confirms its upload: one queued job,
// whose id it returns (0 after a test failure).
int64_t Enqueue(Database& db, const std::string& id, int64_t now);

// Runs `threads` workers, spread round robin over `dbs`, that each Claim,
// Heartbeat and Complete jobs until none is left; how often each job id was
// claimed (every count should be 1).
std::map<int64_t, int> ClaimAllConcurrently(const std::vector<Database*>& dbs, int threads);

// A new, empty database on the shared server; its URL. Records a fatal test
// failure (and returns "") when the server is not available.
std::string FreshPostgresDatabase();
// Stops / restarts the shared server (same port, same data).
void StopPostgres();
void StartPostgres();

// First column of the first row of `sql`, as text ("" when there is none);
// a test failure when the query fails. A second door into the database, for
// what the interface hides.
std::string PgQuery(const std::string& url, const std::string& sql);

}  // namespace vs::db::test
