#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <chrono>
#include <filesystem>

#include "core/ids.h"
#include "store/keys.h"
#include "store/object_store.h"

namespace vs::store {
namespace {

namespace fs = std::filesystem;

Error Errno(const std::string& what) {
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

class LocalWriter final : public ObjectWriter {
 public:
  LocalWriter(int fd, std::string tmp, std::string final_path)
      : fd_(fd), tmp_(std::move(tmp)), final_(std::move(final_path)) {}
  ~LocalWriter() override {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(tmp_.c_str());
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
  Status Commit() override {
    if (::fsync(fd_) != 0) return Errno("fsync");
    ::close(fd_);
    fd_ = -1;
    std::error_code ec;
    fs::create_directories(fs::path(final_).parent_path(), ec);
    if (ec) return StoreError("mkdir: " + ec.message());
    if (::rename(tmp_.c_str(), final_.c_str()) != 0) return Errno("rename");
    committed_ = true;
    return FsyncPath(fs::path(final_).parent_path().string(), true);
  }

 private:
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

class LocalStore final : public ObjectStore {
 public:
  explicit LocalStore(std::string root) : root_(std::move(root)) {}

  Status Init() {
    std::error_code ec;
    fs::create_directories(root_ + "/.tmp", ec);
    if (ec) return StoreError("cannot create " + root_ + ": " + ec.message());
    // Temporaries of a crashed process are garbage, but other live processes
    // (the API and separate workers share the storage) may be writing theirs
    // right now: only files nobody has touched for an hour go.
    const auto cutoff = fs::file_time_type::clock::now() - std::chrono::hours(1);
    for (const auto& e : fs::directory_iterator(root_ + "/.tmp", ec)) {
      std::error_code tec;
      if (fs::last_write_time(e.path(), tec) < cutoff && !tec) fs::remove_all(e.path(), tec);
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
    std::string tmp = root_ + "/.tmp/" + RandomHex(12);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return Errno("create temporary object");
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
    // Different disk (or a copy was asked for): copy through a temporary.
    std::string tmp = root_ + "/.tmp/" + RandomHex(12);
    fs::copy_file(local_path, tmp, fs::copy_options::overwrite_existing, ec);
    if (ec) return StoreError("copy " + local_path + ": " + ec.message());
    VS_TRY(FsyncPath(tmp, false));
    if (::rename(tmp.c_str(), dst.c_str()) != 0) return Errno("rename");
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

 private:
  std::string PathOf(const std::string& key) const { return root_ + "/" + key; }

  std::string root_;
};

}  // namespace

Result<std::unique_ptr<ObjectStore>> NewLocalStore(const std::string& root) {
  auto s = std::make_unique<LocalStore>(root);
  VS_TRY(s->Init());
  return std::unique_ptr<ObjectStore>(std::move(s));
}

}  // namespace vs::store
