#include "store/object_store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

namespace vs::store {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

// Sweeps only when a test asks, and no thread of the store's own: the tests
// that fork do it from a single-threaded process.
constexpr LocalStoreOptions kNoPeriodicSweep{.sweep_every = milliseconds(0)};

// An upload in flight in another process: the child opens a writer, writes
// a little and waits, holding its temporary, until it is killed.
class ChildWriter {
 public:
  explicit ChildWriter(const std::string& root) {
    int p[2];
    if (::pipe(p) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(p[0]);
      auto store = NewLocalStore(root, kNoPeriodicSweep);
      auto w = store.ok() ? (*store)->OpenWriter("raw/child/source") : store.error();
      const char ok = w.ok() && (*w)->Write("ftypisom", 8).ok() ? 'y' : 'n';
      if (::write(p[1], &ok, 1) != 1) ::_exit(1);
      for (;;) ::pause();
    }
    ::close(p[1]);
    char c = 0;
    ready_ = pid_ > 0 && ::read(p[0], &c, 1) == 1 && c == 'y';
    ::close(p[0]);
  }
  ~ChildWriter() { Kill(); }
  bool ready() const { return ready_; }
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  bool ready_ = false;
};

class LocalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vs-store-XXXXXX";
    root_ = mkdtemp(tmpl);
    store_ = std::move(NewLocalStore(root_, kNoPeriodicSweep).value());
  }
  void TearDown() override { fs::remove_all(root_); }
  size_t Temporaries() const {
    return static_cast<size_t>(std::distance(fs::directory_iterator(root_ + "/.tmp"), fs::directory_iterator()));
  }
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

TEST_F(LocalStoreTest, UnlockedTemporariesAreCleanedAtStartLiveOnesKept) {
  // Nobody holds this one, however recent: its writer is gone.
  std::ofstream(root_ + "/.tmp/abandoned") << "x";
  // Another store in this process is streaming an upload right now.
  auto w = std::move(store_->OpenWriter("raw/live/source").value());
  ASSERT_TRUE(w->Write("ftyp....", 8).ok());
  auto again = NewLocalStore(root_, kNoPeriodicSweep);  // e.g. a worker process starting up
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(fs::exists(root_ + "/.tmp/abandoned"));
  EXPECT_EQ(Temporaries(), 1u);
  ASSERT_TRUE(w->Commit().ok());  // the live upload was not disturbed
  EXPECT_EQ(store_->Stat("raw/live/source")->size, 8u);
  EXPECT_EQ(Temporaries(), 0u);
}

TEST_F(LocalStoreTest, TemporaryOfAKilledWriterGoesAtTheNextSweep) {
  ChildWriter child(root_);
  ASSERT_TRUE(child.ready());
  ASSERT_EQ(Temporaries(), 1u);
  EXPECT_EQ(RemoveAbandonedTemporaries(root_), 0u);  // its writer is alive
  ASSERT_TRUE(NewLocalStore(root_, kNoPeriodicSweep).ok());  // nor does a start-up take it
  EXPECT_EQ(Temporaries(), 1u);
  child.Kill();  // kill -9 mid-upload
  EXPECT_EQ(Temporaries(), 1u);
  EXPECT_EQ(RemoveAbandonedTemporaries(root_), 1u);
  EXPECT_EQ(Temporaries(), 0u);
}

TEST_F(LocalStoreTest, PeriodicSweepRemovesTheTemporaryOfAKilledWriter) {
  ChildWriter child(root_);
  ASSERT_TRUE(child.ready());
  auto sweeping = NewLocalStore(root_, {.sweep_every = milliseconds(20)});
  ASSERT_TRUE(sweeping.ok());
  std::this_thread::sleep_for(milliseconds(200));  // several sweeps
  EXPECT_EQ(Temporaries(), 1u);
  child.Kill();
  for (int i = 0; i < 500 && Temporaries() > 0; ++i) std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(Temporaries(), 0u);
}

}  // namespace
}  // namespace vs::store
