// VideoRepository on PostgreSQL. Internal to the db module; the PostgreSQL
// database owns it. Thread-safe: each call borrows a pooled connection;
// the multi-statement calls are one transaction that locks the video's row
// first (SELECT ... FOR UPDATE), and the single-statement guarded updates are
// atomic compare-and-sets, so concurrent callers in any process cannot both
// win.
#pragma once

#include <string>
#include <vector>

#include "core/clock.h"
#include "db/postgres_connection.h"
#include "db/repository.h"
#include "db/search_tokens.h"

namespace vs::db::internal {

// The `search` column's value for a video (tsvector input syntax): every
// token of title, description and file name, quoted. Tokens longer than
// PostgreSQL allows in a lexeme are cut (prefix searches still find them);
// a document is capped well below the tsvector size limit.
std::string TsVectorText(const std::vector<std::string>& tokens);
// A tsquery (input syntax) that requires every token as a prefix:
// 'tok':* & 'tok2':*. Empty when there are no tokens.
std::string TsQueryText(const std::vector<std::string>& tokens);

class PgVideoRepository final : public VideoRepository {
 public:
  PgVideoRepository(PgPool& pool, const Clock& clock, const SearchTokenizer& tokenizer)
      : pool_(pool), clock_(clock), tokenizer_(tokenizer) {}

  Status Create(const Video& v) override;
  Result<std::optional<Video>> Get(const std::string& id) override;
  Result<Page<Video>> List(const ListQuery& q) override;
  Result<std::vector<std::pair<VideoStatus, int64_t>>> CountByStatus(const Audience& a) override;
  Result<std::optional<Video>> UpdateMetadata(const std::string& id,
                                              const std::optional<std::string>& title,
                                              const std::optional<std::string>& description,
                                              const std::optional<Visibility>& visibility) override;
  Result<std::optional<Video>> Transition(const std::string& id,
                                          const std::vector<VideoStatus>& from, VideoStatus to,
                                          const StatusPatch& patch) override;
  Result<bool> UpdateProgress(const std::string& id, double progress) override;
  Result<std::optional<ConfirmResult>> ConfirmUpload(const std::string& id,
                                                     const std::string& source_etag) override;
  Result<bool> Delete(const std::string& id) override;
  Result<int64_t> AdoptOrphans(const std::string& owner_id) override;

 private:
  std::string SearchDocument(const std::string& title, const std::string& description,
                             const std::string& file_name) const;

  PgPool& pool_;
  const Clock& clock_;
  const SearchTokenizer& tokenizer_;
};

// VideoRepository::AdoptOrphans on `c`, inside the caller's transaction
// (user registration).
Result<int64_t> AdoptOrphansOn(PgConn& c, const std::string& owner_id);

}  // namespace vs::db::internal
