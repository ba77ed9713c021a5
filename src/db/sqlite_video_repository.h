// VideoRepository on SQLite. Internal to the db module; SqliteDatabase owns
// it. Thread-safe: writes hold the shared connection's mutex for the whole
// call (transactions included), so each call is atomic within the process,
// and BEGIN IMMEDIATE extends that across processes; plain reads go to the
// reader pool.
#pragma once

#include "db/repository.h"
#include "db/sqlite_connection.h"

namespace vs::db::internal {

class SqliteVideoRepository final : public VideoRepository {
 public:
  SqliteVideoRepository(Connection& c, ReaderPool& readers) : c_(c), readers_(readers) {}

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
  Connection& c_;
  ReaderPool& readers_;
};

// AdoptOrphans for a caller that already holds c.mutex() (and may be inside
// a transaction: user registration).
Result<int64_t> AdoptOrphansLocked(Connection& c, const std::string& owner_id);

}  // namespace vs::db::internal
