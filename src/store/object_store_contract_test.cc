// The ObjectStore contract, run against every adapter: LocalStore in a temp
// folder and S3Store against a real s3rver on loopback (skipped, with the
// reason, when node or s3rver is not installed: scripts/setup-node-tests).
// S3-only behaviour (multipart, presigned URLs, outages) follows at the end.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "core/hmac.h"
#include "store/object_store.h"
#include "store/s3_store.h"
#include "store/store_test_util.h"

namespace vs::store {
namespace {

namespace fs = std::filesystem;
using vs::testing::S3rverServer;
using namespace vs::store::testutil;

enum class Kind { kLocal, kS3 };
void PrintTo(Kind k, std::ostream* os) { *os << (k == Kind::kLocal ? "Local" : "S3"); }

class ObjectStoreContract : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vs-store-contract-XXXXXX";
    tmp_ = mkdtemp(tmpl);
    // Keys are per test, so cases sharing one bucket do not see each other.
    prefix_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(prefix_.begin(), prefix_.end(), '/', '-');
    if (GetParam() == Kind::kLocal) {
      store_ = std::move(NewLocalStore(tmp_ + "/root").value());
      return;
    }
    std::string why;
    server_ = SharedS3rver(&why);
    if (!server_) GTEST_SKIP() << "s3rver unavailable: " << why;
    auto s = NewS3Store(OptionsFor(*server_));
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(s).value();
  }
  void TearDown() override { fs::remove_all(tmp_); }

  std::string K(const std::string& key) const { return prefix_ + "/" + key; }

  void Put(const std::string& key, const std::string& data) {
    auto w = store_->OpenWriter(key);
    ASSERT_TRUE(w.ok()) << w.error().message;
    ASSERT_TRUE((*w)->Write(data.data(), data.size()).ok());
    auto s = (*w)->Commit();
    ASSERT_TRUE(s.ok()) << s.error().message;
  }

  std::string Get(const std::string& key, uint64_t offset = 0,
                  std::optional<uint64_t> length = {}) {
    auto r = store_->OpenReader(key, offset, length);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? ReadAll(**r) : "";
  }

  std::string LocalFile(const std::string& name, const std::string& data) {
    const std::string p = tmp_ + "/" + name;
    std::ofstream(p, std::ios::binary) << data;
    return p;
  }

  std::string tmp_;
  std::string prefix_;
  S3rverServer* server_ = nullptr;
  std::unique_ptr<ObjectStore> store_;
};

TEST(KeySafety, OnlyPlainRelativePaths) {
  EXPECT_TRUE(IsSafeKey("raw/0123/source.mp4"));
  EXPECT_TRUE(IsSafeKey("processed/abc/chunk-0-1.m4s"));
  EXPECT_FALSE(IsSafeKey("../etc/passwd"));
  EXPECT_FALSE(IsSafeKey("raw/../../x"));
  EXPECT_FALSE(IsSafeKey("/abs"));
  EXPECT_FALSE(IsSafeKey("raw//x"));
  EXPECT_FALSE(IsSafeKey("raw/.hidden"));
  EXPECT_FALSE(IsSafeKey("raw/a b"));
  EXPECT_FALSE(IsSafeKey("raw/a%2f"));
  EXPECT_FALSE(IsSafeKey(""));
}

TEST_P(ObjectStoreContract, InvalidKeysAreRefused) {
  EXPECT_EQ(store_->Stat("../x").error().code, kInvalidKey);
  EXPECT_EQ(store_->OpenWriter("a/../../b").error().code, kInvalidKey);
  EXPECT_EQ(store_->OpenReader("a//b", 0, std::nullopt).error().code, kInvalidKey);
  EXPECT_EQ(store_->PutFile("/abs", LocalFile("f", "x"), false).error().code, kInvalidKey);
  EXPECT_EQ(store_->FetchToFile("a b", tmp_ + "/s").error().code, kInvalidKey);
  EXPECT_EQ(store_->List("../").error().code, kInvalidKey);
  EXPECT_EQ(store_->Delete(".x").error().code, kInvalidKey);
  EXPECT_EQ(store_->DeletePrefix("").error().code, kInvalidKey);  // never the whole store
  EXPECT_EQ(store_->DeletePrefix("/").error().code, kInvalidKey);
  EXPECT_EQ(store_->Stat("../x").error().kind, ErrorKind::kInvalid);
  EXPECT_FALSE(store_->PresignGet("../x", 60).has_value());
  EXPECT_FALSE(store_->PresignPut("../x", "video/mp4", 60).has_value());
}

