// UserRepository and SessionRepository on SQLite. Internal to the db module;
// SqliteDatabase owns them. Thread-safe: writes hold the shared connection's
// mutex (Register's transaction included, and BEGIN IMMEDIATE serializes it
// with other processes, so only one first user becomes admin); plain reads
// use the reader pool.
#pragma once

#include "db/repository.h"
#include "db/sqlite_connection.h"

namespace vs::db::internal {

class SqliteUserRepository final : public UserRepository {
 public:
  SqliteUserRepository(Connection& c, ReaderPool& readers) : c_(c), readers_(readers) {}

  Result<std::optional<User>> Register(User u) override;
  Result<std::optional<User>> Get(const std::string& id) override;
  Result<std::optional<User>> FindByEmail(const std::string& email) override;
  Result<bool> SetAdmin(const std::string& id, bool admin) override;
  Result<bool> SetPasswordHash(const std::string& id, const std::string& hash,
                               int64_t now_ms) override;
  Result<int64_t> Count() override;

 private:
  Connection& c_;
  ReaderPool& readers_;
};

class SqliteSessionRepository final : public SessionRepository {
 public:
  SqliteSessionRepository(Connection& c, ReaderPool& readers) : c_(c), readers_(readers) {}

  Status Create(const Session& s) override;
  Result<std::optional<Session>> Get(const std::string& id) override;
  Result<std::vector<Session>> ListForUser(const std::string& user_id, int64_t now_ms) override;
  Result<bool> Delete(const std::string& id) override;
  Result<int64_t> DeleteForUser(const std::string& user_id) override;
  Result<int64_t> PruneExpired(int64_t now_ms) override;

 private:
  Connection& c_;
  ReaderPool& readers_;
};

}  // namespace vs::db::internal
