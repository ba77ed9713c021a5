#include "db/sqlite_database.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/clock.h"
#include "db/db_test_support.h"
#include "db/sqlite_internal.h"

namespace vs::db {
namespace {

namespace fs = std::filesystem;

using test::Id;
using test::kT0;
using test::MakeVideo;

// SQLite-specific behaviour: the file, WAL, the FTS5 index, the migration
// runner on PRAGMA user_version. What every adapter shares is tested in
// repository_contract_test.cc.

// A test-only second door into the file, for what the interface hides.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close(db_); }
  sqlite3* get() { return db_; }
  void Exec(const std::string& sql) {
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
        << sql << ": " << (err ? err : "");
    sqlite3_free(err);
  }
  // First column of the first row as text ("" when none).
  std::string Query(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
    std::string out;
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr)
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

class SqliteDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::path(::testing::TempDir()) / "vs_db_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = (fs::path(dir_) / "visionsync.db").string();
    db_ = OpenDb();
  }
  void TearDown() override {
    db_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::unique_ptr<SqliteDatabase> OpenDb() {
    auto db = SqliteDatabase::Open(path_, clock_);
    EXPECT_TRUE(db.ok()) << (db.ok() ? "" : db.error().message);
    return db.ok() ? std::move(db).value() : nullptr;
  }

  VideoRepository& videos() { return db_->videos(); }
  JobQueue& jobs() { return db_->jobs(); }

  void Create(const Video& v) {
    Status s = videos().Create(v);
    ASSERT_TRUE(s.ok()) << s.error().message;
  }

  FakeClock clock_{kT0};
  std::string dir_;
  std::string path_;
  std::unique_ptr<SqliteDatabase> db_;
};

// ---------------------------------------------------------------- file

TEST_F(SqliteDatabaseTest, ReopenKeepsWalModeAndUserVersion) {
  const int version = db_->schema_version();
  EXPECT_GE(version, 1);
  db_.reset();
  db_ = OpenDb();
  ASSERT_NE(db_, nullptr);
  EXPECT_EQ(db_->schema_version(), version);

  RawDb raw(path_);
  EXPECT_EQ(raw.Query("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.Query("PRAGMA user_version"), std::to_string(version));
}

TEST_F(SqliteDatabaseTest, OpenReportsUnopenablePathAsDbError) {
  auto db = SqliteDatabase::Open(dir_ + "/missing/dir/x.db", clock_);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.error().code, kDbError);
}

TEST_F(SqliteDatabaseTest, InMemoryDatabaseWorksWithoutReaderConnections) {
  auto db = SqliteDatabase::Open(":memory:", clock_);
  ASSERT_TRUE(db.ok()) << db.error().message;
  ASSERT_TRUE((*db)->videos().Create(MakeVideo(Id(1), "in memory", kT0)).ok());
  EXPECT_TRUE((*db)->videos().Get(Id(1))->has_value());
  ListQuery q;
  q.search = "memory";
  EXPECT_EQ((*db)->videos().List(q)->items.size(), 1u);
  EXPECT_TRUE((*db)->Ping().ok());
  (*db)->StartJobListener([] {});  // no cross-process wake-up: a no-op
  (*db)->StopJobListener();
}

// ---------------------------------------------------------------- search index

TEST_F(SqliteDatabaseTest, FtsIndexStaysConsistentThroughUpdatesAndDeletes) {
  Create(MakeVideo(Id(1), "original title", kT0, VideoStatus::kUploaded));
  ASSERT_TRUE(
      videos().Transition(Id(1), {VideoStatus::kUploaded}, VideoStatus::kProcessing, {}).ok());
  for (double p : {10.0, 50.0}) ASSERT_TRUE(videos().UpdateProgress(Id(1), p).ok());
  ASSERT_TRUE(
      videos().UpdateMetadata(Id(1), std::string("renamed"), std::nullopt, std::nullopt).ok());
  Create(MakeVideo(Id(2), "second", kT0));
  ASSERT_TRUE(*videos().Delete(Id(1)));

  RawDb raw(path_);
  raw.Exec("INSERT INTO videos_fts (videos_fts) VALUES ('integrity-check')");
  EXPECT_EQ(raw.Query("SELECT COUNT(*) FROM videos_fts WHERE videos_fts MATCH 'second'"), "1");
}

// ---------------------------------------------------------------- migrations

TEST_F(SqliteDatabaseTest, MigrateAppliesOnlyMissingStepsAndRollsBackFailures) {
  RawDb raw((fs::path(dir_) / "m.db").string());
  // Re-running step 1 would fail (the table exists), so passing proves it is skipped.
  const std::string_view m1 = "CREATE TABLE a (x INTEGER)";
  const std::string_view m2 = "CREATE TABLE b (y INTEGER); INSERT INTO a VALUES (1)";
  const std::string_view bad = "CREATE TABLE c (z INTEGER); INSERT INTO nowhere VALUES (1)";

  auto v = internal::Migrate(raw.get(), {m1});
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(*v, 1);
  v = internal::Migrate(raw.get(), {m1, m2});
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(*v, 2);
  v = internal::Migrate(raw.get(), {m1, m2});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 2);
  EXPECT_EQ(raw.Query("SELECT COUNT(*) FROM a"), "1");

  v = internal::Migrate(raw.get(), {m1, m2, bad});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, kDbError);
  EXPECT_EQ(raw.Query("PRAGMA user_version"), "2");
  EXPECT_EQ(raw.Query("SELECT COUNT(*) FROM sqlite_schema WHERE name = 'c'"), "0");

  v = internal::Migrate(raw.get(), {m1});
  ASSERT_FALSE(v.ok());  // the file is newer than this list
}

// ---------------------------------------------------------------- internals

TEST(SqliteInternalTest, SearchQueryUsesTheIndexTokenizer) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  {
    auto tok = internal::FtsTokenizer::Create(db);
    ASSERT_TRUE(tok.ok()) << tok.error().message;
    EXPECT_EQ((*tok)->Tokenize("Café-Crème! café «OR» title:x", 16),
              (std::vector<std::string>{"cafe", "creme", "or", "title", "x"}));
    EXPECT_TRUE((*tok)->Tokenize("\"*^()-+:— 🎉", 16).empty());
    EXPECT_EQ((*tok)->Tokenize("a b c d e", 3).size(), 3u);
  }
  sqlite3_close(db);
  EXPECT_EQ(internal::BuildFtsQuery({"cafe", "or"}), "\"cafe\"* AND \"or\"*");
  EXPECT_EQ(internal::BuildFtsQuery({"a\"b"}), "\"a\"\"b\"*");
  EXPECT_EQ(internal::BuildFtsQuery({}), "");
}

}  // namespace
}  // namespace vs::db
