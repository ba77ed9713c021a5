#include "store/object_store.h"

#include "store/keys.h"

namespace vs::store {

bool IsSafeKey(std::string_view key) {
  if (key.empty() || key.size() > 512 || key.front() == '/' || key.back() == '/') return false;
  size_t seg_start = 0;
  for (size_t i = 0; i <= key.size(); ++i) {
    if (i == key.size() || key[i] == '/') {
      std::string_view seg = key.substr(seg_start, i - seg_start);
      if (seg.empty() || seg == "." || seg == ".." || seg.front() == '.') return false;
      seg_start = i + 1;
      continue;
    }
    const char c = key[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

Status CheckKey(const std::string& key) {
  if (!IsSafeKey(key)) return MakeError(ErrorKind::kInvalid, kInvalidKey, "invalid object key");
  return {};
}

Result<std::string> PrefixFolder(const std::string& prefix, bool allow_root) {
  std::string dir = prefix;
  while (!dir.empty() && dir.back() == '/') dir.pop_back();
  if (dir.empty() && allow_root) return dir;
  VS_TRY(CheckKey(dir));
  return dir;
}

Result<std::unique_ptr<ObjectReader>> ObjectStore::OpenReader(const std::string&, uint64_t,
                                                              std::optional<uint64_t>) {
  return StoreError("this object store cannot stream reads");
}

std::optional<std::string> ObjectStore::PresignPut(const std::string&, const std::string&,
                                                   int64_t) {
  return std::nullopt;
}

std::optional<std::string> ObjectStore::PresignGet(const std::string&, int64_t) {
  return std::nullopt;
}

Status ObjectStore::Check() { return {}; }

std::optional<uint64_t> ObjectStore::FreeBytes() { return std::nullopt; }

}  // namespace vs::store
