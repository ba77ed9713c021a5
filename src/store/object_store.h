// Object storage seam. Keys are relative slash-separated paths made of
// [A-Za-z0-9._-] segments (no "..", no empty segments, no leading slash):
// raw uploads live under raw/<video id>/, outputs under processed/<video id>/.
// Adapters: LocalStore (disk, embedded default) and S3Store (s3_store.h, any
// S3-compatible service) for scale-out.
//
// Thread safety: an ObjectStore is thread-safe (the API's request threads and
// the workers share one). The ObjectWriter and ObjectReader it hands out are
// thread-compatible: one owner at a time, but different ones may be used from
// different threads concurrently.
//
// Memory: no call holds a whole object in memory; writers buffer at most one
// part, readers at most about 1 MiB.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace vs::store {

inline constexpr const char* kNotFound = "not_found";
inline constexpr const char* kStoreError = "store_error";
inline constexpr const char* kInvalidKey = "invalid_key";
inline constexpr const char* kStorageFull = "insufficient_storage";
inline constexpr const char* kObjectExists = "object_exists";

// The store failed (I/O, network, refused request): kStoreError, kUnavailable.
inline Error StoreError(std::string message) {
  return MakeError(ErrorKind::kUnavailable, kStoreError, std::move(message));
}

// The disk or quota is full (ENOSPC, EDQUOT): kStorageFull,
// kInsufficientStorage. Not an outage: it does not trip the breaker.
inline Error StorageFull(std::string message) {
  return MakeError(ErrorKind::kInsufficientStorage, kStorageFull, std::move(message));
}

bool IsSafeKey(std::string_view key);

struct ObjectInfo {
  uint64_t size = 0;
  int64_t mtime_ms = 0;
  // Strong validator, quoted ("..."). Changes whenever the bytes may have
  // changed, so a caller that saw it can later check it still holds the same
  // object. For S3 it is S3's own ETag (for multipart objects not an MD5).
  std::string etag;
  std::string content_type;  // as stored; empty when the store keeps none
};

// A streaming write. Bytes become visible under the key only on Commit
// (atomically); destroying an uncommitted writer discards them. After a
// failed Write or Commit the writer is spent: destroy it.
class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  virtual Status Write(const char* data, size_t size) = 0;
  virtual uint64_t written() const = 0;
  virtual Status Commit() = 0;
  // Commit, but only when nothing is stored under the key yet: otherwise a
  // kConflict kObjectExists error, the stored object untouched and the
  // writer spent. LocalStore: atomic (rename without replace). S3Store: a
  // HEAD before the write, so two writers racing to the same new key may
  // both succeed there; S3 keys written this way must have one writer.
  virtual Status CommitIfAbsent() = 0;
};

// A streaming read of a byte range. Destroying it early is fine and cheap
// (remote transfers are aborted).
class ObjectReader {
 public:
  virtual ~ObjectReader() = default;
  // Copies up to `cap` bytes into `buf`; returns how many, 0 at the end of
  // the range. Blocks until at least one byte, the end, or an error.
  virtual Result<size_t> Read(char* buf, size_t cap) = 0;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  virtual Result<ObjectInfo> Stat(const std::string& key) = 0;
  virtual Result<std::unique_ptr<ObjectWriter>> OpenWriter(const std::string& key) = 0;
  // Streams bytes [offset, offset + length) of the object; `length` empty =
  // to the end. A range reaching past the end is clamped to it (an offset at
  // or past the end gives an empty reader). kNotFound when the key is absent.
  //
  // Every adapter and decorator must override this; the default only exists
  // so that stores written before it still compile, and it fails.
  virtual Result<std::unique_ptr<ObjectReader>> OpenReader(const std::string& key, uint64_t offset,
                                                           std::optional<uint64_t> length);
  // Copies a local file into the store under `key` (moves it when the store
  // is on the same disk and `move` is true; with `move` the local file is
  // gone after success in every store).
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

  // Direct-to-storage URLs for browsers and CDNs, valid for `ttl_s` seconds.
  // nullopt when the store cannot hand any out (LocalStore: the API then
  // signs its own upload URLs) or the key is invalid. A presigned PUT binds
  // `content_type`: the client must send exactly that Content-Type header.
  virtual std::optional<std::string> PresignPut(const std::string& key,
                                                const std::string& content_type, int64_t ttl_s);
  virtual std::optional<std::string> PresignGet(const std::string& key, int64_t ttl_s);

  // Readiness: succeeds when the backing storage is reachable and usable.
  virtual Status Check();

  // Bytes a new object may still take, when the store can tell (the local
  // disk: statvfs of its root); nullopt when it cannot (S3 has no limit
  // worth asking). Cheap; called before accepting an upload.
  virtual std::optional<uint64_t> FreeBytes();
};

struct LocalStoreOptions {
  // How often abandoned temporaries are looked for after the sweep at open
  // (on a thread of the store's own); 0 = only at open.
  std::chrono::milliseconds sweep_every = std::chrono::minutes(5);
};

// Disk adapter rooted at `root`: writes go to root/.tmp, are fsynced, then
// renamed into place (and the folder fsynced), so a crash never leaves a
// half-written object under its key. Each temporary is locked while it is
// written, so the temporaries of writers that died (kill -9, a crash) are
// told from those in flight in any process sharing `root` and removed.
Result<std::unique_ptr<ObjectStore>> NewLocalStore(const std::string& root, LocalStoreOptions options = {});

// Removes the temporaries under root/.tmp whose writer is gone; returns how
// many. Safe while other processes write: theirs are locked.
size_t RemoveAbandonedTemporaries(const std::string& root);

}  // namespace vs::store