TEST_P(ObjectStoreContract, WriterIsInvisibleUntilCommit) {
  auto w = std::move(store_->OpenWriter(K("raw/v1/source")).value());
  ASSERT_TRUE(w->Write("hello ", 6).ok());
  ASSERT_TRUE(w->Write("world", 5).ok());
  EXPECT_EQ(w->written(), 11u);
  EXPECT_EQ(store_->Stat(K("raw/v1/source")).error().code, kNotFound);
  EXPECT_EQ(store_->Stat(K("raw/v1/source")).error().kind, ErrorKind::kNotFound);
  ASSERT_TRUE(w->Commit().ok());
  auto info = store_->Stat(K("raw/v1/source"));
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->size, 11u);
  ASSERT_GE(info->etag.size(), 3u);
  EXPECT_EQ(info->etag.front(), '"');
  EXPECT_EQ(info->etag.back(), '"');
  EXPECT_GT(info->mtime_ms, 1'600'000'000'000);
  EXPECT_EQ(Get(K("raw/v1/source")), "hello world");
}

TEST_P(ObjectStoreContract, CommitIfAbsentNeverReplaces) {
  auto first = std::move(store_->OpenWriter(K("raw/v9/source")).value());
  auto second = std::move(store_->OpenWriter(K("raw/v9/source")).value());
  ASSERT_TRUE(first->Write("first", 5).ok());
  ASSERT_TRUE(second->Write("second", 6).ok());
  ASSERT_TRUE(first->CommitIfAbsent().ok());
  const Status late = second->CommitIfAbsent();
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(late.error().code, kObjectExists);
  EXPECT_EQ(Get(K("raw/v9/source")), "first");
  // A plain Commit still replaces.
  auto third = std::move(store_->OpenWriter(K("raw/v9/source")).value());
  ASSERT_TRUE(third->Write("third", 5).ok());
  ASSERT_TRUE(third->Commit().ok());
  EXPECT_EQ(Get(K("raw/v9/source")), "third");
}

TEST_P(ObjectStoreContract, AbandonedWriterLeavesNothing) {
  {
    auto w = std::move(store_->OpenWriter(K("raw/v2/source")).value());
    ASSERT_TRUE(w->Write("partial", 7).ok());
  }
  {
    // Past one part, so an S3 writer has a multipart upload to abort.
    auto w = std::move(store_->OpenWriter(K("raw/v2/big")).value());
    const std::string data = RandomBytes(700 << 10, 1);
    ASSERT_TRUE(w->Write(data.data(), data.size()).ok());
  }
  EXPECT_EQ(store_->Stat(K("raw/v2/source")).error().code, kNotFound);
  EXPECT_EQ(store_->Stat(K("raw/v2/big")).error().code, kNotFound);
  EXPECT_TRUE(store_->List(K("raw/v2/"))->empty());
}

TEST_P(ObjectStoreContract, LargeWritesRoundTripExactly) {
  // Sizes around the part boundary (256 KiB for S3 here): below, exactly
  // one part, one byte more, and several parts in odd-sized writes.
  const size_t sizes[] = {0, 1, (256 << 10) - 1, 256 << 10, (256 << 10) + 1, (1 << 20) + 12345};
  for (size_t size : sizes) {
    SCOPED_TRACE(size);
    const std::string data = RandomBytes(size, static_cast<uint32_t>(size));
    const std::string key = K("raw/sizes/" + std::to_string(size));
    auto w = std::move(store_->OpenWriter(key).value());
    for (size_t off = 0; off < size; off += 70001) {
      ASSERT_TRUE(w->Write(data.data() + off, std::min<size_t>(70001, size - off)).ok());
    }
    ASSERT_TRUE(w->Commit().ok());
    EXPECT_EQ(store_->Stat(key)->size, size);
    EXPECT_EQ(Sha256Hex(Get(key)), Sha256Hex(data));
  }
}

