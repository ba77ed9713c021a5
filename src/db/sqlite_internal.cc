#include "db/sqlite_internal.h"

#include <algorithm>
#include <string>
#include <unordered_set>

#include "db/repository.h"

namespace vs::db::internal {

Result<std::unique_ptr<FtsTokenizer>> FtsTokenizer::Create(sqlite3* db) {
  // The documented way to reach the FTS5 C API from a connection.
  fts5_api* api = nullptr;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &stmt, nullptr) != SQLITE_OK)
    return SqlError(db, "fts5 api");
  sqlite3_bind_pointer(stmt, 1, static_cast<void*>(&api), "fts5_api_ptr", nullptr);
  sqlite3_step(stmt);
  sqlite3_finalize(stmt);
  if (api == nullptr || api->iVersion < 2) return DbError("fts5 api unavailable");

  std::unique_ptr<FtsTokenizer> t(new FtsTokenizer());
  void* user_data = nullptr;
  if (api->xFindTokenizer(api, "unicode61", &user_data, &t->api_) != SQLITE_OK)
    return DbError("fts5 tokenizer unicode61 not found");
  const char* args[] = {"remove_diacritics", "2"};
  if (t->api_.xCreate(user_data, args, 2, &t->tokenizer_) != SQLITE_OK) {
    t->tokenizer_ = nullptr;
    return DbError("fts5 tokenizer unicode61 could not be created");
  }
  return t;
}

FtsTokenizer::~FtsTokenizer() {
  if (tokenizer_ != nullptr) api_.xDelete(tokenizer_);
}

std::vector<std::string> FtsTokenizer::Tokenize(std::string_view text, size_t max_tokens) const {
  struct Sink {
    std::vector<std::string> tokens;
    std::unordered_set<std::string> seen;  // long documents: no quadratic scan
    size_t max;
  } sink{{}, {}, max_tokens};
  if (max_tokens == 0 || text.empty()) return {};
  // SQLite lengths are int; the caller bounds the input far below that.
  const int n = static_cast<int>(std::min<size_t>(text.size(), 1 << 20));
  api_.xTokenize(tokenizer_, &sink, FTS5_TOKENIZE_QUERY, text.data(), n,
                 [](void* ctx, int, const char* token, int len, int, int) -> int {
                   auto* s = static_cast<Sink*>(ctx);
                   std::string tok(token, static_cast<size_t>(len));
                   if (s->seen.insert(tok).second) s->tokens.push_back(std::move(tok));
                   // Any non-OK code stops the tokenizer early.
                   return s->tokens.size() >= s->max ? SQLITE_DONE : SQLITE_OK;
                 });
  // unicode61 fails only on out-of-memory; the tokens gathered so far can
  // only narrow the search (they are ANDed), never widen it.
  return std::move(sink.tokens);
}

std::string BuildFtsQuery(const std::vector<std::string>& tokens) {
  std::string q;
  for (const std::string& tok : tokens) {
    if (tok.empty()) continue;
    if (!q.empty()) q += " AND ";
    q += '"';
    for (char c : tok) {
      if (c == '"') q += '"';  // FTS5 escapes a quote inside a string by doubling it
      q += c;
    }
    q += "\"*";
  }
  return q;
}

namespace {

// A full disk is not an outage (see ErrorKind::kInsufficientStorage).
Error DbErrorFor(sqlite3* db, std::string message) {
  return sqlite3_errcode(db) == SQLITE_FULL ? DbFull(std::move(message)) : DbError(std::move(message));
}

}  // namespace

Error SqlError(sqlite3* db, std::string_view context) {
  return DbErrorFor(db, std::string(context) + ": " + sqlite3_errmsg(db));
}

Status Exec(sqlite3* db, const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string text = msg != nullptr ? msg : sqlite3_errmsg(db);
    sqlite3_free(msg);
    return DbErrorFor(db, text);
  }
  return {};
}

namespace {

Result<int> ReadUserVersion(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr) != SQLITE_OK)
    return SqlError(db, "read schema version");
  const int rc = sqlite3_step(stmt);
  const int version = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : 0;
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW) return SqlError(db, "read schema version");
  return version;
}

void RollbackIfOpen(sqlite3* db) {
  // Some errors (I/O, out of memory) already rolled the transaction back.
  if (!sqlite3_get_autocommit(db)) (void)Exec(db, "ROLLBACK");
}

Error NewerSchema(int found, int known) {
  return DbError("database schema version " + std::to_string(found) +
                 " is newer than this binary supports (" + std::to_string(known) + ")");
}

}  // namespace

Result<int> Migrate(sqlite3* db, const std::vector<std::string_view>& migrations) {
  const int target = static_cast<int>(migrations.size());
  // A plain read first: an up-to-date file opens without taking the write lock.
  VS_ASSIGN_OR_RETURN(int version, ReadUserVersion(db));
  while (version < target) {
    VS_TRY(Exec(db, "BEGIN IMMEDIATE"));
    // Re-read under the write lock: another process may have migrated since.
    Result<int> current = ReadUserVersion(db);
    if (!current.ok()) {
      RollbackIfOpen(db);
      return current.error();
    }
    version = *current;
    if (version >= target) {
      RollbackIfOpen(db);
      break;
    }
    const std::string sql(migrations[static_cast<size_t>(version)]);
    const std::string bump = "PRAGMA user_version = " + std::to_string(version + 1);
    Status s = Exec(db, sql.c_str());
    if (s.ok()) s = Exec(db, bump.c_str());
    if (s.ok()) s = Exec(db, "COMMIT");
    if (!s.ok()) {
      RollbackIfOpen(db);
      return MakeError(ErrorKind::kUnavailable, kDbError,
                       "migration " + std::to_string(version + 1) + ": " + s.error().message);
    }
    ++version;
  }
  if (version > target) return NewerSchema(version, target);
  return version;
}

}  // namespace vs::db::internal
