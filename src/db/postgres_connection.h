// The PostgreSQL adapter's connection layer (libpq): text-format parameters,
// result rows, one connection, and the pool the repositories share.
// Internal to the db module.
//
// PgConn, PgResult and PgParams are not thread-safe: a PgConn belongs to the
// caller that borrowed it from the pool until it is returned. PgPool is
// thread-safe.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "db/postgres_database.h"

namespace vs::db::internal {

// Statement parameters, all sent in text format (the server converts them
// to the column types); values never become part of the SQL text.
class PgParams {
 public:
  PgParams& Int(int64_t v);
  PgParams& Double(double v);  // non-finite values are stored as 0
  PgParams& Bool(bool v);
  PgParams& Text(std::string_view v);

  int size() const { return static_cast<int>(values_.size()); }
  // libpq's view; valid while this object lives and is not modified.
  std::vector<const char*> Pointers() const;
  // Text that libpq cannot carry (a NUL byte) makes the statement fail
  // before it is sent.
  const std::string& error() const { return error_; }

 private:
  std::vector<std::string> values_;
  std::string error_;
};

// A `param` for the SQL builders of repository_common.h (VideoScopeSql):
// adds each value to `p` and answers its placeholder ($n).
inline auto NumberedParam(PgParams& p) {
  return [&p](const std::string& v) {
    p.Text(v);
    return "$" + std::to_string(p.size());
  };
}

// A statement's rows (text format). Move-only owner of the PGresult.
class PgResult {
 public:
  explicit PgResult(PGresult* r) : r_(r) {}
  PgResult(PgResult&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
  PgResult& operator=(PgResult&& o) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  ~PgResult();

  PGresult* get() const { return r_; }
  int rows() const { return PQntuples(r_); }
  // Rows an INSERT/UPDATE/DELETE touched.
  int64_t affected() const;

  // Row `row`, in the column-accessor shape the shared row mappers expect.
  class Row {
   public:
    Row(const PGresult* r, int row) : r_(r), row_(row) {}
    int64_t ColInt(int col) const;
    double ColDouble(int col) const;
    std::string ColText(int col) const;

   private:
    const PGresult* r_;
    int row_;
  };
  Row row(int i) const { return Row(r_, i); }

 private:
  PGresult* r_;
};

// One libpq connection. Exec runs a single statement with PQexecParams.
class PgConn {
 public:
  PgConn() = default;
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // (Re)connects with the pool's parameters and applies the session
  // settings; the old connection, if any, is closed first.
  Status Connect(const std::string& url, const PostgresOptions& options);
  // Whether the connection is usable as far as can be told without a round
  // trip: connected, and the server has not closed it or sent a fatal error
  // while it sat idle (a server restart does that).
  bool Healthy();
  bool broken() const { return conn_ == nullptr || PQstatus(conn_) == CONNECTION_BAD; }

  Result<PgResult> Exec(std::string_view sql, const PgParams& params = PgParams());
  // SQLSTATE of the last failed Exec ("" when it failed without one, such as
  // a lost connection).
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  PGconn* raw() const { return conn_; }

 private:
  PGconn* conn_ = nullptr;
  std::string last_sqlstate_;
};

// Opens a connection outside any pool (the job listener, the migrator).
Result<std::unique_ptr<PgConn>> ConnectPg(const std::string& url, const PostgresOptions& options);

// A fixed number of connections shared by the repositories. A call borrows
// one for its whole duration (waiting while all are busy), so a transaction
// never spans connections. A connection found broken is re-established on
// the next borrow; while that keeps failing, borrows fail fast (backoff up
// to a second) instead of each waiting for a connect timeout.
class PgPool {
 public:
  PgPool(std::string url, PostgresOptions options);
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  class Lease {
   public:
    Lease(PgPool* pool, PgConn* conn) : pool_(pool), conn_(conn) {}
    Lease(Lease&& o) noexcept
        : pool_(std::exchange(o.pool_, nullptr)), conn_(std::exchange(o.conn_, nullptr)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    PgConn& operator*() const { return *conn_; }
    PgConn* operator->() const { return conn_; }

   private:
    PgPool* pool_;
    PgConn* conn_;
  };

  // A connected connection, or a "db_error" Error when none can be made.
  Result<Lease> Acquire();

  // Runs `fn(PgConn&)` (returning Result<T>) on a borrowed connection.
  // For statements that change data: when the connection is lost under
  // them, whether they took effect is unknown, so the Error goes back to
  // the caller.
  template <typename Fn>
  auto Run(Fn&& fn) -> decltype(fn(std::declval<PgConn&>())) {
    VS_ASSIGN_OR_RETURN(Lease lease, Acquire());
    return fn(*lease);
  }

  // Like Run, for `fn` that only reads: when the connection turns out to be
  // dead (the server ended it while it sat in the pool, and the news had not
  // arrived yet), `fn` runs once more on a fresh connection.
  template <typename Fn>
  auto Read(Fn&& fn) -> decltype(fn(std::declval<PgConn&>())) {
    VS_ASSIGN_OR_RETURN(Lease lease, Acquire());
    auto result = fn(*lease);
    if (result.ok() || !lease->broken() || !Reconnect(*lease).ok()) return result;
    return fn(*lease);
  }

  // Runs `fn(PgConn&)` between BEGIN and COMMIT on one connection and
  // rolls back when it returns an Error. A serialization failure or a
  // deadlock (SQLSTATE 40001, 40P01) reruns the whole transaction, a few
  // times at most; so does a connection found dead at BEGIN (nothing ran).
  template <typename Fn>
  auto InTransaction(Fn&& fn) -> decltype(fn(std::declval<PgConn&>())) {
    VS_ASSIGN_OR_RETURN(Lease lease, Acquire());
    PgConn& c = *lease;
    for (int attempt = 1;; ++attempt) {
      if (Result<PgResult> begin = c.Exec("BEGIN"); !begin.ok()) {
        if (!c.broken() || !Reconnect(c).ok()) return begin.error();
        VS_TRY(c.Exec("BEGIN"));
      }
      auto result = fn(c);
      const bool last = attempt >= kMaxTransactionAttempts;
      if (result.ok()) {
        Result<PgResult> commit = c.Exec("COMMIT");
        if (commit.ok()) return result;
        if (last || !Retryable(c.last_sqlstate())) return commit.error();
      } else {
        const std::string sqlstate = c.last_sqlstate();
        (void)c.Exec("ROLLBACK");
        if (last || !Retryable(sqlstate)) return result;
      }
    }
  }

 private:
  friend class Lease;
  static constexpr int kMaxTransactionAttempts = 3;
  static bool Retryable(const std::string& sqlstate);
  void Return(PgConn* conn);
  // Connects `conn` again, unless a recent attempt failed (backoff): then
  // the last connect error at once.
  Status Reconnect(PgConn& conn);

  const std::string url_;
  const PostgresOptions options_;
  std::mutex mu_;
  std::condition_variable free_cv_;
  std::vector<std::unique_ptr<PgConn>> conns_;
  std::vector<PgConn*> free_;
  // Fail fast after a failed connect until this moment.
  std::chrono::steady_clock::time_point retry_at_{};
  std::chrono::milliseconds backoff_{0};
  std::string last_connect_error_;
};

}  // namespace vs::db::internal
