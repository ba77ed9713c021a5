// UserRepository and SessionRepository on PostgreSQL. Internal to the db
// module; the PostgreSQL database owns them. Thread-safe: each call borrows
// a pooled connection. Register is one transaction under a transaction-scoped
// advisory lock, so concurrent first registrations (in any process) make one
// admin.
#pragma once

#include "core/clock.h"
#include "db/postgres_connection.h"
#include "db/repository.h"

namespace vs::db::internal {

class PgUserRepository final : public UserRepository {
 public:
  PgUserRepository(PgPool& pool, const Clock& clock) : pool_(pool), clock_(clock) {}

  Result<std::optional<User>> Register(User u) override;
  Result<std::optional<User>> Get(const std::string& id) override;
  Result<std::optional<User>> FindByEmail(const std::string& email) override;
  Result<bool> SetAdmin(const std::string& id, bool admin) override;
  Result<bool> SetPasswordHash(const std::string& id, const std::string& hash,
                               int64_t now_ms) override;
  Result<int64_t> Count() override;

 private:
  PgPool& pool_;
  const Clock& clock_;
};

class PgSessionRepository final : public SessionRepository {
 public:
  explicit PgSessionRepository(PgPool& pool) : pool_(pool) {}

  Status Create(const Session& s) override;
  Result<std::optional<Session>> Get(const std::string& id) override;
  Result<std::vector<Session>> ListForUser(const std::string& user_id, int64_t now_ms) override;
  Result<bool> Delete(const std::string& id) override;
  Result<int64_t> DeleteForUser(const std::string& user_id) override;
  Result<int64_t> PruneExpired(int64_t now_ms) override;

 private:
  PgPool& pool_;
};

}  // namespace vs::db::internal
