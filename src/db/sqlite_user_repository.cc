#include "db/sqlite_user_repository.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "db/sqlite_video_repository.h"

namespace vs::db::internal {
namespace {

Result<User> ReadUserRow(const Stmt& s) { return ReadUser(s); }
Result<Session> ReadSessionRow(const Stmt& s) { return ReadSession(s); }

// Runs a statement on the shared connection (the caller holds its mutex);
// how many rows it changed.
template <typename Bind>
Result<int64_t> Change(Connection& c, std::string_view pg_sql, Bind&& bind) {
  VS_ASSIGN_OR_RETURN(Stmt s, c.Prepare(SqliteNumbered(pg_sql)));
  bind(s);
  VS_TRY(s.Run());
  return s.changes();
}

}  // namespace

Result<std::optional<User>> SqliteUserRepository::Register(User u) {
  std::lock_guard lock(c_.mutex());
  VS_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(c_));
  bool first = false;
  {
    VS_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kUserExistsSql));
    VS_ASSIGN_OR_RETURN(bool row, s.Step());
    first = row && s.ColInt(0) == 0;
  }
  if (first) u.is_admin = true;
  std::optional<User> stored;
  {
    VS_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(SqliteNumbered(kUserInsertSql)));
    BindNewUser(s, u, c_.Now());
    VS_ASSIGN_OR_RETURN(stored, StepOptional<User>(s, &ReadUserRow));
  }
  if (!stored) return stored;  // the email is taken: nothing changed
  if (first) VS_TRY(AdoptOrphansLocked(c_, stored->id));
  VS_TRY(tx.Commit());
  return stored;
}

Result<std::optional<User>> SqliteUserRepository::Get(const std::string& id) {
  ReaderPool::Lease reader = readers_.Acquire(c_);
  VS_ASSIGN_OR_RETURN(Stmt s, reader->Prepare(SqliteNumbered(kUserByIdSql)));
  s.Text(id);
  return StepOptional<User>(s, &ReadUserRow);
}

Result<std::optional<User>> SqliteUserRepository::FindByEmail(const std::string& email) {
  ReaderPool::Lease reader = readers_.Acquire(c_);
  VS_ASSIGN_OR_RETURN(Stmt s, reader->Prepare(SqliteNumbered(kUserByEmailSql)));
  s.Text(email);
  return StepOptional<User>(s, &ReadUserRow);
}

Result<bool> SqliteUserRepository::SetAdmin(const std::string& id, bool admin) {
  std::lock_guard lock(c_.mutex());
  VS_ASSIGN_OR_RETURN(int64_t n, Change(c_, kUserSetAdminSql, [&](Stmt& s) {
                        s.Text(id).Int(admin ? 1 : 0).Int(c_.Now());
                      }));
  return n > 0;
}

Result<bool> SqliteUserRepository::SetPasswordHash(const std::string& id, const std::string& hash,
                                                   int64_t now_ms) {
  std::lock_guard lock(c_.mutex());
  VS_ASSIGN_OR_RETURN(int64_t n, Change(c_, kUserSetPasswordSql,
                                        [&](Stmt& s) { s.Text(id).Text(hash).Int(now_ms); }));
  return n > 0;
}

Result<int64_t> SqliteUserRepository::Count() {
  ReaderPool::Lease reader = readers_.Acquire(c_);
  VS_ASSIGN_OR_RETURN(Stmt s, reader->Prepare(kUserCountSql));
  VS_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? s.ColInt(0) : 0;
}

Status SqliteSessionRepository::Create(const Session& session) {
  std::lock_guard lock(c_.mutex());
  VS_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(SqliteNumbered(kSessionInsertSql)));
  s.Text(session.id)
      .Text(session.user_id)
      .Text(session.secret_hash)
      .Int(session.created_at_ms)
      .Int(session.expires_at_ms);
  return s.Run();
}

Result<std::optional<Session>> SqliteSessionRepository::Get(const std::string& id) {
  ReaderPool::Lease reader = readers_.Acquire(c_);
  VS_ASSIGN_OR_RETURN(Stmt s, reader->Prepare(SqliteNumbered(kSessionByIdSql)));
  s.Text(id);
  return StepOptional<Session>(s, &ReadSessionRow);
}

Result<std::vector<Session>> SqliteSessionRepository::ListForUser(const std::string& user_id,
                                                                  int64_t now_ms) {
  ReaderPool::Lease reader = readers_.Acquire(c_);
  VS_ASSIGN_OR_RETURN(Stmt s, reader->Prepare(SqliteNumbered(kSessionsOfUserSql)));
  s.Text(user_id).Int(now_ms);
  return StepAll<Session>(s, &ReadSessionRow);
}

Result<bool> SqliteSessionRepository::Delete(const std::string& id) {
  std::lock_guard lock(c_.mutex());
  VS_ASSIGN_OR_RETURN(int64_t n, Change(c_, kSessionDeleteSql, [&](Stmt& s) { s.Text(id); }));
  return n > 0;
}

Result<int64_t> SqliteSessionRepository::DeleteForUser(const std::string& user_id) {
  std::lock_guard lock(c_.mutex());
  return Change(c_, kSessionDeleteForUserSql, [&](Stmt& s) { s.Text(user_id); });
}

Result<int64_t> SqliteSessionRepository::PruneExpired(int64_t now_ms) {
  std::lock_guard lock(c_.mutex());
  return Change(c_, kSessionPruneSql, [&](Stmt& s) { s.Int(now_ms); });
}

}  // namespace vs::db::internal
