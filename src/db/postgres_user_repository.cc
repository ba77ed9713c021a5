#include "db/postgres_user_repository.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "db/postgres_video_repository.h"
#include "db/repository_common.h"

namespace vs::db::internal {
namespace {

// pg_advisory_xact_lock key of Register: "vsus" in ASCII.
constexpr int64_t kRegisterLockKey = 0x76737573;

Result<std::optional<User>> OptionalUser(const PgResult& r) {
  if (r.rows() == 0) return std::optional<User>();
  return std::optional<User>(ReadUser(r.row(0)));
}

// A read of at most one user.
Result<std::optional<User>> SelectUser(PgPool& pool, std::string_view sql, const std::string& key) {
  PgParams p;
  p.Text(key);
  return pool.Read([&](PgConn& c) -> Result<std::optional<User>> {
    VS_ASSIGN_OR_RETURN(PgResult r, c.Exec(sql, p));
    return OptionalUser(r);
  });
}

// Runs one data-changing statement; how many rows it changed.
Result<int64_t> Change(PgPool& pool, std::string_view sql, const PgParams& p) {
  return pool.Run([&](PgConn& c) -> Result<int64_t> {
    VS_ASSIGN_OR_RETURN(PgResult r, c.Exec(sql, p));
    return r.affected();
  });
}

}  // namespace

Result<std::optional<User>> PgUserRepository::Register(User u) {
  const int64_t now = clock_.NowMs();
  return pool_.InTransaction([&](PgConn& c) -> Result<std::optional<User>> {
    PgParams key;
    key.Int(kRegisterLockKey);
    VS_TRY(c.Exec("SELECT pg_advisory_xact_lock($1)", key));
    VS_ASSIGN_OR_RETURN(PgResult exists, c.Exec(kUserExistsSql));
    const bool first = exists.rows() > 0 && exists.row(0).ColInt(0) == 0;
    User row = u;
    if (first) row.is_admin = true;
    PgParams p;
    BindNewUser(p, row, now);
    VS_ASSIGN_OR_RETURN(PgResult inserted, c.Exec(kUserInsertSql, p));
    VS_ASSIGN_OR_RETURN(std::optional<User> stored, OptionalUser(inserted));
    if (stored && first) VS_TRY(AdoptOrphansOn(c, stored->id));
    return stored;
  });
}

Result<std::optional<User>> PgUserRepository::Get(const std::string& id) {
  return SelectUser(pool_, kUserByIdSql, id);
}

Result<std::optional<User>> PgUserRepository::FindByEmail(const std::string& email) {
  return SelectUser(pool_, kUserByEmailSql, email);
}

Result<bool> PgUserRepository::SetAdmin(const std::string& id, bool admin) {
  PgParams p;
  p.Text(id).Bool(admin).Int(clock_.NowMs());
  VS_ASSIGN_OR_RETURN(int64_t n, Change(pool_, kUserSetAdminSql, p));
  return n > 0;
}

Result<bool> PgUserRepository::SetPasswordHash(const std::string& id, const std::string& hash,
                                               int64_t now_ms) {
  PgParams p;
  p.Text(id).Text(hash).Int(now_ms);
  VS_ASSIGN_OR_RETURN(int64_t n, Change(pool_, kUserSetPasswordSql, p));
  return n > 0;
}

Result<int64_t> PgUserRepository::Count() {
  return pool_.Read([&](PgConn& c) -> Result<int64_t> {
    VS_ASSIGN_OR_RETURN(PgResult r, c.Exec(kUserCountSql));
    return r.rows() > 0 ? r.row(0).ColInt(0) : 0;
  });
}

Status PgSessionRepository::Create(const Session& s) {
  PgParams p;
  p.Text(s.id).Text(s.user_id).Text(s.secret_hash).Int(s.created_at_ms).Int(s.expires_at_ms);
  VS_TRY(Change(pool_, kSessionInsertSql, p));
  return {};
}

Result<std::optional<Session>> PgSessionRepository::Get(const std::string& id) {
  PgParams p;
  p.Text(id);
  return pool_.Read([&](PgConn& c) -> Result<std::optional<Session>> {
    VS_ASSIGN_OR_RETURN(PgResult r, c.Exec(kSessionByIdSql, p));
    if (r.rows() == 0) return std::optional<Session>();
    return std::optional<Session>(ReadSession(r.row(0)));
  });
}

Result<std::vector<Session>> PgSessionRepository::ListForUser(const std::string& user_id,
                                                              int64_t now_ms) {
  PgParams p;
  p.Text(user_id).Int(now_ms);
  return pool_.Read([&](PgConn& c) -> Result<std::vector<Session>> {
    VS_ASSIGN_OR_RETURN(PgResult r, c.Exec(kSessionsOfUserSql, p));
    std::vector<Session> out;
    out.reserve(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadSession(r.row(i)));
    return out;
  });
}

Result<bool> PgSessionRepository::Delete(const std::string& id) {
  PgParams p;
  p.Text(id);
  VS_ASSIGN_OR_RETURN(int64_t n, Change(pool_, kSessionDeleteSql, p));
  return n > 0;
}

Result<int64_t> PgSessionRepository::DeleteForUser(const std::string& user_id) {
  PgParams p;
  p.Text(user_id);
  return Change(pool_, kSessionDeleteForUserSql, p);
}

Result<int64_t> PgSessionRepository::PruneExpired(int64_t now_ms) {
  PgParams p;
  p.Int(now_ms);
  return Change(pool_, kSessionPruneSql, p);
}

}  // namespace vs::db::internal
