#include "db/sqlite_event_log.h"

#include <algorithm>
#include <string>

namespace vs::db::internal {

Status SqliteEventLog::Append(const std::string& origin, const Event& e) {
  std::lock_guard lock(c_.mutex());
  VS_ASSIGN_OR_RETURN(Stmt s, c_.Prepare("INSERT INTO events (origin, video_id, name, payload, "
                                         "created_at_ms) VALUES (?, ?, ?, ?, ?)"));
  s.Text(origin).Text(e.video_id).Text(e.name).Text(e.payload).Int(c_.Now());
  return s.Run();
}

Result<std::vector<StoredEvent>> SqliteEventLog::After(int64_t after_id, int limit) {
  ReaderPool::Lease reader = readers_.Acquire(c_);
  VS_ASSIGN_OR_RETURN(Stmt s, reader->Prepare(std::string("SELECT ") + kEventColumns +
                                              " FROM events WHERE id > ? ORDER BY id LIMIT ?"));
  s.Int(after_id).Int(std::clamp(limit, 1, kMaxEventBatch));
  std::vector<StoredEvent> out;
  while (true) {
    VS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(ReadStoredEvent(s));
  }
  return out;
}

Result<int64_t> SqliteEventLog::LastId() {
  ReaderPool::Lease reader = readers_.Acquire(c_);
  VS_ASSIGN_OR_RETURN(Stmt s, reader->Prepare("SELECT COALESCE(MAX(id), 0) FROM events"));
  VS_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? s.ColInt(0) : 0;
}

Result<int> SqliteEventLog::Prune(int64_t older_than_ms) {
  std::lock_guard lock(c_.mutex());
  VS_ASSIGN_OR_RETURN(Stmt s, c_.Prepare("DELETE FROM events WHERE created_at_ms < ?"));
  s.Int(older_than_ms);
  VS_TRY(s.Run());
  return s.changes();
}

}  // namespace vs::db::internal
