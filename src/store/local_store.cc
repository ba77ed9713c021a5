#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "core/ids.h"
#include "store/keys.h"
#include "store/object_store.h"

namespace vs::store {
namespace {

namespace fs = std::filesystem;

Error Errno(const std::string& what) {
  if (errno == ENOSPC || errno == EDQUOT) return StorageFull(what + ": " + strerror(errno));
  const bool missing = errno == ENOENT;
  return MakeError(missing ? ErrorKind::kNotFound : ErrorKind::kUnavailable,
                   missing ? kNotFound : kStoreError, what + ": " + strerror(errno));
}

Status FsyncPath(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return Errno("open " + path);
  int r = ::fsync(fd);
  ::close(fd);
  if (r != 0) return Errno("fsync " + path);
  return {};
}

std::string EtagFor(const struct stat& st) {
  char buf[64];
  snprintf(buf, sizeof(buf), "\"%llx-%llx-%llx\"", static_cast<unsigned long long>(st.st_size),
           static_cast<unsigned long long>(st.st_mtim.tv_sec * 1000000000ULL + st.st_mtim.tv_nsec),
           static_cast<unsigned long long>(st.st_ino));
  return buf;
}

// Temporaries (root/.tmp) carry an open file description lock (fcntl
// F_OFD_SETLK) for as long as their writer has them open. The kernel drops it
// when the writer's descriptor closes, also when the process is killed, so
// every process sharing the storage can tell a temporary in flight from one
// whose writer is gone (unlike classic POSIX locks, OFD locks conflict
// within one process too, and closing another descriptor of the file does
// not drop them). Where the file system has no such locks, a temporary
// untouched for this long is taken for abandoned instead.
constexpr auto kUnlockedMaxAge = std::chrono::hours(1);

enum class Lock { kTaken, kBusy, kUnsupported };

// Locks the whole file; `wait` blocks while someone else holds a
// conflicting lock.
Lock LockFile(int fd, short type, bool wait) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  for (;;) {
    if (::fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) == 0) return Lock::kTaken;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EACCES ? Lock::kBusy : Lock::kUnsupported;
  }
}

// Whether `path` still names the file open as `fd`.
bool StillNamed(int fd, const std::string& path) {
  struct stat a {}, b {};
  return ::fstat(fd, &a) == 0 && ::lstat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Creates and locks a temporary in `dir`. A sweep may take the lock of the
// new, still unlocked file and remove it first: the name then no longer
// leads to our file, and we start again with another.
Result<int> CreateLockedTemporary(const std::string& dir, std::string* path) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    *path = dir + "/" + RandomHex(12);
    int fd = ::open(path->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return Errno("create temporary object");
    if (LockFile(fd, F_WRLCK, /*wait=*/true) == Lock::kUnsupported || StillNamed(fd, *path)) return fd;
    ::close(fd);
  }
  return StoreError("cannot create a temporary object in " + dir);
}

// Removes `path` when it is abandoned: nobody holds its lock (it is
// unlinked while we hold it, so no writer can take it over meanwhile), or,
// without lock support, it is older than kUnlockedMaxAge.
bool RemoveIfAbandoned(const fs::directory_entry& e) {
  std::error_code ec;
  const bool old = e.last_write_time(ec) < fs::file_time_type::clock::now() - kUnlockedMaxAge && !ec;
  const std::string path = e.path().string();
  const int fd = e.is_regular_file(ec) ? ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) : -1;
  if (fd < 0) return old && fs::remove_all(e.path(), ec) > 0;
  const Lock lock = LockFile(fd, F_RDLCK, /*wait=*/false);
  const bool gone = lock == Lock::kTaken ? StillNamed(fd, path) : lock == Lock::kUnsupported && old;
  const bool removed = gone && ::unlink(path.c_str()) == 0;
  ::close(fd);
  return removed;
}

// rename(2) that fails with EEXIST instead of replacing; link + unlink
// where the file system has no RENAME_NOREPLACE (the same guarantee, and a
// crash between the two leaves only a temporary the sweep removes).
bool RenameNoReplace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return true;
  if (errno != EINVAL && errno != ENOSYS) return false;
  if (::link(from.c_str(), to.c_str()) != 0) return false;
  ::unlink(from.c_str());
  return true;
}

