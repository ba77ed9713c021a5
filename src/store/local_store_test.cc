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

// Behaviour every adapter shares is in object_store_contract_test.cc; these
// are the disk adapter's own promises.

TEST_F(LocalStoreTest, CommittedObjectsAreFilesUnderTheRoot) {
  auto w = std::move(store_->OpenWriter("raw/v1/source").value());
  ASSERT_TRUE(w->Write("hello world", 11).ok());
  ASSERT_TRUE(w->Commit().ok());
  EXPECT_EQ(*store_->LocalPath("raw/v1/source"), root_ + "/raw/v1/source");
  std::ifstream f(*store_->LocalPath("raw/v1/source"));
  std::string s((std::istreambuf_iterator<char>(f)), {});
  EXPECT_EQ(s, "hello world");
  EXPECT_EQ(*store_->FetchToFile("raw/v1/source", "/unused"), root_ + "/raw/v1/source");
  EXPECT_FALSE(store_->LocalPath("../x").has_value());
}

TEST_F(LocalStoreTest, AbandonedWriterLeavesNoTemporary) {
  {
    auto w = std::move(store_->OpenWriter("raw/v2/source").value());
    ASSERT_TRUE(w->Write("partial", 7).ok());
  }
  EXPECT_TRUE(fs::is_empty(root_ + "/.tmp"));
  EXPECT_TRUE(store_->List("")->empty());  // .tmp is never listed
}

TEST_F(LocalStoreTest, ReaderKeepsTheBytesItOpened) {
  std::ofstream(root_ + "/obj") << "first";
  auto r = std::move(store_->OpenReader("obj", 1, 3).value());
  ASSERT_TRUE(store_->Delete("obj").ok());
  char buf[16];
  auto n = r->Read(buf, sizeof(buf));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "irs");
  EXPECT_EQ(*r->Read(buf, sizeof(buf)), 0u);
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
