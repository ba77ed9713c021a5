#include "store/object_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

namespace vs::store {
namespace {

namespace fs = std::filesystem;

class LocalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vs-store-XXXXXX";
    root_ = mkdtemp(tmpl);
    store_ = std::move(NewLocalStore(root_).value());
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string root_;
  std::unique_ptr<ObjectStore> store_;
};

TEST_F(LocalStoreTest, KeySafety) {
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
  EXPECT_FALSE(store_->Stat("../x").ok());
  EXPECT_EQ(store_->OpenWriter("a/../../b").error().code, kInvalidKey);
}

TEST_F(LocalStoreTest, WriterIsInvisibleUntilCommit) {
  auto w = std::move(store_->OpenWriter("raw/v1/source").value());
  ASSERT_TRUE(w->Write("hello ", 6).ok());
  ASSERT_TRUE(w->Write("world", 5).ok());
  EXPECT_EQ(w->written(), 11u);
  EXPECT_EQ(store_->Stat("raw/v1/source").error().code, kNotFound);
  ASSERT_TRUE(w->Commit().ok());
  auto info = store_->Stat("raw/v1/source");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->size, 11u);
  EXPECT_EQ(info->etag.front(), '"');
  std::ifstream f(*store_->LocalPath("raw/v1/source"));
  std::string s((std::istreambuf_iterator<char>(f)), {});
  EXPECT_EQ(s, "hello world");
}

TEST_F(LocalStoreTest, AbandonedWriterLeavesNothing) {
  {
    auto w = std::move(store_->OpenWriter("raw/v2/source").value());
    ASSERT_TRUE(w->Write("partial", 7).ok());
  }
  EXPECT_EQ(store_->Stat("raw/v2/source").error().code, kNotFound);
  EXPECT_TRUE(fs::is_empty(root_ + "/.tmp"));
}

TEST_F(LocalStoreTest, PutListDelete) {
  const std::string src = root_ + "/../vs-store-src-" + std::to_string(getpid());
  std::ofstream(src) << "segment";
  ASSERT_TRUE(store_->PutFile("processed/v3/chunk-0-1.m4s", src, /*move=*/true).ok());
  EXPECT_FALSE(fs::exists(src));
  std::ofstream(src) << "manifest";
  ASSERT_TRUE(store_->PutFile("processed/v3/manifest.mpd", src, /*move=*/false).ok());
  EXPECT_TRUE(fs::exists(src));
  fs::remove(src);
  auto keys = store_->List("processed/v3/");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, (std::vector<std::string>{"processed/v3/chunk-0-1.m4s", "processed/v3/manifest.mpd"}));
  auto etag1 = store_->Stat("processed/v3/manifest.mpd")->etag;
  ASSERT_TRUE(store_->DeletePrefix("processed/v3").ok());
  EXPECT_TRUE(store_->List("processed/v3/")->empty());
  EXPECT_TRUE(store_->Delete("processed/v3/none").ok());
  EXPECT_FALSE(etag1.empty());
}

TEST_F(LocalStoreTest, StaleTemporariesAreCleanedAtStartLiveOnesKept) {
  std::ofstream(root_ + "/.tmp/stale") << "x";
  fs::last_write_time(root_ + "/.tmp/stale", fs::file_time_type::clock::now() - std::chrono::hours(2));
  // Another process (the API) is streaming an upload right now.
  auto w = std::move(store_->OpenWriter("raw/live/source").value());
  ASSERT_TRUE(w->Write("ftyp....", 8).ok());
  auto again = NewLocalStore(root_);  // e.g. a worker process starting up
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(fs::exists(root_ + "/.tmp/stale"));
  ASSERT_TRUE(w->Commit().ok());  // the live upload was not disturbed
  EXPECT_EQ(store_->Stat("raw/live/source")->size, 8u);
}

}  // namespace
}  // namespace vs::store