class LocalWriter final : public ObjectWriter {
 public:
  // `fd` is the locked temporary `tmp`.
  LocalWriter(int fd, std::string tmp, std::string final_path)
      : fd_(fd), tmp_(std::move(tmp)), final_(std::move(final_path)) {}
  ~LocalWriter() override {
    if (!committed_) ::unlink(tmp_.c_str());
    if (fd_ >= 0) ::close(fd_);
  }
  Status Write(const char* data, size_t size) override {
    size_t off = 0;
    while (off < size) {
      ssize_t n = ::write(fd_, data + off, size - off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Errno("write");
      off += static_cast<size_t>(n);
    }
    written_ += size;
    return {};
  }
  uint64_t written() const override { return written_; }
  // The lock is held until the temporary has left .tmp: a sweep never sees
  // it unlocked there.
  Status Commit() override { return Publish(/*replace=*/true); }
  Status CommitIfAbsent() override { return Publish(/*replace=*/false); }

 private:
  Status Publish(bool replace) {
    if (::fsync(fd_) != 0) return Errno("fsync");
    std::error_code ec;
    fs::create_directories(fs::path(final_).parent_path(), ec);
    if (ec) return StoreError("mkdir: " + ec.message());
    if (replace ? ::rename(tmp_.c_str(), final_.c_str()) != 0 : !RenameNoReplace(tmp_, final_)) {
      if (errno == EEXIST)
        return MakeError(ErrorKind::kConflict, kObjectExists, "an object is already stored under this key");
      return Errno("rename");
    }
    committed_ = true;
    ::close(fd_);
    fd_ = -1;
    return FsyncPath(fs::path(final_).parent_path().string(), true);
  }

  int fd_;
  std::string tmp_, final_;
  uint64_t written_ = 0;
  bool committed_ = false;
};

// Reads with pread from its own descriptor, so it keeps seeing the bytes it
// opened even when the key is replaced or deleted meanwhile.
class LocalReader final : public ObjectReader {
 public:
  LocalReader(int fd, uint64_t pos, uint64_t end) : fd_(fd), pos_(pos), end_(end) {}
  ~LocalReader() override { ::close(fd_); }
  Result<size_t> Read(char* buf, size_t cap) override {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(cap, end_ - pos_));
    if (want == 0) return size_t{0};
    for (;;) {
      ssize_t n = ::pread(fd_, buf, want, static_cast<off_t>(pos_));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Errno("read");
      if (n == 0) end_ = pos_;  // truncated under us: end early
      pos_ += static_cast<uint64_t>(n);
      return static_cast<size_t>(n);
    }
  }

 private:
  int fd_;
  uint64_t pos_, end_;
};

// PutFile's copy of a local file into a writer.
Status CopyInto(const std::string& path, ObjectWriter& w) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  // A missing local file is the caller's fault, not a missing object.
  if (fd < 0) return StoreError("open " + path + ": " + strerror(errno));
  std::vector<char> buf(1 << 20);
  Status st;
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) st = Errno("read " + path);
    if (n <= 0) break;
    st = w.Write(buf.data(), static_cast<size_t>(n));
    if (!st.ok()) break;
  }
  ::close(fd);
  return st;
}