TEST_P(ObjectStoreContract, OverwriteChangesEtag) {
  Put(K("m.mpd"), "one");
  const std::string e1 = store_->Stat(K("m.mpd"))->etag;
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  Put(K("m.mpd"), "two!");
  const auto info = store_->Stat(K("m.mpd"));
  EXPECT_NE(info->etag, e1);
  EXPECT_EQ(info->size, 4u);
  EXPECT_EQ(Get(K("m.mpd")), "two!");
}

TEST_P(ObjectStoreContract, PutFileMovesOrCopies) {
  const std::string moved = LocalFile("seg", "segment");
  ASSERT_TRUE(store_->PutFile(K("processed/v3/chunk-0-1.m4s"), moved, /*move=*/true).ok());
  EXPECT_FALSE(fs::exists(moved));
  const std::string copied = LocalFile("man", "manifest");
  ASSERT_TRUE(store_->PutFile(K("processed/v3/manifest.mpd"), copied, /*move=*/false).ok());
  EXPECT_TRUE(fs::exists(copied));
  EXPECT_EQ(Get(K("processed/v3/chunk-0-1.m4s")), "segment");
  EXPECT_EQ(Get(K("processed/v3/manifest.mpd")), "manifest");
  EXPECT_EQ(store_->PutFile(K("x"), tmp_ + "/missing", false).error().code, kStoreError);
}

TEST_P(ObjectStoreContract, PutFileLargeRoundTripsExactly) {
  // Above the S3 multipart threshold used here (512 KiB): several parts.
  const std::string data = RandomBytes((1 << 20) + 777, 7);
  const std::string src = LocalFile("big", data);
  ASSERT_TRUE(store_->PutFile(K("raw/big/source"), src, /*move=*/true).ok());
  EXPECT_FALSE(fs::exists(src));
  EXPECT_EQ(store_->Stat(K("raw/big/source"))->size, data.size());
  auto path = store_->FetchToFile(K("raw/big/source"), tmp_ + "/scratch");
  ASSERT_TRUE(path.ok()) << path.error().message;
  EXPECT_EQ(Sha256Hex(Slurp(*path)), Sha256Hex(data));
}

TEST_P(ObjectStoreContract, FetchToFile) {
  Put(K("raw/f/source"), "fetched bytes");
  auto path = store_->FetchToFile(K("raw/f/source"), tmp_ + "/scratch");
  ASSERT_TRUE(path.ok()) << path.error().message;
  EXPECT_EQ(Slurp(*path), "fetched bytes");
  EXPECT_EQ(store_->FetchToFile(K("raw/f/none"), tmp_ + "/scratch2").error().code, kNotFound);
  EXPECT_FALSE(fs::exists(tmp_ + "/scratch2"));
}

TEST_P(ObjectStoreContract, RangedReads) {
  const std::string data = "0123456789abcdefghij";
  Put(K("r"), data);
  EXPECT_EQ(Get(K("r")), data);
  EXPECT_EQ(Get(K("r"), 5), data.substr(5));
  EXPECT_EQ(Get(K("r"), 5, 3), "567");
  EXPECT_EQ(Get(K("r"), 0, 1), "0");
  EXPECT_EQ(Get(K("r"), 19, 1), "j");
  EXPECT_EQ(Get(K("r"), 15, 100), "fghij");  // length past the end: clamped
  EXPECT_EQ(Get(K("r"), 20), "");            // offset at the end
  EXPECT_EQ(Get(K("r"), 21, 5), "");         // and past it
  EXPECT_EQ(Get(K("r"), 3, 0), "");
  EXPECT_EQ(store_->OpenReader(K("none"), 0, std::nullopt).error().code, kNotFound);
  EXPECT_EQ(store_->OpenReader(K("none"), 5, 5).error().code, kNotFound);
  EXPECT_EQ(store_->OpenReader(K("none"), 0, 0).error().code, kNotFound);
}

TEST_P(ObjectStoreContract, RangedReadsOfLargeObjectInSmallReads) {
  const std::string data = RandomBytes(3 << 20, 3);  // more than a reader buffers
  Put(K("big"), data);
  auto r = store_->OpenReader(K("big"), 1000, (2 << 20) + 5);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Sha256Hex(ReadAll(**r, 1000)), Sha256Hex(data.substr(1000, (2 << 20) + 5)));
}

