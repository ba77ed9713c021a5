#include "db/sqlite_connection.h"

#include <atomic>

namespace vs::db::internal {

Stmt::Stmt(Stmt&& o) noexcept
    : db_(o.db_),
      stmt_(std::exchange(o.stmt_, nullptr)),
      in_use_(o.in_use_),
      bind_error_(o.bind_error_),
      next_(o.next_) {}

Stmt::~Stmt() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  if (in_use_ != nullptr) {
    *in_use_ = false;
  } else {
    sqlite3_finalize(stmt_);
  }
}

Result<bool> Stmt::Step() {
  if (bind_error_ != SQLITE_OK) return DbError(std::string("bind: ") + sqlite3_errstr(bind_error_));
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqlError(db_, "sqlite");
}

Status Stmt::Run() {
  while (true) {
    VS_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return {};
  }
}

std::string Stmt::ColText(int i) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i));
  return p == nullptr ? std::string() : std::string(p, sqlite3_column_bytes(stmt_, i));
}

Connection::~Connection() {
  tokenizer_.reset();
  for (auto& [sql, slot] : cache_) sqlite3_finalize(slot.stmt);
  sqlite3_close_v2(db_);
}

Result<Stmt> Connection::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end() && !it->second.in_use) {
    it->second.in_use = true;
    return Stmt(db_, it->second.stmt, &it->second.in_use);
  }
  const bool cacheable = it == cache_.end();
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                         cacheable ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, nullptr) != SQLITE_OK) {
    return SqlError(db_, "prepare");
  }
  if (!cacheable) return Stmt(db_, stmt, nullptr);  // nested use of a busy statement
  Slot& slot = cache_[sql];  // nodes are stable, so the flag pointer stays valid
  slot.stmt = stmt;
  slot.in_use = true;
  return Stmt(db_, stmt, &slot.in_use);
}

ReaderPool::Lease ReaderPool::Acquire(Connection& primary) {
  if (readers_.empty()) return {std::unique_lock(primary.mutex()), &primary};
  static std::atomic<size_t> next_thread{0};
  thread_local const size_t home = next_thread++;
  const size_t n = readers_.size();
  for (size_t i = 0; i < n; ++i) {
    Connection& c = *readers_[(home + i) % n];
    std::unique_lock lock(c.mutex(), std::try_to_lock);
    if (lock.owns_lock()) return {std::move(lock), &c};
  }
  Connection& c = *readers_[home % n];
  return {std::unique_lock(c.mutex()), &c};
}

Result<Transaction> Transaction::Begin(Connection& c) {
  VS_TRY(c.Exec("BEGIN IMMEDIATE"));
  return Transaction(c);
}

Transaction::~Transaction() {
  if (open_ && !sqlite3_get_autocommit(c_.db())) (void)c_.Exec("ROLLBACK");
}

Status Transaction::Commit() {
  open_ = false;
  Status s = c_.Exec("COMMIT");
  if (!s.ok() && !sqlite3_get_autocommit(c_.db())) (void)c_.Exec("ROLLBACK");
  return s;
}

}  // namespace vs::db::internal
