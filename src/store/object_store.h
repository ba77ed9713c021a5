// Object storage seam. Keys are relative slash-separated paths made of
// [A-Za-z0-9._-] segments (no "..", no empty segments, no leading slash):
// raw uploads live under raw/<video id>/, outputs under processed/<video id>/.
// Adapters: LocalStore (disk, embedded default) and, with scale-out, S3.
// Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace vs::store {

inline constexpr const char* kNotFound = "not_found";
inline constexpr const char* kStoreError = "store_error";
inline constexpr const char* kInvalidKey = "invalid_key";

bool IsSafeKey(std::string_view key);

struct ObjectInfo {
  uint64_t size = 0;
  int64_t mtime_ms = 0;
  std::string etag;  // strong validator, quoted ("...")
};

// A streaming write. Bytes become visible under the key only on Commit
// (atomically); destroying an uncommitted writer discards them.
class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  virtual Status Write(const char* data, size_t size) = 0;
  virtual uint64_t written() const = 0;
  virtual Status Commit() = 0;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  virtual Result<ObjectInfo> Stat(const std::string& key) = 0;
  virtual Result<std::unique_ptr<ObjectWriter>> OpenWriter(const std::string& key) = 0;
  // Copies a local file into the store under `key` (moves it when the store
  // is on the same disk and `move` is true).
  virtual Status PutFile(const std::string& key, const std::string& local_path, bool move) = 0;
  // Makes the object available as a local file for reading: the local store
  // returns its own path; remote stores download into `scratch_path`.
  virtual Result<std::string> FetchToFile(const std::string& key,
                                          const std::string& scratch_path) = 0;
  // Keys under a prefix ("processed/<id>/"), sorted.
  virtual Result<std::vector<std::string>> List(const std::string& prefix) = 0;
  virtual Status Delete(const std::string& key) = 0;           // missing is fine
  virtual Status DeletePrefix(const std::string& prefix) = 0;  // missing is fine
  // The file backing `key` when the store is local (served with sendfile).
  virtual std::optional<std::string> LocalPath(const std::string& key) = 0;
};

// Disk adapter rooted at `root`: writes go to root/.tmp, are fsynced, then
// renamed into place (and the folder fsynced), so a crash never leaves a
// half-written object under its key.
Result<std::unique_ptr<ObjectStore>> NewLocalStore(const std::string& root);

}  // namespace vs::store