class LocalStore final : public ObjectStore {
 public:
  LocalStore(std::string root, LocalStoreOptions options) : root_(std::move(root)), options_(options) {}
  ~LocalStore() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (sweeper_.joinable()) sweeper_.join();
  }

  // Temporaries of a crashed process are garbage, but other live processes
  // (the API and separate workers share the storage) may be writing theirs
  // right now: their locks tell them apart. Swept at start and then
  // periodically, for the processes that die while this one runs.
  Status Init() {
    std::error_code ec;
    fs::create_directories(root_ + "/.tmp", ec);
    if (ec) return StoreError("cannot create " + root_ + ": " + ec.message());
    RemoveAbandonedTemporaries(root_);
    if (options_.sweep_every.count() > 0) {
      // Signals are the application's business (it waits for SIGTERM on a
      // thread of its own, possibly set up after this): the sweeper starts
      // with all of them blocked, so it is never the thread that gets one.
      sigset_t all, old;
      sigfillset(&all);
      pthread_sigmask(SIG_BLOCK, &all, &old);
      sweeper_ = std::thread([this] { SweepUntilStopped(); });
      pthread_sigmask(SIG_SETMASK, &old, nullptr);
    }
    return {};
  }

  Result<ObjectInfo> Stat(const std::string& key) override {
    VS_TRY(CheckKey(key));
    struct stat st {};
    if (::stat(PathOf(key).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return MakeError(ErrorKind::kNotFound, kNotFound, "no object " + key);
    }
    ObjectInfo info;
    info.size = static_cast<uint64_t>(st.st_size);
    info.mtime_ms = st.st_mtim.tv_sec * 1000LL + st.st_mtim.tv_nsec / 1000000;
    info.etag = EtagFor(st);
    return info;
  }

  Result<std::unique_ptr<ObjectWriter>> OpenWriter(const std::string& key) override {
    VS_TRY(CheckKey(key));
    std::string tmp;
    VS_ASSIGN_OR_RETURN(const int fd, CreateLockedTemporary(root_ + "/.tmp", &tmp));
    return std::unique_ptr<ObjectWriter>(new LocalWriter(fd, tmp, PathOf(key)));
  }

  Result<std::unique_ptr<ObjectReader>> OpenReader(const std::string& key, uint64_t offset,
                                                   std::optional<uint64_t> length) override {
    VS_TRY(CheckKey(key));
    int fd = ::open(PathOf(key).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Errno("open " + key);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return MakeError(ErrorKind::kNotFound, kNotFound, "no object " + key);
    }
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    const uint64_t begin = std::min(offset, size);
    const uint64_t end = length ? begin + std::min(*length, size - begin) : size;
    return std::unique_ptr<ObjectReader>(new LocalReader(fd, begin, end));
  }

  Status PutFile(const std::string& key, const std::string& local_path, bool move) override {
    VS_TRY(CheckKey(key));
    const std::string dst = PathOf(key);
    std::error_code ec;
    fs::create_directories(fs::path(dst).parent_path(), ec);
    if (move && ::rename(local_path.c_str(), dst.c_str()) == 0) return {};
    // Different disk (or a copy was asked for): through a locked temporary,
    // as any write.
    VS_ASSIGN_OR_RETURN(std::unique_ptr<ObjectWriter> w, OpenWriter(key));
    VS_TRY(CopyInto(local_path, *w));
    VS_TRY(w->Commit());
    if (move) ::unlink(local_path.c_str());
    return {};
  }

  Result<std::string> FetchToFile(const std::string& key, const std::string&) override {
    VS_TRY(CheckKey(key));
    const std::string p = PathOf(key);
    if (::access(p.c_str(), R_OK) != 0) return Errno("open " + key);
    return p;
  }

  Result<std::vector<std::string>> List(const std::string& prefix) override {
    std::vector<std::string> keys;
    VS_ASSIGN_OR_RETURN(const std::string dir, PrefixFolder(prefix, /*allow_root=*/true));
    std::error_code ec;
    const fs::path base = root_ + (dir.empty() ? "" : "/" + dir);
    if (!fs::exists(base, ec)) return keys;
    for (auto it = fs::recursive_directory_iterator(base, ec); it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (ec) break;
      if (!it->is_regular_file()) continue;
      std::string rel = fs::relative(it->path(), root_, ec).string();
      if (rel.rfind(".tmp/", 0) == 0) continue;
      keys.push_back(rel);
    }
    std::sort(keys.begin(), keys.end());
    return keys;
  }

  Status Delete(const std::string& key) override {
    VS_TRY(CheckKey(key));
    if (::unlink(PathOf(key).c_str()) != 0 && errno != ENOENT) return Errno("delete " + key);
    return {};
  }

  Status DeletePrefix(const std::string& prefix) override {
    VS_ASSIGN_OR_RETURN(const std::string dir, PrefixFolder(prefix, /*allow_root=*/false));
    std::error_code ec;
    fs::remove_all(PathOf(dir), ec);
    if (ec) return StoreError("delete " + dir + ": " + ec.message());
    return {};
  }

  Status Check() override {
    if (::access((root_ + "/.tmp").c_str(), W_OK) != 0) return Errno("storage folder " + root_);
    return {};
  }

  std::optional<std::string> LocalPath(const std::string& key) override {
    if (!IsSafeKey(key)) return std::nullopt;
    return PathOf(key);
  }

  // What an unprivileged process may still write (f_bavail, not f_bfree).
  std::optional<uint64_t> FreeBytes() override {
    struct statvfs vfs {};
    if (::statvfs(root_.c_str(), &vfs) != 0) return std::nullopt;
    return static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  }

 private:
  std::string PathOf(const std::string& key) const { return root_ + "/" + key; }

  void SweepUntilStopped() {
    std::unique_lock lock(mu_);
    while (!wake_.wait_for(lock, options_.sweep_every, [this] { return stopping_; })) {
      lock.unlock();
      RemoveAbandonedTemporaries(root_);
      lock.lock();
    }
  }

  std::string root_;
  LocalStoreOptions options_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::thread sweeper_;
};

}  // namespace

size_t RemoveAbandonedTemporaries(const std::string& root) {
  size_t removed = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root + "/.tmp", ec)) removed += RemoveIfAbandoned(e);
  return removed;
}

Result<std::unique_ptr<ObjectStore>> NewLocalStore(const std::string& root, LocalStoreOptions options) {
  auto s = std::make_unique<LocalStore>(root, options);
  VS_TRY(s->Init());
  return std::unique_ptr<ObjectStore>(std::move(s));
}

}  // namespace vs::store
