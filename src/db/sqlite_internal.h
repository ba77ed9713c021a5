// Internals of the SQLite adapter, kept apart so the tests can reach them:
// the FTS5 tokenizer and search-query builder, and the migration runner.
// Not part of the db module's interface.
//
// FtsTokenizer and Migrate use a connection and must be called by the thread
// that currently owns it; the other functions are thread-safe.
#pragma once

#include <sqlite3.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "db/codec.h"

namespace vs::db::internal {

// The FTS5 tokenizer that the videos_fts index uses (unicode61 with
// remove_diacritics 2; the two must stay in step), run over user input so
// that a search asks for exactly the tokens the index holds. Owned by one
// connection; destroy it before closing that connection.
class FtsTokenizer {
 public:
  static Result<std::unique_ptr<FtsTokenizer>> Create(sqlite3* db);
  ~FtsTokenizer();
  FtsTokenizer(const FtsTokenizer&) = delete;
  FtsTokenizer& operator=(const FtsTokenizer&) = delete;

  // Distinct folded tokens in input order, at most `max_tokens`.
  std::vector<std::string> Tokenize(std::string_view text, size_t max_tokens) const;

 private:
  FtsTokenizer() = default;
  fts5_tokenizer api_{};
  Fts5Tokenizer* tokenizer_ = nullptr;
};

// A MATCH expression that requires every token as a prefix ("tok"* AND ...).
// Tokens are quoted, so FTS5 operators and column filters in user input are
// plain words. Empty when there are no tokens: the caller returns no rows.
std::string BuildFtsQuery(const std::vector<std::string>& tokens);

// Runs one statement (or several separated by ';') without parameters.
Status Exec(sqlite3* db, const char* sql);
Error SqlError(sqlite3* db, std::string_view context);

// Brings the schema (PRAGMA user_version) up to migrations.size(), each
// migration in its own BEGIN IMMEDIATE transaction together with the version
// bump, so a crash or a concurrent opener never sees half a migration and
// no migration runs twice. Fails when the file is newer than this binary.
Result<int> Migrate(sqlite3* db, const std::vector<std::string_view>& migrations);

}  // namespace vs::db::internal
