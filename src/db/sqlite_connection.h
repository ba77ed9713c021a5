// The SQLite adapter's connection layer: a statement borrowed from a
// connection's cache, the connection itself, the pool of read-only
// connections and write transactions. Internal to the db module.
//
// Nothing here is thread-safe by itself: a Connection (and every Stmt and
// Transaction on it) belongs to whoever holds its mutex.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "db/repository_common.h"
#include "db/sqlite_internal.h"

namespace vs::db::internal {

// A prepared statement borrowed from the connection's cache for one use.
// Resetting on destruction matters beyond tidiness: a stepped but unreset
// SELECT keeps its read transaction open, so later reads on this connection
// would keep seeing an old snapshot.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* stmt, bool* in_use) : db_(db), stmt_(stmt), in_use_(in_use) {}
  Stmt(Stmt&& o) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt();

  Stmt& Int(int64_t v) { return Check(sqlite3_bind_int64(stmt_, ++next_, v)); }
  Stmt& Double(double v) { return Check(sqlite3_bind_double(stmt_, ++next_, Finite(v))); }
  Stmt& Text(std::string_view v) {
    return Check(
        sqlite3_bind_text64(stmt_, ++next_, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  Stmt& Null() { return Check(sqlite3_bind_null(stmt_, ++next_)); }
  template <typename T>
  Stmt& Optional(const std::optional<T>& v) {
    if (!v) return Null();
    if constexpr (std::is_floating_point_v<T>)
      return Double(*v);
    else if constexpr (std::is_integral_v<T>)
      return Int(*v);
    else
      return Text(*v);
  }

  // true: a row is ready; false: done.
  Result<bool> Step();
  // Steps to completion (statements without result rows).
  Status Run();
  int changes() const { return sqlite3_changes(db_); }

  int64_t ColInt(int i) const { return sqlite3_column_int64(stmt_, i); }
  double ColDouble(int i) const { return sqlite3_column_double(stmt_, i); }
  std::string ColText(int i) const;

 private:
  Stmt& Check(int rc) {
    if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
    return *this;
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  bool* in_use_;  // cache slot flag, or null for a one-off statement
  int bind_error_ = SQLITE_OK;
  int next_ = 0;
};

// Steps a statement expected to yield at most one row and finishes it (an
// UPDATE ... RETURNING runs to completion), mapping the row with `read`.
template <typename T>
Result<std::optional<T>> StepOptional(Stmt& s, Result<T> (*read)(const Stmt&)) {
  VS_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<T>();
  VS_ASSIGN_OR_RETURN(T value, read(s));
  VS_TRY(s.Run());
  return std::optional<T>(std::move(value));
}

// Steps a statement to its end, mapping every row with `read`.
template <typename T>
Result<std::vector<T>> StepAll(Stmt& s, Result<T> (*read)(const Stmt&)) {
  std::vector<T> rows;
  while (true) {
    VS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return rows;
    VS_ASSIGN_OR_RETURN(T value, read(s));
    rows.push_back(std::move(value));
  }
}

// A `param` for the SQL builders of repository_common.h (VideoScopeSql):
// queues each value in `values`, to be bound in order, and answers "?".
inline auto QueuedParam(std::vector<std::string>& values) {
  return [&values](const std::string& v) {
    values.push_back(v);
    return std::string("?");
  };
}

// One SQLite connection with its statement cache and search tokenizer.
// Callers hold mutex() for as long as they use it.
class Connection {
 public:
  Connection(sqlite3* db, const Clock& clock) : db_(db), clock_(clock) {}
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* db() const { return db_; }
  int64_t Now() const { return clock_.NowMs(); }
  void set_tokenizer(std::unique_ptr<FtsTokenizer> t) { tokenizer_ = std::move(t); }
  const FtsTokenizer& tokenizer() const { return *tokenizer_; }
  std::mutex& mutex() { return mu_; }

  // SQL text here is always a program constant or assembled from constants
  // and placeholders; values travel only as bound parameters.
  Result<Stmt> Prepare(const std::string& sql);
  Status Exec(const char* sql) { return internal::Exec(db_, sql); }

 private:
  struct Slot {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };

  sqlite3* db_;
  const Clock& clock_;
  std::mutex mu_;
  std::unique_ptr<FtsTokenizer> tokenizer_;
  std::unordered_map<std::string, Slot> cache_;
};

// Extra connections for the API's reads (a video, lists, searches, counts,
// notifications), so that request threads neither queue behind each other
// nor behind a writer on the shared connection. In WAL mode a reader sees
// every transaction committed before its statement starts, from this
// process or another, so nothing read here is older than what the shared
// connection would have returned. Thread-safe once filled (Add happens
// before the database is handed out).
class ReaderPool {
 public:
  // A connection locked for the caller until the lease goes away.
  struct Lease {
    std::unique_lock<std::mutex> lock;
    Connection* conn;
    Connection* operator->() const { return conn; }
    Connection& operator*() const { return *conn; }
  };

  void Add(std::unique_ptr<Connection> c) { readers_.push_back(std::move(c)); }

  // A free reader if there is one (each thread starts looking at its own),
  // else waits for that thread's reader; `primary` when the pool is empty
  // (in-memory databases cannot be shared between connections).
  Lease Acquire(Connection& primary);

 private:
  std::vector<std::unique_ptr<Connection>> readers_;
};

// BEGIN IMMEDIATE takes the write lock up front, so two processes running
// the same read-then-write transaction serialize on it (waiting out
// busy_timeout) instead of one failing with SQLITE_BUSY on lock upgrade.
// Rolls back unless committed.
class Transaction {
 public:
  static Result<Transaction> Begin(Connection& c);
  Transaction(Transaction&& o) noexcept : c_(o.c_), open_(std::exchange(o.open_, false)) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();

  Status Commit();

 private:
  explicit Transaction(Connection& c) : c_(c), open_(true) {}
  Connection& c_;
  bool open_;
};

}  // namespace vs::db::internal
