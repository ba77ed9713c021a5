#include "db/postgres_connection.h"

#include <poll.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

#include "db/repository.h"

namespace vs::db::internal {
namespace {

// libpq messages end with a newline and may span lines; errors here are one
// line (result.h).
std::string OneLine(const char* msg) {
  std::string out;
  for (const char* p = msg != nullptr ? msg : ""; *p != '\0'; ++p) {
    const bool blank = *p == '\n' || *p == '\t' || *p == ' ';
    if (!blank) {
      out += *p;
    } else if (!out.empty() && out.back() != ' ') {
      out += ' ';
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out.empty() ? "unknown error" : out;
}

// Silences the server's NOTICE messages (e.g. from IF NOT EXISTS), which
// libpq would otherwise print on stderr.
void IgnoreNotice(void*, const char*) {}

}  // namespace

PgParams& PgParams::Int(int64_t v) {
  values_.emplace_back(std::to_string(v));
  return *this;
}

PgParams& PgParams::Double(double v) {
  if (!std::isfinite(v)) v = 0;
  char buf[64];
  // Shortest text that reads back as the same double: values round-trip
  // exactly, as they do through SQLite's REAL columns.
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  values_.emplace_back(std::string(buf, ec == std::errc() ? end : buf));
  return *this;
}

PgParams& PgParams::Bool(bool v) {
  values_.emplace_back(v ? "true" : "false");
  return *this;
}

PgParams& PgParams::Text(std::string_view v) {
  if (v.find('\0') != std::string_view::npos && error_.empty())
    error_ = "text parameter " + std::to_string(values_.size() + 1) + " contains a NUL byte";
  values_.emplace_back(std::string(v));
  return *this;
}

std::vector<const char*> PgParams::Pointers() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (const std::string& v : values_) out.push_back(v.c_str());
  return out;
}

PgResult& PgResult::operator=(PgResult&& o) noexcept {
  if (this != &o) {
    PQclear(r_);
    r_ = std::exchange(o.r_, nullptr);
  }
  return *this;
}

PgResult::~PgResult() { PQclear(r_); }

int64_t PgResult::affected() const {
  const char* n = PQcmdTuples(r_);
  return n != nullptr && *n != '\0' ? std::strtoll(n, nullptr, 10) : 0;
}

int64_t PgResult::Row::ColInt(int col) const {
  const char* s = PQgetvalue(r_, row_, col);
  int64_t v = 0;
  if (s != nullptr) std::from_chars(s, s + PQgetlength(r_, row_, col), v);
  return v;
}

double PgResult::Row::ColDouble(int col) const {
  const char* s = PQgetvalue(r_, row_, col);
  double v = 0;
  if (s != nullptr) std::from_chars(s, s + PQgetlength(r_, row_, col), v);
  return v;
}

std::string PgResult::Row::ColText(int col) const {
  const char* s = PQgetvalue(r_, row_, col);
  return s == nullptr ? std::string() : std::string(s, PQgetlength(r_, row_, col));
}

PgConn::~PgConn() {
  if (conn_ != nullptr) PQfinish(conn_);
}

Status PgConn::Connect(const std::string& url, const PostgresOptions& options) {
  if (conn_ != nullptr) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
  // libpq takes whole seconds; round up so a short timeout is not zero (=
  // wait forever).
  const std::string timeout_s =
      std::to_string(std::max(1, (options.connect_timeout_ms + 999) / 1000));
  // expand_dbname: the first "dbname" value may be a whole URI or key=value
  // string; the keywords after it override what it says.
  const char* keys[] = {"dbname",
                        "connect_timeout",
                        "client_encoding",
                        "application_name",
                        "keepalives",
                        "keepalives_idle",
                        nullptr};
  const char* values[] = {url.c_str(), timeout_s.c_str(), "UTF8", "visionsync", "1", "30", nullptr};
  conn_ = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn_ == nullptr) return DbError("postgres: connect: out of memory");
  if (PQstatus(conn_) != CONNECTION_OK) {
    Error e = DbError("postgres: connect: " + OneLine(PQerrorMessage(conn_)));
    PQfinish(conn_);
    conn_ = nullptr;
    return e;
  }
  PQsetNoticeProcessor(conn_, IgnoreNotice, nullptr);
  PgParams p;
  p.Text(std::to_string(std::max(0, options.statement_timeout_ms)));
  Result<PgResult> set = Exec("SELECT set_config('statement_timeout', $1, false)", p);
  if (!set.ok()) {
    PQfinish(conn_);  // never hand out a session without its settings
    conn_ = nullptr;
    return set.error();
  }
  return {};
}

bool PgConn::Healthy() {
  if (broken()) return false;
  if (PQtransactionStatus(conn_) != PQTRANS_IDLE) return false;
  // An idle connection has nothing to read unless the server said goodbye
  // (shutdown, restart, terminated backend) or closed the socket.
  pollfd pfd{PQsocket(conn_), POLLIN, 0};
  if (pfd.fd < 0) return false;
  if (poll(&pfd, 1, 0) <= 0) return true;
  if (PQconsumeInput(conn_) == 0) return false;
  while (PGnotify* n = PQnotifies(conn_)) PQfreemem(n);
  return PQstatus(conn_) == CONNECTION_OK;
}

Result<PgResult> PgConn::Exec(std::string_view sql, const PgParams& params) {
  last_sqlstate_.clear();
  if (conn_ == nullptr) return DbError("postgres: not connected");
  if (!params.error().empty()) return DbError("postgres: " + params.error());
  const std::string text(sql);
  const std::vector<const char*> values = params.Pointers();
  PgResult r(PQexecParams(conn_, text.c_str(), params.size(), nullptr,
                          values.empty() ? nullptr : values.data(), nullptr, nullptr, 0));
  PGresult* raw = r.get();
  const ExecStatusType st = raw != nullptr ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
  std::string message;
  if (raw != nullptr) {
    const char* code = PQresultErrorField(raw, PG_DIAG_SQLSTATE);
    if (code != nullptr) last_sqlstate_ = code;
    message = OneLine(PQresultErrorMessage(raw));
  } else {
    message = OneLine(PQerrorMessage(conn_));
  }
  if (broken()) message += " (connection lost; it is re-established on a later call)";
  // disk_full: the server is up but cannot grow (ErrorKind::kInsufficientStorage).
  if (last_sqlstate_ == "53100") return DbFull("postgres: " + message);
  return DbError("postgres: " + message);
}

Result<std::unique_ptr<PgConn>> ConnectPg(const std::string& url, const PostgresOptions& options) {
  auto c = std::make_unique<PgConn>();
  VS_TRY(c->Connect(url, options));
  return c;
}

PgPool::PgPool(std::string url, PostgresOptions options) : url_(std::move(url)), options_(options) {
  const int n = std::max(1, options_.pool_size);
  for (int i = 0; i < n; ++i) {
    conns_.push_back(std::make_unique<PgConn>());
    free_.push_back(conns_.back().get());
  }
}

PgPool::~PgPool() = default;

PgPool::Lease::~Lease() {
  if (pool_ != nullptr) pool_->Return(conn_);
}

void PgPool::Return(PgConn* conn) {
  {
    std::lock_guard lock(mu_);
    free_.push_back(conn);
  }
  free_cv_.notify_one();
}

bool PgPool::Retryable(const std::string& sqlstate) {
  return sqlstate == "40001" || sqlstate == "40P01";
}

Result<PgPool::Lease> PgPool::Acquire() {
  PgConn* conn = nullptr;
  {
    std::unique_lock lock(mu_);
    free_cv_.wait(lock, [&] { return !free_.empty(); });
    conn = free_.back();
    free_.pop_back();
  }
  Lease lease(this, conn);
  if (!conn->Healthy()) VS_TRY(Reconnect(*conn));
  return lease;
}

Status PgPool::Reconnect(PgConn& conn) {
  using Clock = std::chrono::steady_clock;
  {
    std::lock_guard lock(mu_);
    if (Clock::now() < retry_at_) return DbError(last_connect_error_);
  }
  Status s = conn.Connect(url_, options_);
  std::lock_guard lock(mu_);
  if (s.ok()) {
    backoff_ = std::chrono::milliseconds(0);
    retry_at_ = {};
    return s;
  }
  // The server is away: let the other callers fail fast for a while rather
  // than each spending a connect attempt.
  backoff_ =
      std::clamp(backoff_ * 2, std::chrono::milliseconds(50), std::chrono::milliseconds(1000));
  retry_at_ = Clock::now() + backoff_;
  last_connect_error_ = s.error().message;
  return s;
}

}  // namespace vs::db::internal