TEST_P(ObjectStoreContract, EmptyObject) {
  Put(K("empty"), "");
  EXPECT_EQ(store_->Stat(K("empty"))->size, 0u);
  EXPECT_EQ(Get(K("empty")), "");
  EXPECT_EQ(Get(K("empty"), 0, 10), "");
}

TEST_P(ObjectStoreContract, ReaderDestroyedEarly) {
  const std::string data = RandomBytes(4 << 20, 4);
  Put(K("big"), data);
  for (int i = 0; i < 3; ++i) {
    auto r = store_->OpenReader(K("big"), 0, std::nullopt);
    ASSERT_TRUE(r.ok());
    char buf[1024];
    auto n = (*r)->Read(buf, sizeof(buf));
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(std::string(buf, *n), data.substr(0, *n));
  }  // each destroyed with most of the object unread
  {
    auto r = store_->OpenReader(K("big"), 0, std::nullopt);  // never read at all
    ASSERT_TRUE(r.ok());
  }
  EXPECT_EQ(Get(K("big"), 10, 10), data.substr(10, 10));  // the store still works
}

TEST_P(ObjectStoreContract, ListIsSortedAndScopedToTheFolder) {
  for (const char* k : {"v/b/2", "v/a", "v/b/1", "vx/a", "w/a", "v/c.m4s"}) Put(K(k), k);
  const std::vector<std::string> want = {K("v/a"), K("v/b/1"), K("v/b/2"), K("v/c.m4s")};
  EXPECT_EQ(*store_->List(K("v/")), want);
  EXPECT_EQ(*store_->List(K("v")), want);  // the folder, not a string prefix
  EXPECT_EQ(*store_->List(K("v/b/")), (std::vector<std::string>{K("v/b/1"), K("v/b/2")}));
  EXPECT_TRUE(store_->List(K("nothing/"))->empty());
}

TEST_P(ObjectStoreContract, DeleteAndDeletePrefixAreIdempotent) {
  for (const char* k : {"p/1", "p/2/3", "px/1"}) Put(K(k), "x");
  ASSERT_TRUE(store_->Delete(K("p/1")).ok());
  ASSERT_TRUE(store_->Delete(K("p/1")).ok());
  EXPECT_EQ(store_->Stat(K("p/1")).error().code, kNotFound);
  ASSERT_TRUE(store_->DeletePrefix(K("p/")).ok());
  ASSERT_TRUE(store_->DeletePrefix(K("p")).ok());
  EXPECT_TRUE(store_->List(K("p/"))->empty());
  EXPECT_TRUE(store_->Stat(K("px/1")).ok());  // a sibling sharing the letters stays
  EXPECT_TRUE(store_->Delete(K("never/was")).ok());
  EXPECT_TRUE(store_->DeletePrefix(K("never")).ok());
}

TEST_P(ObjectStoreContract, ConcurrentUse) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        const std::string key = K("c/" + std::to_string(t) + "-" + std::to_string(i));
        const std::string data = RandomBytes(1000 + i, static_cast<uint32_t>(t * 100 + i));
        auto w = store_->OpenWriter(key);
        if (!w.ok() || !(*w)->Write(data.data(), data.size()).ok() || !(*w)->Commit().ok())
          ++failures;
        auto r = store_->OpenReader(key, 0, std::nullopt);
        std::string got;
        if (r.ok()) got = ReadAll(**r);
        if (got != data) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store_->List(K("c/"))->size(), 40u);
}

INSTANTIATE_TEST_SUITE_P(Adapters, ObjectStoreContract, ::testing::Values(Kind::kLocal, Kind::kS3),
                         [](const auto& info) {
                           return info.param == Kind::kLocal ? "Local" : "S3";
                         });

TEST(LocalStoreOnly, HandsOutNoPresignedUrls) {
  char tmpl[] = "/tmp/vs-store-local-XXXXXX";
  const std::string root = mkdtemp(tmpl);
  auto store = std::move(NewLocalStore(root).value());
  EXPECT_FALSE(store->PresignPut("raw/a/source", "video/mp4", 60).has_value());
  EXPECT_FALSE(store->PresignGet("raw/a/source", 60).has_value());
  EXPECT_TRUE(store->Check().ok());
  fs::remove_all(root);
}

}  // namespace
}  // namespace vs::store
