// Internals of the SQLite adapter, kept apart so the tests can reach them:
// the renditions column codec, the opaque list cursors, the search-query
// builder and the migration runner. Not part of the db module's interface.
//
// Pure functions are thread-safe; FtsTokenizer and Migrate use a connection
// and must be called by the thread that currently owns it.
#pragma once

#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/video.h"

namespace vs::db::internal {

// The renditions column holds JSON (an array of objects with id, name, width,
// height, bitrate) so that it stays readable with the sqlite3 shell and its
// JSON functions. Decoding ignores unknown keys (rows written by a newer
// binary) and returns nullopt for anything that is not such an array.
std::string EncodeRenditions(const std::vector<RenditionInfo>& renditions);
std::optional<std::vector<RenditionInfo>> DecodeRenditions(std::string_view json);

// RFC 4648 base64url without padding. Decoding is strict: only canonical
// encodings are accepted, so every cursor has exactly one spelling.
std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);

// Keyset position of the last video on a page.
struct VideoCursor {
  int64_t created_at_ms = 0;
  std::string id;
};
// Ids a video cursor can carry: 1..256 bytes without control characters.
// Create enforces the same rule, so every stored video can be paged past.
bool IsStorableVideoId(std::string_view id);
std::string EncodeVideoCursor(const VideoCursor& c);
std::optional<VideoCursor> DecodeVideoCursor(std::string_view cursor);
std::string EncodeNotificationCursor(int64_t last_id);
std::optional<int64_t> DecodeNotificationCursor(std::string_view cursor);

// Page sizes are clamped to 1..kMaxPageSize.
inline constexpr int kMaxPageSize = 100;
int ClampLimit(int limit);

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
