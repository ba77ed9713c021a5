// The search tokenizer that both adapters share: SQLite FTS5's unicode61
// with remove_diacritics 2 (case folded, Latin diacritics removed, split on
// everything that is not a letter or digit). The SQLite adapter's FTS5 index
// tokenizes with it natively; the PostgreSQL adapter stores these tokens in
// its tsvector column and builds its tsquery from them, so both find the same
// videos for the same input whatever the PostgreSQL server's locale, and
// without server extensions (unaccent). Internal to the db module.
//
// Thread-safe (one tokenization at a time).
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace vs::db::internal {

class SearchTokenizer {
 public:
  // Opens a private in-memory SQLite connection to host the tokenizer.
  static Result<std::unique_ptr<SearchTokenizer>> Create();
  ~SearchTokenizer();
  SearchTokenizer(const SearchTokenizer&) = delete;
  SearchTokenizer& operator=(const SearchTokenizer&) = delete;

  // Distinct folded tokens in input order, at most `max_tokens`.
  std::vector<std::string> Tokenize(std::string_view text, size_t max_tokens) const;

 private:
  struct Impl;
  explicit SearchTokenizer(std::unique_ptr<Impl> impl);
  mutable std::mutex mu_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vs::db::internal
