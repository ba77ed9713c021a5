#include "db/search_tokens.h"

#include <sqlite3.h>

#include <utility>

#include "db/repository.h"
#include "db/sqlite_internal.h"

namespace vs::db::internal {

struct SearchTokenizer::Impl {
  ~Impl() {
    tokenizer.reset();  // before the connection that hosts it
    sqlite3_close_v2(db);
  }
  sqlite3* db = nullptr;
  std::unique_ptr<FtsTokenizer> tokenizer;
};

SearchTokenizer::SearchTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SearchTokenizer::~SearchTokenizer() = default;

Result<std::unique_ptr<SearchTokenizer>> SearchTokenizer::Create() {
  auto impl = std::make_unique<Impl>();
  if (sqlite3_open_v2(":memory:", &impl->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    return DbError("search tokenizer: cannot open an in-memory SQLite connection");
  }
  VS_ASSIGN_OR_RETURN(impl->tokenizer, FtsTokenizer::Create(impl->db));
  return std::unique_ptr<SearchTokenizer>(new SearchTokenizer(std::move(impl)));
}

std::vector<std::string> SearchTokenizer::Tokenize(std::string_view text, size_t max_tokens) const {
  std::lock_guard lock(mu_);
  return impl_->tokenizer->Tokenize(text, max_tokens);
}

}  // namespace vs::db::internal
