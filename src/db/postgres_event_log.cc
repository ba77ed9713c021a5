#include "db/postgres_event_log.h"

#include <algorithm>
#include <string>

#include "db/repository_common.h"

namespace vs::db::internal {
namespace {

// pg_advisory_xact_lock key of the appenders: "vsev" in ASCII.
constexpr int64_t kAppendLockKey = 0x76736576;

}  // namespace

Status PgEventLog::Append(const std::string& origin, const Event& e) {
  PgParams p;
  p.Text(origin).Text(e.video_id).Text(e.name).Text(e.payload).Int(clock_.NowMs());
  return pool_.InTransaction([&](PgConn& c) -> Status {
    PgParams key;
    key.Int(kAppendLockKey);
    VS_TRY(c.Exec("SELECT pg_advisory_xact_lock($1)", key));
    VS_TRY(
        c.Exec("INSERT INTO events (origin, video_id, name, payload, created_at_ms) "
               "VALUES ($1, $2, $3, $4, $5)",
               p));
    return {};
  });
}

Result<std::vector<StoredEvent>> PgEventLog::After(int64_t after_id, int limit) {
  PgParams p;
  p.Int(after_id).Int(std::clamp(limit, 1, kMaxEventBatch));
  return pool_.Read([&](PgConn& c) -> Result<std::vector<StoredEvent>> {
    VS_ASSIGN_OR_RETURN(PgResult r, c.Exec(std::string("SELECT ") + kEventColumns +
                                               " FROM events WHERE id > $1 ORDER BY id LIMIT $2",
                                           p));
    std::vector<StoredEvent> out;
    out.reserve(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadStoredEvent(r.row(i)));
    return out;
  });
}

Result<int64_t> PgEventLog::LastId() {
  return pool_.Read([&](PgConn& c) -> Result<int64_t> {
    VS_ASSIGN_OR_RETURN(PgResult r, c.Exec("SELECT COALESCE(MAX(id), 0) FROM events"));
    return r.rows() > 0 ? r.row(0).ColInt(0) : 0;
  });
}

Result<int> PgEventLog::Prune(int64_t older_than_ms) {
  PgParams p;
  p.Int(older_than_ms);
  return pool_.Run([&](PgConn& c) -> Result<int> {
    VS_ASSIGN_OR_RETURN(PgResult r, c.Exec("DELETE FROM events WHERE created_at_ms < $1", p));
    return static_cast<int>(r.affected());
  });
}

}  // namespace vs::db::internal
