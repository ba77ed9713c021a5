// The behaviour every Database adapter must share, checked against each:
// SQLite (a file in a temporary folder) and PostgreSQL (a fresh database on
// the test binary's server). Adapter-specific behaviour is tested beside
// each adapter (sqlite_database_test.cc, postgres_database_test.cc).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "db/codec.h"
#include "db/database.h"
#include "db/db_test_support.h"
#include "db/postgres_connection.h"
#include "db/postgres_database.h"
#include "db/postgres_schema.h"
#include "db/repository.h"
#include "db/sqlite_database.h"
#include "db/sqlite_internal.h"
#include "db/sqlite_schema.h"

namespace vs::db {
namespace {

namespace fs = std::filesystem;
using test::ErrorPatch;
using test::Id;
using test::Ids;
using test::kT0;
using test::MakeVideo;
using test::ProgressPatch;

enum class Adapter { kSqlite, kPostgres };

const char* ToString(Adapter a) { return a == Adapter::kSqlite ? "Sqlite" : "Postgres"; }
std::string AdapterName(const ::testing::TestParamInfo<Adapter>& info) {
  return ToString(info.param);
}
void PrintTo(Adapter a, std::ostream* os) { *os << ToString(a); }

// First column of the first row of `sql` on a SQLite file, as text.
std::string SqliteQuery(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
  std::string out;
  const int rc = sqlite3_step(stmt);
  EXPECT_TRUE(rc == SQLITE_ROW || rc == SQLITE_DONE) << sql << ": " << sqlite3_errmsg(db);
  if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr)
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

class RepositoryContractTest : public ::testing::TestWithParam<Adapter> {
 protected:
  void SetUp() override {
    if (GetParam() == Adapter::kSqlite) {
      std::string tmpl = (fs::path(::testing::TempDir()) / "vs_db_XXXXXX").string();
      ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
      dir_ = tmpl;
      path_ = (fs::path(dir_) / "visionsync.db").string();
    } else {
      url_ = test::FreshPostgresDatabase();
      ASSERT_FALSE(url_.empty());
    }
    db_ = OpenDb();
    ASSERT_NE(db_, nullptr);
  }
  void TearDown() override {
    db_.reset();
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  // Another opener of the same store (like another process).
  Result<std::unique_ptr<Database>> TryOpen() {
    if (GetParam() == Adapter::kPostgres) return OpenPostgres(url_, clock_);
    Result<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(path_, clock_);
    if (!db.ok()) return db.error();
    return std::unique_ptr<Database>(std::move(*db));
  }
  std::unique_ptr<Database> OpenDb() {
    auto db = TryOpen();
    EXPECT_TRUE(db.ok()) << (db.ok() ? "" : db.error().message);
    return db.ok() ? std::move(db).value() : nullptr;
  }

  // First column of the first row of plain SQL (the same text works on
  // both), for what the interface hides.
  std::string Query(const std::string& sql) {
    return GetParam() == Adapter::kSqlite ? SqliteQuery(path_, sql) : test::PgQuery(url_, sql);
  }

  VideoRepository& videos() { return db_->videos(); }
  JobQueue& jobs() { return db_->jobs(); }

  // Closes the database and leaves a fresh store migrated to `version` only,
  // as an older binary left it; `latest` = the version this binary reaches.
  void CloseAndMigrateAFreshStoreTo(size_t version, size_t* latest) {
    db_.reset();
    if (GetParam() == Adapter::kSqlite) {
      path_ = (fs::path(dir_) / ("v" + std::to_string(version) + ".db")).string();
      sqlite3* raw = nullptr;
      ASSERT_EQ(sqlite3_open(path_.c_str(), &raw), SQLITE_OK);
      const auto& all = internal::SqliteMigrations();
      auto v = internal::Migrate(raw, {all.begin(), all.begin() + static_cast<long>(version)});
      sqlite3_close(raw);
      ASSERT_TRUE(v.ok() && *v == static_cast<int>(version));
      *latest = all.size();
    } else {
      url_ = test::FreshPostgresDatabase();
      auto conn = internal::ConnectPg(url_, PostgresOptions{});
      ASSERT_TRUE(conn.ok()) << conn.error().message;
      const auto& all = internal::PostgresMigrations();
      auto v = internal::MigratePostgres(**conn, {all.begin(), all.begin() + static_cast<long>(version)});
      ASSERT_TRUE(v.ok() && *v == static_cast<int>(version));
      *latest = all.size();
    }
  }

  void Create(const Video& v) {
    Status s = videos().Create(v);
    ASSERT_TRUE(s.ok()) << s.error().message;
  }

  // Creates a video and confirms its upload: one queued job.
  int64_t Enqueue(const std::string& id) { return test::Enqueue(*db_, id, clock_.NowMs()); }

  std::optional<Job> Latest(const std::string& video_id) {
    auto j = jobs().LatestForVideo(video_id);
    EXPECT_TRUE(j.ok());
    return j.ok() ? *j : std::nullopt;
  }

  // Walks every page; fails the test on a repeated cursor.
  std::vector<std::string> ListAll(ListQuery q) {
    std::vector<std::string> out;
    std::set<std::string> cursors;
    for (int pages = 0; pages < 1000; ++pages) {
      auto page = videos().List(q);
      EXPECT_TRUE(page.ok()) << (page.ok() ? "" : page.error().message);
      if (!page.ok()) break;
      EXPECT_LE(static_cast<int>(page->items.size()), std::clamp(q.limit, 1, 100));
      for (const Video& v : page->items) out.push_back(v.id);
      if (page->next_cursor.empty()) break;
      EXPECT_TRUE(cursors.insert(page->next_cursor).second);
      q.cursor = page->next_cursor;
    }
    return out;
  }

  std::vector<std::string> Search(const std::string& text) {
    ListQuery q;
    q.search = text;
    q.limit = 100;
    auto page = videos().List(q);
    EXPECT_TRUE(page.ok()) << text << ": " << (page.ok() ? "" : page.error().message);
    return page.ok() ? Ids(page->items) : std::vector<std::string>{};
  }

  FakeClock clock_{kT0};
  std::string dir_;
  std::string path_;  // SQLite
  std::string url_;   // PostgreSQL
  std::unique_ptr<Database> db_;
};

INSTANTIATE_TEST_SUITE_P(Adapters, RepositoryContractTest,
                         ::testing::Values(Adapter::kSqlite, Adapter::kPostgres), AdapterName);

// ---------------------------------------------------------------- videos

TEST_P(RepositoryContractTest, CreateAndGetRoundTripAllFields) {
  Video v = MakeVideo(Id(1), "Überraschung: \"quotes\", 'apostrophes' & 東京 🎬", kT0 - 5);
  v.description = "line one\nline two\ttabbed \\ backslash";
  v.file_name = "Mój film (final).mp4";
  v.file_type = "video/mp4";
  v.file_size = 5'000'000'000;
  v.status = VideoStatus::kReady;
  v.error_message = "none";
  v.progress = 100;
  v.duration = 12.345;
  v.width = 1920;
  v.height = 1080;
  v.renditions = {{"0", "1080p", 1920, 1080, 4'500'000},
                  {"a\"b\\c\n", "名前 ✓", 640, 360, 600'000},
                  {"audio", "audio", 0, 0, 128'000}};
  v.updated_at_ms = kT0 + 7;
  Create(v);

  auto got = videos().Get(v.id);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  const Video& g = **got;
  EXPECT_EQ(g.id, v.id);
  EXPECT_EQ(g.title, v.title);
  EXPECT_EQ(g.description, v.description);
  EXPECT_EQ(g.file_name, v.file_name);
  EXPECT_EQ(g.file_type, v.file_type);
  EXPECT_EQ(g.file_size, v.file_size);
  EXPECT_EQ(g.status, v.status);
  EXPECT_EQ(g.error_message, v.error_message);
  EXPECT_DOUBLE_EQ(g.progress, v.progress);
  EXPECT_DOUBLE_EQ(g.duration, v.duration);
  EXPECT_EQ(g.width, v.width);
  EXPECT_EQ(g.height, v.height);
  ASSERT_EQ(g.renditions.size(), v.renditions.size());
  for (size_t i = 0; i < v.renditions.size(); ++i) {
    EXPECT_EQ(g.renditions[i].id, v.renditions[i].id);
    EXPECT_EQ(g.renditions[i].name, v.renditions[i].name);
    EXPECT_EQ(g.renditions[i].width, v.renditions[i].width);
    EXPECT_EQ(g.renditions[i].height, v.renditions[i].height);
    EXPECT_EQ(g.renditions[i].bitrate, v.renditions[i].bitrate);
  }
  EXPECT_EQ(g.created_at_ms, kT0 - 5);
  EXPECT_EQ(g.updated_at_ms, kT0 + 7);
}

TEST_P(RepositoryContractTest, CreateFillsZeroTimestampsFromClock) {
  Create(MakeVideo(Id(1), "x", 0));
  auto got = videos().Get(Id(1));
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->created_at_ms, kT0);
  EXPECT_EQ((*got)->updated_at_ms, kT0);
}

TEST_P(RepositoryContractTest, GetMissingIsNulloptAndDuplicateCreateIsDbError) {
  auto got = videos().Get(Id(404));
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());

  Create(MakeVideo(Id(1), "first", kT0));
  Status dup = videos().Create(MakeVideo(Id(1), "second", kT0));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, kDbError);
  EXPECT_EQ((*videos().Get(Id(1)))->title, "first");

  // Ids that no cursor could carry are refused up front.
  for (const std::string& bad : {std::string(), std::string("a\nb"), std::string(300, 'a')}) {
    Status s = videos().Create(MakeVideo(bad, "x", kT0));
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, kDbError);
  }
}

TEST_P(RepositoryContractTest, ListIsNewestFirstAndPagesWithoutGapsOrDuplicates) {
  // 23 videos over 5 timestamps: many ties, which the id must break.
  std::vector<std::pair<int64_t, std::string>> expected;
  for (int i = 0; i < 23; ++i) {
    const int64_t ms = kT0 + (i * 7 % 5) * 1000;
    // Insert in a scrambled order so that insertion order cannot fake the result.
    const std::string id = Id((i * 11) % 23 + 1);
    Create(MakeVideo(id, "video", ms));
    expected.emplace_back(ms, id);
  }
  std::sort(expected.rbegin(), expected.rend());
  std::vector<std::string> want;
  for (auto& [ms, id] : expected) want.push_back(id);

  for (int limit : {1, 2, 4, 5, 22, 23, 24, 100}) {
    ListQuery q;
    q.limit = limit;
    EXPECT_EQ(ListAll(q), want) << "limit " << limit;
  }

  ListQuery q;
  q.limit = 23;
  auto page = videos().List(q);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->items.size(), 23u);
  EXPECT_TRUE(page->next_cursor.empty()) << "an exactly full last page has no next page";
}

TEST_P(RepositoryContractTest, CursorIsStableWhileNewVideosArrive) {
  for (int i = 1; i <= 6; ++i) Create(MakeVideo(Id(i), "v", kT0 + i));
  ListQuery q;
  q.limit = 3;
  auto first = videos().List(q);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(Ids(first->items), (std::vector<std::string>{Id(6), Id(5), Id(4)}));
  // Newer uploads land on page one; the next page continues where we were.
  Create(MakeVideo(Id(7), "v", kT0 + 100));
  q.cursor = first->next_cursor;
  auto second = videos().List(q);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(Ids(second->items), (std::vector<std::string>{Id(3), Id(2), Id(1)}));
  EXPECT_TRUE(second->next_cursor.empty());
}

TEST_P(RepositoryContractTest, LimitIsClamped) {
  for (int i = 1; i <= 105; ++i) Create(MakeVideo(Id(i), "v", kT0 + i));
  ListQuery q;
  q.limit = 0;
  EXPECT_EQ(videos().List(q)->items.size(), 1u);
  q.limit = -5;
  EXPECT_EQ(videos().List(q)->items.size(), 1u);
  q.limit = 1000;
  auto page = videos().List(q);
  EXPECT_EQ(page->items.size(), 100u);
  EXPECT_FALSE(page->next_cursor.empty());
}

TEST_P(RepositoryContractTest, MalformedCursorIsInvalidCursorError) {
  Create(MakeVideo(Id(1), "v", kT0));
  ListQuery good;
  good.limit = 1;
  Create(MakeVideo(Id(2), "v", kT0));
  ASSERT_FALSE(videos().List(good)->next_cursor.empty());
  const std::string valid = videos().List(good)->next_cursor;

  using internal::Base64UrlEncode;
  const std::vector<std::string> bad = {
      "garbage!",                                     // not base64url
      "abc=",                                         // padding is not ours
      "a",                                            // impossible length
      valid + "A",                                    // tampered: a NUL byte joins the id
      Base64UrlEncode("x:1:abc"),                     // wrong kind
      Base64UrlEncode("v:01:abc"),                    // non-canonical number
      Base64UrlEncode("v:+1:abc"),                    // sign
      Base64UrlEncode("v:1e3:abc"),                   // not an integer
      Base64UrlEncode("v:99999999999999999999:abc"),  // overflow
      Base64UrlEncode("v:123:"),                      // no id
      Base64UrlEncode("v:123"),                       // no separator
      internal::EncodeNotificationCursor(5),          // another list's cursor
      std::string(4096, 'A'),                         // long junk
  };
  for (const std::string& c : bad) {
    ListQuery q;
    q.cursor = c;
    auto page = videos().List(q);
    ASSERT_FALSE(page.ok()) << c;
    EXPECT_EQ(page.error().code, kBadCursor) << c;
  }
  auto nb = db_->notifications().List(10, valid, "", Audience{});
  ASSERT_FALSE(nb.ok());
  EXPECT_EQ(nb.error().code, kBadCursor);
}

TEST_P(RepositoryContractTest, StatusFilterCombinesWithPagination) {
  const VideoStatus cycle[] = {VideoStatus::kReady, VideoStatus::kError, VideoStatus::kReady,
                               VideoStatus::kUploading};
  std::vector<std::string> ready;
  for (int i = 1; i <= 20; ++i) {
    const VideoStatus st = cycle[i % 4];
    Create(MakeVideo(Id(i), "v", kT0 + i / 3, st));
    if (st == VideoStatus::kReady) ready.push_back(Id(i));
  }
  std::reverse(ready.begin(), ready.end());  // ids grow with time here
  ListQuery q;
  q.status = VideoStatus::kReady;
  q.limit = 3;
  EXPECT_EQ(ListAll(q), ready);
  q.status = VideoStatus::kProcessing;
  EXPECT_TRUE(ListAll(q).empty());
}

TEST_P(RepositoryContractTest, CountByStatusListsEveryStatusInOrder) {
  Create(MakeVideo(Id(1), "a", kT0, VideoStatus::kReady));
  Create(MakeVideo(Id(2), "b", kT0, VideoStatus::kReady));
  Create(MakeVideo(Id(3), "c", kT0, VideoStatus::kError));
  auto counts = videos().CountByStatus(Audience{});
  ASSERT_TRUE(counts.ok());
  std::vector<std::pair<VideoStatus, int64_t>> want = {{VideoStatus::kUploading, 0},
                                                       {VideoStatus::kUploaded, 0},
                                                       {VideoStatus::kProcessing, 0},
                                                       {VideoStatus::kReady, 2},
                                                       {VideoStatus::kError, 1}};
  EXPECT_EQ(*counts, want);
}

// ---------------------------------------------------------------- search

TEST_P(RepositoryContractTest, SearchFindsTitleDescriptionAndFileNameByPrefix) {
  Video a = MakeVideo(Id(1), "Sunset over the harbour", kT0 + 1);
  a.file_name = "IMG_0001.mov";
  Video b = MakeVideo(Id(2), "Untitled", kT0 + 2);
  b.description = "A drone flight above the mountains";
  b.file_name = "DJI_0042.mp4";
  Video c = MakeVideo(Id(3), "Birthday party", kT0 + 3);
  c.file_name = "holiday_in_rome-final.webm";
  for (const Video& v : {a, b, c}) Create(v);

  EXPECT_EQ(Search("sunset"), (std::vector<std::string>{Id(1)}));
  EXPECT_EQ(Search("SUNS"), (std::vector<std::string>{Id(1)}));         // prefix, any case
  EXPECT_EQ(Search("mountain"), (std::vector<std::string>{Id(2)}));     // description
  EXPECT_EQ(Search("dji"), (std::vector<std::string>{Id(2)}));          // file name
  EXPECT_EQ(Search("rome"), (std::vector<std::string>{Id(3)}));         // file name word
  EXPECT_EQ(Search("the"), (std::vector<std::string>{Id(2), Id(1)}));   // newest first
  EXPECT_EQ(Search("drone mount"), (std::vector<std::string>{Id(2)}));  // all words
  EXPECT_TRUE(Search("drone sunset").empty());
  EXPECT_TRUE(Search("zebra").empty());
  EXPECT_EQ(Search("party 🎉"), (std::vector<std::string>{Id(3)}));  // emoji is no word
}

TEST_P(RepositoryContractTest, SearchHandlesUnicodeAndDiacritics) {
  Create(MakeVideo(Id(1), "Café au lait", kT0 + 1));
  Create(MakeVideo(Id(2), "Crème brûlée — la recette", kT0 + 2));
  Create(MakeVideo(Id(3), "東京タワー 夜景", kT0 + 3));
  Create(MakeVideo(Id(4), "ПРИВЕТ мир", kT0 + 4));
  Create(MakeVideo(Id(5), "Ελληνικά βίντεο", kT0 + 5));

  EXPECT_EQ(Search("cafe"), (std::vector<std::string>{Id(1)}));
  EXPECT_EQ(Search("CAFÉ"), (std::vector<std::string>{Id(1)}));
  EXPECT_EQ(Search("creme brul"), (std::vector<std::string>{Id(2)}));
  EXPECT_EQ(Search("«brûlée»"), (std::vector<std::string>{Id(2)}));
  EXPECT_EQ(Search("東京"), (std::vector<std::string>{Id(3)}));
  EXPECT_EQ(Search("夜景"), (std::vector<std::string>{Id(3)}));
  EXPECT_EQ(Search("привет"), (std::vector<std::string>{Id(4)}));
  EXPECT_EQ(Search("МИР"), (std::vector<std::string>{Id(4)}));
  EXPECT_EQ(Search("ΕΛΛΗΝ"), (std::vector<std::string>{Id(5)}));
  // unicode61 strips diacritics from Latin letters only (Greek tonos stays).
  EXPECT_EQ(Search("βίντεο"), (std::vector<std::string>{Id(5)}));
  EXPECT_TRUE(Search("—").empty());
  EXPECT_TRUE(Search("\xff\xfe").empty());  // invalid UTF-8 is not an error
}

TEST_P(RepositoryContractTest, SearchTreatsInjectionAndFtsSyntaxAsText) {
  Create(MakeVideo(Id(1), "foo fighters live", kT0 + 1));
  Create(MakeVideo(Id(2), "bar", kT0 + 2));

  EXPECT_TRUE(Search("'; DROP TABLE videos; --").empty());
  EXPECT_TRUE(Search("\" OR 1=1 --").empty());
  EXPECT_EQ(Search("foo\" OR \"bar"), (std::vector<std::string>{}));  // AND, not OR
  for (const char* q :
       {"title:foo OR", "\"", "*", "'", "(", ")", "foo*", "NEAR(foo live)", "foo AND", "NOT",
        "-foo", "^foo", "{title}: foo", "foo + live", "%", "_", "\\", ";"}) {
    (void)Search(q);  // must not error; ok() is checked inside
  }
  EXPECT_EQ(Search("foo*"), (std::vector<std::string>{Id(1)}));
  EXPECT_EQ(Search("title:foo"), (std::vector<std::string>{}));  // "title" is just a word
  EXPECT_EQ(Search("NEAR(foo live)"), (std::vector<std::string>{}));
  EXPECT_EQ(Search("(foo) [live]"), (std::vector<std::string>{Id(1)}));

  // Blank input is no search: every video, newest first.
  EXPECT_EQ(Search(" \t "), (std::vector<std::string>{Id(2), Id(1)}));

  // The table survived and nothing else changed.
  ListQuery all;
  EXPECT_EQ(videos().List(all)->items.size(), 2u);
  EXPECT_EQ(Query("SELECT COUNT(*) FROM videos"), "2");
}

TEST_P(RepositoryContractTest, SearchCombinesWithStatusFilterAndPagination) {
  for (int i = 1; i <= 12; ++i) {
    Create(MakeVideo(Id(i), i % 2 ? "cats compilation" : "dogs compilation", kT0 + i / 4,
                     i % 3 ? VideoStatus::kReady : VideoStatus::kError));
  }
  ListQuery q;
  q.search = "cat";
  q.limit = 2;
  EXPECT_EQ(ListAll(q), (std::vector<std::string>{Id(11), Id(9), Id(7), Id(5), Id(3), Id(1)}));
  q.status = VideoStatus::kReady;
  EXPECT_EQ(ListAll(q), (std::vector<std::string>{Id(11), Id(7), Id(5), Id(1)}));
  q.search = "compil";
  q.status = VideoStatus::kError;
  EXPECT_EQ(ListAll(q), (std::vector<std::string>{Id(12), Id(9), Id(6), Id(3)}));
}

TEST_P(RepositoryContractTest, SearchIndexFollowsUpdatesAndDeletes) {
  Create(MakeVideo(Id(1), "original title", kT0, VideoStatus::kUploaded));
  ASSERT_TRUE(
      videos().Transition(Id(1), {VideoStatus::kUploaded}, VideoStatus::kProcessing, {}).ok());
  for (double p : {10.0, 50.0}) ASSERT_TRUE(videos().UpdateProgress(Id(1), p).ok());
  ASSERT_TRUE(
      videos().UpdateMetadata(Id(1), std::string("renamed"), std::nullopt, std::nullopt).ok());
  EXPECT_TRUE(Search("original").empty());
  EXPECT_EQ(Search("renamed"), (std::vector<std::string>{Id(1)}));
  ASSERT_TRUE(
      videos().UpdateMetadata(Id(1), std::nullopt, std::string("with words"), std::nullopt).ok());
  EXPECT_EQ(Search("renamed words"), (std::vector<std::string>{Id(1)}));
  ASSERT_TRUE(*videos().Delete(Id(1)));
  EXPECT_TRUE(Search("renamed").empty());
}

// ---------------------------------------------------------------- updates

TEST_P(RepositoryContractTest, UpdateMetadataChangesOnlyGivenFields) {
  Video v = MakeVideo(Id(1), "old title", kT0);
  v.description = "old description";
  Create(v);
  clock_.Advance(500);
  auto r = videos().UpdateMetadata(Id(1), std::string("new title"), std::nullopt, std::nullopt);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->title, "new title");
  EXPECT_EQ((*r)->description, "old description");
  EXPECT_EQ((*r)->updated_at_ms, kT0 + 500);
  EXPECT_EQ((*r)->created_at_ms, kT0);

  r = videos().UpdateMetadata(Id(1), std::nullopt, std::string(""), std::nullopt);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->title, "new title");
  EXPECT_EQ((*r)->description, "");

  r = videos().UpdateMetadata(Id(1), std::nullopt, std::nullopt, std::nullopt);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->title, "new title");

  r = videos().UpdateMetadata(Id(2), std::string("x"), std::nullopt, std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
}

TEST_P(RepositoryContractTest, TransitionIsGuardedByFromSetAndStateMachine) {
  Create(MakeVideo(Id(1), "v", kT0, VideoStatus::kUploaded));
  using S = VideoStatus;

  // Wrong from-set: the current status is not listed.
  auto r = videos().Transition(Id(1), {S::kUploading}, S::kProcessing, {});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());

  clock_.Advance(10);
  r = videos().Transition(Id(1), {S::kUploaded}, S::kProcessing, ProgressPatch(0));
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->status, S::kProcessing);
  EXPECT_EQ((*r)->updated_at_ms, kT0 + 10);

  StatusPatch done;
  done.progress = 100;
  done.duration = 61.5;
  done.width = 1280;
  done.height = 720;
  done.renditions = std::vector<RenditionInfo>{{"0", "720p", 1280, 720, 2'500'000}};
  r = videos().Transition(Id(1), {S::kProcessing}, S::kReady, done);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->status, S::kReady);
  EXPECT_EQ((*r)->duration, 61.5);
  EXPECT_EQ((*r)->width, 1280);
  ASSERT_EQ((*r)->renditions.size(), 1u);
  EXPECT_EQ((*r)->renditions[0].name, "720p");

  // READY is final even when the caller lists it in `from`.
  for (S to : kAllVideoStatuses) {
    r = videos().Transition(Id(1),
                            {S::kUploading, S::kUploaded, S::kProcessing, S::kReady, S::kError}, to,
                            ErrorPatch("late failure"));
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->has_value()) << ToString(to);
  }
  auto g = videos().Get(Id(1));
  EXPECT_EQ((*g)->status, S::kReady);
  EXPECT_EQ((*g)->error_message, "");

  // Listed in `from` but not allowed by the state machine.
  Create(MakeVideo(Id(2), "v", kT0, S::kUploading));
  r = videos().Transition(Id(2), {S::kUploading}, S::kReady, {});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  r = videos().Transition(Id(2), {S::kUploading}, S::kError, ErrorPatch("too large"));
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->error_message, "too large");

  // Missing video.
  r = videos().Transition(Id(3), {S::kUploading}, S::kUploaded, {});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
}

TEST_P(RepositoryContractTest, TransitionIsCompareAndSetAcrossConnections) {
  Create(MakeVideo(Id(1), "v", kT0, VideoStatus::kUploaded));
  auto other = OpenDb();
  ASSERT_NE(other, nullptr);
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      Database& db = t % 2 ? *db_ : *other;
      auto r =
          db.videos().Transition(Id(1), {VideoStatus::kUploaded}, VideoStatus::kProcessing, {});
      ASSERT_TRUE(r.ok()) << r.error().message;
      if (r->has_value()) ++winners;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(winners.load(), 1);
}

TEST_P(RepositoryContractTest, UpdateProgressIsMonotonicAndOnlyWhileProcessing) {
  Create(MakeVideo(Id(1), "v", kT0, VideoStatus::kUploaded));
  auto r = videos().UpdateProgress(Id(1), 10);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r) << "not processing yet";

  ASSERT_TRUE(videos()
                  .Transition(Id(1), {VideoStatus::kUploaded}, VideoStatus::kProcessing, {})
                  ->has_value());
  EXPECT_TRUE(*videos().UpdateProgress(Id(1), 40));
  EXPECT_TRUE(*videos().UpdateProgress(Id(1), 25));  // late, out-of-order report
  EXPECT_DOUBLE_EQ((*videos().Get(Id(1)))->progress, 40);
  EXPECT_TRUE(*videos().UpdateProgress(Id(1), std::nan("")));
  EXPECT_TRUE(*videos().UpdateProgress(Id(1), 250));
  EXPECT_DOUBLE_EQ((*videos().Get(Id(1)))->progress, 100);

  ASSERT_TRUE(
      videos().Transition(Id(1), {VideoStatus::kProcessing}, VideoStatus::kReady, {})->has_value());
  EXPECT_FALSE(*videos().UpdateProgress(Id(1), 100));
  EXPECT_FALSE(*videos().UpdateProgress(Id(404), 1));
}

TEST_P(RepositoryContractTest, ConfirmUploadIsIdempotent) {
  Create(MakeVideo(Id(1), "v", kT0));
  clock_.Advance(1000);
  auto first = videos().ConfirmUpload(Id(1), "");
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_TRUE((*first)->enqueued);
  EXPECT_EQ((*first)->video.status, VideoStatus::kUploaded);
  EXPECT_EQ((*first)->video.updated_at_ms, kT0 + 1000);

  auto second = videos().ConfirmUpload(Id(1), "");
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_FALSE((*second)->enqueued);
  EXPECT_EQ((*second)->video.status, VideoStatus::kUploaded);

  EXPECT_EQ(Query("SELECT COUNT(*) FROM jobs"), "1");
  auto job = Latest(Id(1));
  ASSERT_TRUE(job);
  EXPECT_EQ(job->state, JobState::kQueued);
  EXPECT_EQ(job->run_after_ms, kT0 + 1000);
  EXPECT_EQ(job->attempts, 0);
  EXPECT_EQ(job->max_attempts, 3);

  // Later states also answer "already confirmed".
  ASSERT_TRUE(videos()
                  .Transition(Id(1), {VideoStatus::kUploaded}, VideoStatus::kProcessing, {})
                  ->has_value());
  EXPECT_FALSE((*videos().ConfirmUpload(Id(1), ""))->enqueued);
  ASSERT_TRUE(
      videos().Transition(Id(1), {VideoStatus::kProcessing}, VideoStatus::kReady, {})->has_value());
  auto ready = videos().ConfirmUpload(Id(1), "");
  EXPECT_FALSE((*ready)->enqueued);
  EXPECT_EQ((*ready)->video.status, VideoStatus::kReady);
  EXPECT_EQ(Query("SELECT COUNT(*) FROM jobs"), "1");

  auto missing = videos().ConfirmUpload(Id(404), "");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST_P(RepositoryContractTest, ConfirmUploadFromErrorReenqueues) {
  const int64_t first_job = Enqueue(Id(1));
  auto claimed = jobs().Claim("w1", 60'000);
  ASSERT_TRUE(claimed.ok() && claimed->has_value());
  ASSERT_TRUE(videos()
                  .Transition(Id(1), {VideoStatus::kUploaded}, VideoStatus::kProcessing, {})
                  ->has_value());
  ASSERT_TRUE(*videos().UpdateProgress(Id(1), 30));
  ASSERT_TRUE(videos()
                  .Transition(Id(1), {VideoStatus::kProcessing}, VideoStatus::kError,
                              ErrorPatch("decoder exploded"))
                  ->has_value());

  auto again = videos().ConfirmUpload(Id(1), "");
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_TRUE((*again)->enqueued);
  EXPECT_EQ((*again)->video.status, VideoStatus::kUploaded);
  EXPECT_EQ((*again)->video.error_message, "");
  EXPECT_EQ((*again)->video.progress, 0);

  auto job = Latest(Id(1));
  ASSERT_TRUE(job);
  EXPECT_NE(job->id, first_job);
  EXPECT_EQ(job->state, JobState::kQueued);
  // The old job's worker is told to stop rather than racing the new job.
  EXPECT_FALSE(*jobs().Heartbeat(first_job, "w1", 60'000));
  EXPECT_EQ(Query("SELECT state FROM jobs WHERE id = " + std::to_string(first_job)), "cancelled");
}

TEST_P(RepositoryContractTest, TheJobCarriesTheSourceEtagOfItsConfirmation) {
  Create(MakeVideo(Id(1), "v", kT0));
  ASSERT_TRUE((*videos().ConfirmUpload(Id(1), "\"5d41-1\""))->enqueued);
  // A repeat confirmation changes nothing, whatever it says about the file.
  EXPECT_FALSE((*videos().ConfirmUpload(Id(1), "\"other\""))->enqueued);
  EXPECT_EQ(Latest(Id(1))->source_etag, "\"5d41-1\"");

  auto claimed = jobs().Claim("w1", 60'000);
  ASSERT_TRUE(claimed.ok() && claimed->has_value());
  EXPECT_EQ((*claimed)->source_etag, "\"5d41-1\"");

  // Confirming again after an error pins the new upload.
  ASSERT_TRUE(*jobs().Fail((*claimed)->id, "w1", "bad", false, 0) == JobState::kFailed);
  ASSERT_TRUE(
      videos()
          .Transition(Id(1), {VideoStatus::kUploaded}, VideoStatus::kError, ErrorPatch("bad"))
          ->has_value());
  ASSERT_TRUE((*videos().ConfirmUpload(Id(1), "\"5d41-2\""))->enqueued);
  EXPECT_EQ(Latest(Id(1))->source_etag, "\"5d41-2\"");
  claimed = jobs().Claim("w1", 60'000);
  ASSERT_TRUE(claimed.ok() && claimed->has_value());
  EXPECT_EQ((*claimed)->source_etag, "\"5d41-2\"");
}

TEST_P(RepositoryContractTest, DeleteRemovesTheVideoAndKeepsNotifications) {
  Create(MakeVideo(Id(1), "doomed", kT0));
  ASSERT_TRUE(db_->notifications().Add(Id(1), VideoStatus::kUploading, "created").ok());
  auto d = videos().Delete(Id(1));
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(*d);
  EXPECT_FALSE(videos().Get(Id(1))->has_value());
  EXPECT_FALSE(*videos().Delete(Id(1)));
  EXPECT_EQ(db_->notifications().List(10, "", Id(1), Audience{})->items.size(), 1u);
  // The id is free again.
  Create(MakeVideo(Id(1), "reborn", kT0));
}

// ---------------------------------------------------------------- notifications

TEST_P(RepositoryContractTest, NotificationsAreNewestFirstWithCursorAndFilter) {
  NotificationRepository& n = db_->notifications();
  std::vector<int64_t> all;
  for (int i = 0; i < 7; ++i) {
    clock_.Advance(1);
    auto added = n.Add(Id(i % 2), VideoStatus::kProcessing, "step " + std::to_string(i));
    ASSERT_TRUE(added.ok());
    EXPECT_GT(added->id, 0);
    EXPECT_EQ(added->created_at_ms, clock_.NowMs());
    EXPECT_EQ(added->video_id, Id(i % 2));
    EXPECT_EQ(added->status, VideoStatus::kProcessing);
    EXPECT_EQ(added->message, "step " + std::to_string(i));
    if (!all.empty()) {
      EXPECT_GT(added->id, all.back());
    }
    all.push_back(added->id);
  }
  std::vector<int64_t> got;
  std::string cursor;
  do {
    auto page = n.List(3, cursor, "", Audience{});
    ASSERT_TRUE(page.ok());
    for (const Notification& x : page->items) got.push_back(x.id);
    cursor = page->next_cursor;
  } while (!cursor.empty());
  EXPECT_EQ(got, std::vector<int64_t>(all.rbegin(), all.rend()));

  auto odd = n.List(100, "", Id(1), Audience{});
  ASSERT_TRUE(odd.ok());
  ASSERT_EQ(odd->items.size(), 3u);
  EXPECT_EQ(odd->items[0].message, "step 5");
  EXPECT_TRUE(odd->next_cursor.empty());

  auto bad = n.List(3, "nope", "", Audience{});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, kBadCursor);
}

// ---------------------------------------------------------------- job queue

TEST_P(RepositoryContractTest, ClaimTakesTheOldestQueuedJobFirst) {
  auto none = jobs().Claim("w", 1000);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  const int64_t j1 = Enqueue(Id(1));
  clock_.Advance(10);
  const int64_t j2 = Enqueue(Id(2));
  clock_.Advance(10);
  const int64_t j3 = Enqueue(Id(3));

  for (int64_t want : {j1, j2, j3}) {
    auto c = jobs().Claim("worker-a", 30'000);
    ASSERT_TRUE(c.ok() && c->has_value());
    EXPECT_EQ((*c)->id, want);
    EXPECT_EQ((*c)->state, JobState::kRunning);
    EXPECT_EQ((*c)->attempts, 1);
    EXPECT_EQ((*c)->lease_owner, "worker-a");
    EXPECT_EQ((*c)->lease_expires_ms, clock_.NowMs() + 30'000);
  }
  EXPECT_FALSE(jobs().Claim("worker-a", 30'000)->has_value());
  EXPECT_EQ(Latest(Id(2))->id, j2);
  EXPECT_FALSE(Latest(Id(404)).has_value());
}

TEST_P(RepositoryContractTest, CompleteOnlyByTheOwner) {
  const int64_t j = Enqueue(Id(1));
  ASSERT_TRUE(jobs().Claim("w1", 1000)->has_value());
  EXPECT_FALSE(*jobs().Complete(j, "w2"));
  EXPECT_TRUE(*jobs().Complete(j, "w1"));
  EXPECT_FALSE(*jobs().Complete(j, "w1"));
  EXPECT_EQ(Latest(Id(1))->state, JobState::kDone);
  EXPECT_FALSE(*jobs().Heartbeat(j, "w1", 1000));
  EXPECT_FALSE(jobs().Claim("w1", 1000)->has_value());
}

TEST_P(RepositoryContractTest, ExpiredLeaseIsTakenOverAndTheOldOwnerLearnsOnHeartbeat) {
  const int64_t j = Enqueue(Id(1));
  ASSERT_TRUE(jobs().Claim("w1", 1000)->has_value());

  clock_.Advance(600);
  EXPECT_TRUE(*jobs().Heartbeat(j, "w1", 1000));  // now expires at +1600
  clock_.Advance(999);
  EXPECT_FALSE(jobs().Claim("w2", 1000)->has_value());
  clock_.Advance(1);
  auto taken = jobs().Claim("w2", 1000);
  ASSERT_TRUE(taken.ok() && taken->has_value());
  EXPECT_EQ((*taken)->id, j);
  EXPECT_EQ((*taken)->attempts, 2);
  EXPECT_EQ((*taken)->lease_owner, "w2");

  EXPECT_FALSE(*jobs().Heartbeat(j, "w1", 1000));
  EXPECT_FALSE(*jobs().Complete(j, "w1"));
  EXPECT_FALSE(*jobs().Release(j, "w1"));
  auto st = jobs().Fail(j, "w1", "late", true, 0);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(*st, JobState::kRunning);  // untouched: w2 still runs it
  EXPECT_TRUE(*jobs().Heartbeat(j, "w2", 1000));
  EXPECT_EQ(Latest(Id(1))->last_error, "");
}

TEST_P(RepositoryContractTest, RetryableFailureBacksOffThenRetries) {
  const int64_t j = Enqueue(Id(1));
  ASSERT_TRUE(jobs().Claim("w1", 1000)->has_value());
  auto st = jobs().Fail(j, "w1", "network blip", true, 5000);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(*st, JobState::kQueued);
  auto job = Latest(Id(1));
  EXPECT_EQ(job->run_after_ms, clock_.NowMs() + 5000);
  EXPECT_EQ(job->last_error, "network blip");
  EXPECT_EQ(job->lease_owner, "");

  EXPECT_FALSE(*jobs().Heartbeat(j, "w1", 1000));
  clock_.Advance(4999);
  EXPECT_FALSE(jobs().Claim("w2", 1000)->has_value());
  clock_.Advance(1);
  auto again = jobs().Claim("w2", 1000);
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->attempts, 2);
}

TEST_P(RepositoryContractTest, RetriesStopAtMaxAttempts) {
  const int64_t j = Enqueue(Id(1));
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto c = jobs().Claim("w", 1000);
    ASSERT_TRUE(c.ok() && c->has_value()) << attempt;
    EXPECT_EQ((*c)->attempts, attempt);
    auto st = jobs().Fail(j, "w", "boom " + std::to_string(attempt), true, 0);
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(*st, attempt < 3 ? JobState::kQueued : JobState::kFailed);
  }
  EXPECT_FALSE(jobs().Claim("w", 1000)->has_value());
  auto job = Latest(Id(1));
  EXPECT_EQ(job->state, JobState::kFailed);
  EXPECT_EQ(job->last_error, "boom 3");
  EXPECT_EQ(job->attempts, 3);
}

TEST_P(RepositoryContractTest, NonRetryableFailureIsFinalAtOnce) {
  const int64_t j = Enqueue(Id(1));
  ASSERT_TRUE(jobs().Claim("w", 1000)->has_value());
  EXPECT_EQ(*jobs().Fail(j, "w", "unsupported codec", false, 0), JobState::kFailed);
  EXPECT_FALSE(jobs().Claim("w", 1000)->has_value());
  EXPECT_EQ(*jobs().Fail(j, "w", "again", true, 0), JobState::kFailed);  // no effect
  EXPECT_EQ(Latest(Id(1))->last_error, "unsupported codec");
  EXPECT_EQ(*jobs().Fail(987654, "w", "no such job", true, 0), JobState::kCancelled);
}

TEST_P(RepositoryContractTest, LeaseExpiringOnTheLastAttemptFailsTheJobAsWorkerLost) {
  const int64_t j = Enqueue(Id(1));
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto c = jobs().Claim("w" + std::to_string(attempt), 1000);
    ASSERT_TRUE(c.ok() && c->has_value()) << attempt;
    EXPECT_EQ((*c)->attempts, attempt);
    clock_.Advance(1000);  // the worker vanishes without a word
  }
  Enqueue(Id(2));
  auto c = jobs().Claim("w4", 1000);
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ((*c)->video_id, Id(2)) << "the lost job is not handed out a fourth time";
  auto lost = Latest(Id(1));
  EXPECT_EQ(lost->id, j);
  EXPECT_EQ(lost->state, JobState::kFailed);
  EXPECT_EQ(lost->last_error, "worker lost (lease expired)");
  EXPECT_FALSE(*jobs().Heartbeat(j, "w3", 1000));
}

TEST_P(RepositoryContractTest, ReleaseHandsTheJobBackWithoutUsingAnAttempt) {
  const int64_t j = Enqueue(Id(1));
  ASSERT_TRUE(jobs().Claim("w1", 1000)->has_value());
  EXPECT_FALSE(*jobs().Release(j, "intruder"));
  clock_.Advance(50);
  EXPECT_TRUE(*jobs().Release(j, "w1"));
  auto job = Latest(Id(1));
  EXPECT_EQ(job->state, JobState::kQueued);
  EXPECT_EQ(job->attempts, 0);
  EXPECT_EQ(job->run_after_ms, clock_.NowMs());
  EXPECT_FALSE(*jobs().Heartbeat(j, "w1", 1000));
  EXPECT_FALSE(*jobs().Release(j, "w1"));

  auto again = jobs().Claim("w2", 1000);
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->attempts, 1);
}

TEST_P(RepositoryContractTest, DeletingTheVideoStopsItsWorker) {
  const int64_t j = Enqueue(Id(1));
  const int64_t queued = Enqueue(Id(2));
  auto c = jobs().Claim("w1", 60'000);
  ASSERT_TRUE(c.ok() && c->has_value());
  ASSERT_EQ((*c)->id, j);

  ASSERT_TRUE(*videos().Delete(Id(1)));
  EXPECT_FALSE(*jobs().Heartbeat(j, "w1", 60'000));
  EXPECT_FALSE(*jobs().Complete(j, "w1"));
  EXPECT_EQ(Latest(Id(1))->state, JobState::kCancelled);

  // A queued job of a deleted video is never handed out.
  ASSERT_TRUE(*videos().Delete(Id(2)));
  EXPECT_FALSE(jobs().Claim("w1", 60'000)->has_value());
  EXPECT_EQ(Latest(Id(2))->id, queued);
  EXPECT_EQ(Latest(Id(2))->state, JobState::kCancelled);
}

TEST_P(RepositoryContractTest, OperatorsListJobsNewestFirstFilteredByState) {
  const int64_t j1 = Enqueue(Id(1));
  clock_.Advance(10);
  const int64_t j2 = Enqueue(Id(2));
  clock_.Advance(10);
  const int64_t j3 = Enqueue(Id(3));
  ASSERT_TRUE(jobs().Claim("w", 60'000)->has_value());  // j1 runs

  auto all = jobs().List(std::nullopt, 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, j3);
  EXPECT_EQ((*all)[2].id, j1);
  EXPECT_EQ((*all)[2].state, JobState::kRunning);
  auto queued = jobs().List(JobState::kQueued, 10);
  ASSERT_TRUE(queued.ok());
  ASSERT_EQ(queued->size(), 2u);
  EXPECT_EQ((*queued)[0].id, j3);
  EXPECT_EQ((*queued)[1].id, j2);
  EXPECT_EQ(jobs().List(std::nullopt, 1)->size(), 1u);
  EXPECT_EQ(jobs().List(std::nullopt, 0)->size(), 1u) << "limit clamped to at least 1";
  EXPECT_TRUE(jobs().List(JobState::kFailed, 10)->empty());
}

TEST_P(RepositoryContractTest, CancelStopsQueuedAndRunningJobsAndLeavesFinishedOnes) {
  const int64_t running = Enqueue(Id(1));
  const int64_t queued = Enqueue(Id(2));
  ASSERT_EQ((*jobs().Claim("w1", 60'000))->id, running);

  auto c = jobs().Cancel(running);
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ((*c)->state, JobState::kCancelled);
  EXPECT_EQ((*c)->last_error, "cancelled by an operator");
  EXPECT_FALSE(*jobs().Heartbeat(running, "w1", 60'000)) << "the worker learns and stops";
  EXPECT_FALSE(*jobs().Complete(running, "w1"));

  ASSERT_EQ((*jobs().Cancel(queued))->state, JobState::kCancelled);
  EXPECT_FALSE(jobs().Claim("w1", 60'000)->has_value()) << "a cancelled job is never handed out";

  const int64_t done = Enqueue(Id(3));
  ASSERT_TRUE(jobs().Claim("w1", 60'000)->has_value());
  ASSERT_TRUE(*jobs().Complete(done, "w1"));
  auto finished = jobs().Cancel(done);
  ASSERT_TRUE(finished.ok() && finished->has_value());
  EXPECT_EQ((*finished)->state, JobState::kDone) << "finished jobs stay as they are";
  auto missing = jobs().Cancel(987654);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  // The video can be confirmed again afterwards: cancelled is not live.
  EXPECT_EQ(Latest(Id(2))->state, JobState::kCancelled);
}

TEST_P(RepositoryContractTest, StatsCountEveryStateAndDateTheOldestLiveJobs) {
  auto empty = jobs().Stats();
  ASSERT_TRUE(empty.ok());
  ASSERT_EQ(empty->counts.size(), 5u);
  for (const auto& [st, n] : empty->counts) EXPECT_EQ(n, 0) << ToString(st);
  EXPECT_EQ(empty->oldest_queued_created_ms, 0);

  const int64_t t0 = clock_.NowMs();
  const int64_t a = Enqueue(Id(1));
  clock_.Advance(1000);
  Enqueue(Id(2));
  clock_.Advance(1000);
  Enqueue(Id(3));
  ASSERT_EQ((*jobs().Claim("w", 500))->id, a);  // the oldest now runs
  clock_.Advance(600);                           // and its lease ran out
  auto s = jobs().Stats();
  ASSERT_TRUE(s.ok());
  auto count = [&](JobState st) {
    for (const auto& [k, n] : s->counts)
      if (k == st) return n;
    return int64_t{-1};
  };
  EXPECT_EQ(count(JobState::kQueued), 2);
  EXPECT_EQ(count(JobState::kRunning), 1);
  EXPECT_EQ(count(JobState::kDone), 0);
  EXPECT_EQ(s->oldest_queued_created_ms, t0 + 1000);
  EXPECT_EQ(s->oldest_running_created_ms, t0);
  EXPECT_EQ(s->expired_leases, 1);
}

// Two Database objects on one store behave like two processes (separate
// connections; SQLite file locks or PostgreSQL row locks between them);
// three threads share each.
TEST_P(RepositoryContractTest, ConcurrentClaimsFromTwoConnectionsTakeEachJobOnce) {
  constexpr int kJobs = 60;
  for (int i = 1; i <= kJobs; ++i) Enqueue(Id(i));
  auto other = OpenDb();
  ASSERT_NE(other, nullptr);

  const std::map<int64_t, int> claims = test::ClaimAllConcurrently({db_.get(), other.get()}, 6);
  EXPECT_EQ(claims.size(), static_cast<size_t>(kJobs));
  for (auto& [id, n] : claims) EXPECT_EQ(n, 1) << "job " << id;
}

TEST_P(RepositoryContractTest, OneDatabaseIsSafeToShareBetweenThreads) {
  Create(MakeVideo(Id(1), "shared", kT0, VideoStatus::kUploaded));
  ASSERT_TRUE(videos()
                  .Transition(Id(1), {VideoStatus::kUploaded}, VideoStatus::kProcessing, {})
                  ->has_value());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const int n = 100 + t * 100 + i;
        EXPECT_TRUE(videos().Create(MakeVideo(Id(n), "thread video", kT0 + n)).ok());
        EXPECT_TRUE(videos().UpdateProgress(Id(1), t * 25 + i).ok());
        EXPECT_TRUE(db_->notifications().Add(Id(n), VideoStatus::kUploading, "hi").ok());
        ListQuery q;
        q.search = "thread";
        q.limit = 5;
        EXPECT_TRUE(videos().List(q).ok());
        EXPECT_TRUE(videos().CountByStatus(Audience{}).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  ListQuery q;
  q.search = "thread";
  q.limit = 100;
  EXPECT_EQ(ListAll(q).size(), 100u);
  EXPECT_DOUBLE_EQ((*videos().Get(Id(1)))->progress, 99);
}

// Reads may run on other connections than writes (SQLite's reader pool,
// PostgreSQL's pool): every read must still see every write committed
// before it, from this database object or another opener of the store, also
// while other threads read and write.
TEST_P(RepositoryContractTest, ReadsSeeEveryCommittedWriteAtOnce) {
  Create(MakeVideo(Id(1), "v", kT0, VideoStatus::kUploaded));
  ASSERT_TRUE(videos()
                  .Transition(Id(1), {VideoStatus::kUploaded}, VideoStatus::kProcessing, {})
                  ->has_value());
  std::unique_ptr<Database> other = OpenDb();  // e.g. `visionsync worker`
  ASSERT_NE(other, nullptr);
  std::atomic<bool> done{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 6; ++t) {
    readers.emplace_back([&] {
      double last = -1;
      while (!done) {
        auto v = videos().Get(Id(1));
        ASSERT_TRUE(v.ok() && v->has_value());
        EXPECT_GE((*v)->progress, last) << "a read went back in time";
        last = (*v)->progress;
      }
    });
  }
  for (int i = 1; i <= 60; ++i) {
    Database& writer = i % 2 == 0 ? *db_ : *other;
    ASSERT_TRUE(*writer.videos().UpdateProgress(Id(1), i));
    // Read-after-write, through both objects, with no delay.
    EXPECT_DOUBLE_EQ((*videos().Get(Id(1)))->progress, i);
    EXPECT_DOUBLE_EQ((*other->videos().Get(Id(1)))->progress, i);
  }
  done = true;
  for (auto& t : readers) t.join();
  // Lists, searches, counts and notifications read on the pool too.
  Create(MakeVideo(Id(2), "fresh words", kT0 + 10));
  ASSERT_TRUE(other->notifications().Add(Id(2), VideoStatus::kUploading, "hello").ok());
  ListQuery q;
  q.search = "fresh";
  auto found = other->videos().List(q);
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->items.size(), 1u);
  EXPECT_EQ(found->items[0].id, Id(2));
  auto counts = other->videos().CountByStatus(Audience{});
  ASSERT_TRUE(counts.ok());
  int64_t total = 0;
  for (const auto& [status, n] : *counts) total += n;
  EXPECT_EQ(total, 2);
  auto notes = db_->notifications().List(10, "", Id(2), Audience{});
  ASSERT_TRUE(notes.ok());
  ASSERT_EQ(notes->items.size(), 1u);
  EXPECT_EQ(notes->items[0].message, "hello");
  ASSERT_TRUE(other->videos().Delete(Id(1)).ok());
  auto gone = videos().Get(Id(1));
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

// ---------------------------------------------------------------- schema

TEST_P(RepositoryContractTest, ReopenKeepsDataAndSchemaVersion) {
  const int version = db_->schema_version();
  EXPECT_GE(version, 2);
  Create(MakeVideo(Id(1), "persistent", kT0));
  Enqueue(Id(2));
  db_.reset();

  db_ = OpenDb();
  ASSERT_NE(db_, nullptr);
  EXPECT_EQ(db_->schema_version(), version);
  EXPECT_EQ((*videos().Get(Id(1)))->title, "persistent");
  EXPECT_EQ(Search("persistent"), (std::vector<std::string>{Id(1)}));
  EXPECT_TRUE(jobs().Claim("w", 1000)->has_value());
}

TEST_P(RepositoryContractTest, MigratingAVersion2DatabaseKeepsItsJobsWithoutAnEtag) {
  // A store at schema version 2 (before jobs.source_etag), left by an older
  // binary with one queued job.
  size_t latest = 0;
  ASSERT_NO_FATAL_FAILURE(CloseAndMigrateAFreshStoreTo(2, &latest));
  const std::string t0 = std::to_string(kT0);
  Query("INSERT INTO videos (id, title, status, created_at_ms, updated_at_ms) VALUES ('" + Id(1) +
        "', 'old', 'UPLOADED', " + t0 + ", " + t0 + ")");
  Query("INSERT INTO jobs (video_id, state, run_after_ms, created_at_ms, updated_at_ms) VALUES ('" +
        Id(1) + "', 'queued', " + t0 + ", " + t0 + ", " + t0 + ")");

  db_ = OpenDb();
  ASSERT_NE(db_, nullptr);
  EXPECT_EQ(db_->schema_version(), static_cast<int>(latest));
  ASSERT_TRUE(Latest(Id(1)));
  EXPECT_EQ(Latest(Id(1))->source_etag, "");
  auto claimed = jobs().Claim("w1", 60'000);
  ASSERT_TRUE(claimed.ok() && claimed->has_value());
  EXPECT_EQ((*claimed)->video_id, Id(1));
  EXPECT_EQ((*claimed)->source_etag, "");
  // New confirmations record theirs.
  Create(MakeVideo(Id(2), "new", kT0));
  ASSERT_TRUE((*videos().ConfirmUpload(Id(2), "\"e2\""))->enqueued);
  EXPECT_EQ(Latest(Id(2))->source_etag, "\"e2\"");
}

TEST_P(RepositoryContractTest, MigratingAVersion3DatabaseAddsTheDeliveryLog) {
  // A store at schema version 3 (before webhook_deliveries) with a video.
  size_t latest = 0;
  ASSERT_NO_FATAL_FAILURE(CloseAndMigrateAFreshStoreTo(3, &latest));
  Query("INSERT INTO videos (id, title, status, created_at_ms, updated_at_ms) VALUES ('" + Id(1) +
        "', 'old', 'PROCESSING', 1, 1)");

  db_ = OpenDb();
  ASSERT_NE(db_, nullptr);
  EXPECT_EQ(db_->schema_version(), static_cast<int>(latest));
  EXPECT_EQ((*videos().Get(Id(1)))->status, VideoStatus::kProcessing) << "the data stays";
  EXPECT_TRUE(*db_->notifications().RecordDelivery("delivery:first", kT0));
  EXPECT_EQ(Query("SELECT COUNT(*) FROM webhook_deliveries"), "1");
}

// Webhook deliveries are recorded once under a unique key (issue 11, item
// 2): the first caller gets true, every later one false, also across
// connections; ids older than a day are pruned by the next record.
TEST_P(RepositoryContractTest, RecordDeliveryAnswersTrueOnceAndPrunesOldIds) {
  NotificationRepository& n = db_->notifications();
  EXPECT_TRUE(*n.RecordDelivery("delivery:a", kT0));
  EXPECT_FALSE(*n.RecordDelivery("delivery:a", kT0 + 1000)) << "a replay";
  EXPECT_TRUE(*n.RecordDelivery("delivery:b", kT0 + 1000));
  std::unique_ptr<Database> other = OpenDb();
  ASSERT_NE(other, nullptr);
  EXPECT_FALSE(*other->notifications().RecordDelivery("delivery:b", kT0 + 2000)) << "another process";
  EXPECT_EQ(Query("SELECT received_at_ms FROM webhook_deliveries WHERE id = 'delivery:a'"), std::to_string(kT0));

  // A day later both are forgotten: pruned, and new again if they came back.
  const int64_t later = kT0 + kDeliveryRetentionMs + 1001;
  EXPECT_TRUE(*n.RecordDelivery("delivery:c", later));
  EXPECT_EQ(Query("SELECT COUNT(*) FROM webhook_deliveries"), "1");
  EXPECT_TRUE(*n.RecordDelivery("delivery:a", later));
}

TEST_P(RepositoryContractTest, OpenRefusesASchemaNewerThanTheBinary) {
  db_.reset();
  if (GetParam() == Adapter::kSqlite) {
    Query("PRAGMA user_version = 999");
  } else {
    Query("INSERT INTO schema_migrations (version) VALUES (999)");
  }
  auto db = TryOpen();
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.error().code, kDbError);
  EXPECT_NE(db.error().message.find("newer"), std::string::npos) << db.error().message;
}

TEST_P(RepositoryContractTest, PingAnswersWhileTheDatabaseIsUp) {
  Status s = db_->Ping();
  EXPECT_TRUE(s.ok()) << s.error().message;
}

// ---------------------------------------------------------------- visibility

// An owned video with `visibility` (owner "" = none).
Video OwnedVideo(int n, const std::string& owner, Visibility visibility,
                 const std::string& title = "clip", VideoStatus status = VideoStatus::kUploading) {
  Video v = MakeVideo(Id(n), title, kT0 + n, status);
  v.owner_id = owner;
  v.visibility = visibility;
  return v;
}

Audience Anonymous() { return Audience{false, ""}; }
Audience SignedIn(const std::string& user_id) { return Audience{false, user_id}; }

User MakeUser(int n, const std::string& email, bool admin = false) {
  User u;
  u.id = Id(1000 + n);
  u.email = email;
  u.name = "user " + std::to_string(n);
  u.password_hash = "$argon2id$v=19$hash" + std::to_string(n);
  u.is_admin = admin;
  return u;
}

Session MakeSession(int n, const std::string& user_id, int64_t created, int64_t expires) {
  Session s;
  s.id = Id(2000 + n);
  s.user_id = user_id;
  s.secret_hash = std::string(64, static_cast<char>('a' + n % 6));
  s.created_at_ms = created;
  s.expires_at_ms = expires;
  return s;
}

TEST_P(RepositoryContractTest, OwnerAndVisibilityRoundTripThroughEveryRead) {
  Create(OwnedVideo(1, "u1", Visibility::kPrivate));
  Create(OwnedVideo(2, "u2", Visibility::kUnlisted));
  Create(MakeVideo(Id(3), "clip", kT0 + 3));  // no owner, public by default

  auto got = videos().Get(Id(1));
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->owner_id, "u1");
  EXPECT_EQ((*got)->visibility, Visibility::kPrivate);
  got = videos().Get(Id(3));
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->owner_id, "");
  EXPECT_EQ((*got)->visibility, Visibility::kPublic);
  EXPECT_EQ(Query("SELECT COUNT(*) FROM videos WHERE owner_id IS NULL"), "1") << "no owner is NULL";

  ListQuery q;
  auto page = videos().List(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 3u);
  EXPECT_EQ(page->items[1].owner_id, "u2");
  EXPECT_EQ(page->items[1].visibility, Visibility::kUnlisted);
  auto confirmed = videos().ConfirmUpload(Id(2), "");
  ASSERT_TRUE(confirmed.ok() && confirmed->has_value());
  EXPECT_EQ((*confirmed)->video.owner_id, "u2");
  EXPECT_EQ((*confirmed)->video.visibility, Visibility::kUnlisted);
}

TEST_P(RepositoryContractTest, ListShowsEachAudienceOnlyWhatItMayListAndPagesThroughIt) {
  Create(OwnedVideo(1, "", Visibility::kPublic));
  Create(OwnedVideo(2, "u1", Visibility::kPublic));
  Create(OwnedVideo(3, "u1", Visibility::kUnlisted));
  Create(OwnedVideo(4, "u1", Visibility::kPrivate));
  Create(OwnedVideo(5, "u2", Visibility::kPrivate));
  Create(OwnedVideo(6, "u2", Visibility::kUnlisted));
  Create(OwnedVideo(7, "u2", Visibility::kPublic));

  for (int limit : {1, 2, 100}) {
    ListQuery q;
    q.limit = limit;
    EXPECT_EQ(ListAll(q).size(), 7u) << "everything (admins, internal callers)";
    q.audience = Anonymous();
    EXPECT_EQ(ListAll(q), (std::vector<std::string>{Id(7), Id(2), Id(1)})) << limit;
    q.audience = SignedIn("u1");
    EXPECT_EQ(ListAll(q), (std::vector<std::string>{Id(7), Id(4), Id(3), Id(2), Id(1)})) << limit;
    q.audience = SignedIn("nobody");
    EXPECT_EQ(ListAll(q), (std::vector<std::string>{Id(7), Id(2), Id(1)})) << limit;

    // The owner filter, alone and with an audience.
    q.owner_id = "u1";
    q.audience = Audience{};
    EXPECT_EQ(ListAll(q), (std::vector<std::string>{Id(4), Id(3), Id(2)})) << limit;
    q.audience = SignedIn("u1");
    EXPECT_EQ(ListAll(q), (std::vector<std::string>{Id(4), Id(3), Id(2)})) << limit;
    q.audience = SignedIn("u2");
    EXPECT_EQ(ListAll(q), (std::vector<std::string>{Id(2)})) << "u1's public ones only";
    q.audience = Anonymous();
    EXPECT_EQ(ListAll(q), (std::vector<std::string>{Id(2)}));
  }
  ListQuery q;
  q.status = VideoStatus::kUploading;
  q.audience = SignedIn("u2");
  EXPECT_EQ(ListAll(q), (std::vector<std::string>{Id(7), Id(6), Id(5), Id(2), Id(1)}));
  q.status = VideoStatus::kReady;
  EXPECT_TRUE(ListAll(q).empty());
}

TEST_P(RepositoryContractTest, SearchKeepsToTheAudienceAndTheOwner) {
  Create(OwnedVideo(1, "u1", Visibility::kPublic, "cats in public"));
  Create(OwnedVideo(2, "u1", Visibility::kPrivate, "cats in private"));
  Create(OwnedVideo(3, "u2", Visibility::kUnlisted, "cats unlisted"));
  Create(OwnedVideo(4, "", Visibility::kPublic, "cats of nobody"));
  Create(OwnedVideo(5, "u2", Visibility::kPublic, "dogs"));

  ListQuery q;
  q.search = "cats";
  q.limit = 1;
  EXPECT_EQ(ListAll(q), (std::vector<std::string>{Id(4), Id(3), Id(2), Id(1)}));
  q.audience = Anonymous();
  EXPECT_EQ(ListAll(q), (std::vector<std::string>{Id(4), Id(1)}));
  q.audience = SignedIn("u1");
  EXPECT_EQ(ListAll(q), (std::vector<std::string>{Id(4), Id(2), Id(1)}));
  q.audience = SignedIn("u2");
  EXPECT_EQ(ListAll(q), (std::vector<std::string>{Id(4), Id(3), Id(1)}));
  q.owner_id = "u2";
  EXPECT_EQ(ListAll(q), (std::vector<std::string>{Id(3)}));
  q.search = "priv";
  q.owner_id = "";
  q.audience = SignedIn("u2");
  EXPECT_TRUE(ListAll(q).empty()) << "a private title is no oracle";
}

TEST_P(RepositoryContractTest, CountByStatusCountsOnlyWhatTheAudienceMayList) {
  Create(OwnedVideo(1, "u1", Visibility::kPublic, "a", VideoStatus::kReady));
  Create(OwnedVideo(2, "u1", Visibility::kPrivate, "b", VideoStatus::kReady));
  Create(OwnedVideo(3, "u2", Visibility::kUnlisted, "c", VideoStatus::kError));
  Create(OwnedVideo(4, "", Visibility::kPublic, "d", VideoStatus::kUploading));
  auto counts = [&](const Audience& a) {
    auto c = videos().CountByStatus(a);
    EXPECT_TRUE(c.ok());
    std::map<VideoStatus, int64_t> out;
    if (c.ok()) {
      EXPECT_EQ(c->size(), std::size(kAllVideoStatuses)) << "zeros included";
      for (auto& [st, n] : *c) out[st] = n;
    }
    return out;
  };
  auto all = counts(Audience{});
  EXPECT_EQ(all[VideoStatus::kReady], 2);
  EXPECT_EQ(all[VideoStatus::kError], 1);
  EXPECT_EQ(all[VideoStatus::kUploading], 1);
  auto anonymous = counts(Anonymous());
  EXPECT_EQ(anonymous[VideoStatus::kReady], 1);
  EXPECT_EQ(anonymous[VideoStatus::kError], 0);
  EXPECT_EQ(anonymous[VideoStatus::kUploading], 1);
  auto u1 = counts(SignedIn("u1"));
  EXPECT_EQ(u1[VideoStatus::kReady], 2);
  EXPECT_EQ(u1[VideoStatus::kError], 0);
  auto u2 = counts(SignedIn("u2"));
  EXPECT_EQ(u2[VideoStatus::kReady], 1);
  EXPECT_EQ(u2[VideoStatus::kError], 1);
}

TEST_P(RepositoryContractTest, UpdateMetadataSetsVisibilityAloneOrWithTheText) {
  Create(OwnedVideo(1, "u1", Visibility::kPublic, "holiday"));
  clock_.Advance(500);
  auto r = videos().UpdateMetadata(Id(1), std::nullopt, std::nullopt, Visibility::kPrivate);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->visibility, Visibility::kPrivate);
  EXPECT_EQ((*r)->title, "holiday");
  EXPECT_EQ((*r)->owner_id, "u1");
  EXPECT_EQ((*r)->updated_at_ms, kT0 + 500);
  EXPECT_EQ((*videos().Get(Id(1)))->visibility, Visibility::kPrivate);
  ListQuery q;
  q.audience = Anonymous();
  q.search = "holiday";
  EXPECT_TRUE(ListAll(q).empty());

  r = videos().UpdateMetadata(Id(1), std::string("summer holiday"), std::nullopt,
                              Visibility::kUnlisted);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->visibility, Visibility::kUnlisted);
  EXPECT_EQ((*r)->title, "summer holiday");
  r = videos().UpdateMetadata(Id(1), std::string("winter holiday"), std::nullopt, std::nullopt);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->visibility, Visibility::kUnlisted) << "nullopt keeps it";
  r = videos().UpdateMetadata(Id(1), std::nullopt, std::nullopt, Visibility::kPublic);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ(ListAll(q), (std::vector<std::string>{Id(1)}));
  EXPECT_EQ(Search("winter"), (std::vector<std::string>{Id(1)}));

  r = videos().UpdateMetadata(Id(2), std::nullopt, std::nullopt, Visibility::kPrivate);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
}

TEST_P(RepositoryContractTest, NotificationsListOnlyThoseOfVideosTheAudienceMayList) {
  NotificationRepository& n = db_->notifications();
  Create(OwnedVideo(1, "u1", Visibility::kPublic));
  Create(OwnedVideo(2, "u1", Visibility::kPrivate));
  Create(OwnedVideo(3, "u2", Visibility::kUnlisted));
  Create(OwnedVideo(4, "u2", Visibility::kPublic));
  for (int i = 1; i <= 4; ++i)
    for (int k = 0; k < 2; ++k) ASSERT_TRUE(n.Add(Id(i), VideoStatus::kUploading, "note").ok());
  ASSERT_TRUE(*videos().Delete(Id(4)));

  auto videos_of = [&](const Audience& a, const std::string& video_id) {
    std::vector<std::string> out;
    std::string cursor;
    do {
      auto page = n.List(1, cursor, video_id, a);
      EXPECT_TRUE(page.ok());
      if (!page.ok()) break;
      for (const Notification& x : page->items) out.push_back(x.video_id);
      cursor = page->next_cursor;
    } while (!cursor.empty());
    return out;
  };
  EXPECT_EQ(videos_of(Audience{}, "").size(), 8u) << "a deleted video's history included";
  EXPECT_EQ(videos_of(Anonymous(), ""), (std::vector<std::string>{Id(1), Id(1)}));
  EXPECT_EQ(videos_of(SignedIn("u1"), ""), (std::vector<std::string>{Id(2), Id(2), Id(1), Id(1)}));
  EXPECT_EQ(videos_of(SignedIn("u2"), ""), (std::vector<std::string>{Id(3), Id(3), Id(1), Id(1)}));
  EXPECT_TRUE(videos_of(SignedIn("u2"), Id(2)).empty());
  EXPECT_EQ(videos_of(SignedIn("u1"), Id(2)).size(), 2u);
}

TEST_P(RepositoryContractTest, AdoptOrphansGivesOnlyOwnerlessVideosAnOwner) {
  Create(OwnedVideo(1, "", Visibility::kPublic));
  Create(OwnedVideo(2, "u2", Visibility::kPrivate));
  Create(OwnedVideo(3, "", Visibility::kUnlisted));
  auto n = videos().AdoptOrphans("u1");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);
  EXPECT_EQ((*videos().Get(Id(1)))->owner_id, "u1");
  EXPECT_EQ((*videos().Get(Id(2)))->owner_id, "u2");
  EXPECT_EQ((*videos().Get(Id(3)))->owner_id, "u1");
  EXPECT_EQ((*videos().Get(Id(3)))->visibility, Visibility::kUnlisted);
  EXPECT_EQ(*videos().AdoptOrphans("u3"), 0);
}

// ---------------------------------------------------------------- accounts

TEST_P(RepositoryContractTest, TheFirstUserBecomesAdminAndAdoptsTheOrphansTheSecondNeither) {
  UserRepository& users = db_->users();
  EXPECT_EQ(*users.Count(), 0);
  Create(OwnedVideo(1, "", Visibility::kPublic));
  Create(OwnedVideo(2, "", Visibility::kPrivate));

  User first = MakeUser(1, "first@example.org");
  first.created_at_ms = 0;  // now
  auto r = users.Register(first);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->has_value());
  EXPECT_TRUE((*r)->is_admin);
  EXPECT_EQ((*r)->id, first.id);
  EXPECT_EQ((*r)->email, "first@example.org");
  EXPECT_EQ((*r)->name, "user 1");
  EXPECT_EQ((*r)->password_hash, first.password_hash);
  EXPECT_EQ((*r)->created_at_ms, kT0);
  EXPECT_EQ((*r)->updated_at_ms, kT0);
  EXPECT_EQ((*videos().Get(Id(1)))->owner_id, first.id);
  EXPECT_EQ((*videos().Get(Id(2)))->owner_id, first.id);

  Create(OwnedVideo(3, "", Visibility::kPublic));  // an anonymous upload, later
  r = users.Register(MakeUser(2, "second@example.org"));
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_FALSE((*r)->is_admin);
  EXPECT_EQ((*videos().Get(Id(3)))->owner_id, "") << "only the first user adopts";
  // Later users are stored as given (operators may add admins).
  r = users.Register(MakeUser(3, "third@example.org", true));
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_TRUE((*r)->is_admin);
  EXPECT_EQ(*users.Count(), 3);

  auto got = users.Get(first.id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_TRUE((*got)->is_admin);
  EXPECT_EQ((*got)->password_hash, first.password_hash);
  EXPECT_FALSE(users.Get(Id(999))->has_value());
}

TEST_P(RepositoryContractTest, RegisterRefusesATakenEmailInAnyCaseAndFindsItInAnyCase) {
  UserRepository& users = db_->users();
  ASSERT_TRUE(users.Register(MakeUser(1, "ana@example.org"))->has_value());
  auto dup = users.Register(MakeUser(2, "Ana@Example.ORG"));
  ASSERT_TRUE(dup.ok()) << dup.error().message;
  EXPECT_FALSE(dup->has_value());
  auto same_id = users.Register(MakeUser(1, "other@example.org"));
  ASSERT_TRUE(same_id.ok());
  EXPECT_FALSE(same_id->has_value()) << "an id taken is refused too";
  EXPECT_EQ(*users.Count(), 1);

  for (const char* email : {"ana@example.org", "ANA@example.org"}) {
    auto found = users.FindByEmail(email);
    ASSERT_TRUE(found.ok());
    ASSERT_TRUE(found->has_value()) << email;
    EXPECT_EQ((*found)->id, Id(1001));
    EXPECT_EQ((*found)->email, "ana@example.org");
  }
  EXPECT_FALSE(users.FindByEmail("bob@example.org")->has_value());
  EXPECT_FALSE(users.FindByEmail("ana@example.or")->has_value());
  EXPECT_FALSE(users.FindByEmail("%@example.org")->has_value()) << "no LIKE patterns";
}

TEST_P(RepositoryContractTest, SetAdminAndSetPasswordHashChangeOneUser) {
  UserRepository& users = db_->users();
  ASSERT_TRUE(users.Register(MakeUser(1, "a@example.org"))->has_value());
  ASSERT_TRUE(users.Register(MakeUser(2, "b@example.org"))->has_value());
  clock_.Advance(100);
  EXPECT_TRUE(*users.SetAdmin(Id(1002), true));
  EXPECT_TRUE((*users.Get(Id(1002)))->is_admin);
  EXPECT_EQ((*users.Get(Id(1002)))->updated_at_ms, kT0 + 100);
  EXPECT_TRUE(*users.SetAdmin(Id(1001), false));
  EXPECT_FALSE((*users.Get(Id(1001)))->is_admin);
  EXPECT_FALSE(*users.SetAdmin(Id(999), true));

  EXPECT_TRUE(*users.SetPasswordHash(Id(1001), "$argon2id$new", kT0 + 5000));
  auto a = users.Get(Id(1001));
  EXPECT_EQ((*a)->password_hash, "$argon2id$new");
  EXPECT_EQ((*a)->updated_at_ms, kT0 + 5000);
  EXPECT_EQ((*users.Get(Id(1002)))->password_hash, MakeUser(2, "").password_hash);
  EXPECT_FALSE(*users.SetPasswordHash(Id(999), "x", kT0));
}

// Registrations racing on two openers (two processes): one admin.
TEST_P(RepositoryContractTest, ConcurrentFirstRegistrationsMakeOneAdmin) {
  auto other = OpenDb();
  ASSERT_NE(other, nullptr);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Database& db = t % 2 ? *db_ : *other;
      auto r = db.users().Register(MakeUser(t, "user" + std::to_string(t) + "@example.org"));
      EXPECT_TRUE(r.ok() && r->has_value()) << (r.ok() ? "" : r.error().message);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(*db_->users().Count(), 4);
  int admins = 0;
  for (int t = 0; t < 4; ++t) admins += (*db_->users().Get(Id(1000 + t)))->is_admin ? 1 : 0;
  EXPECT_EQ(admins, 1);
}

TEST_P(RepositoryContractTest, SessionsAreStoredListedRevokedAndPruned) {
  SessionRepository& sessions = db_->sessions();
  ASSERT_TRUE(db_->users().Register(MakeUser(1, "a@example.org"))->has_value());
  ASSERT_TRUE(db_->users().Register(MakeUser(2, "b@example.org"))->has_value());
  const std::string a = Id(1001);
  const std::string b = Id(1002);
  const int64_t now = kT0 + 10'000;
  ASSERT_TRUE(sessions.Create(MakeSession(1, a, kT0 + 1, now + 1000)).ok());
  ASSERT_TRUE(sessions.Create(MakeSession(2, a, kT0 + 3, now + 1000)).ok());
  ASSERT_TRUE(sessions.Create(MakeSession(3, a, kT0 + 2, now)).ok());  // expires right now
  ASSERT_TRUE(sessions.Create(MakeSession(4, b, kT0 + 4, now + 1)).ok());
  EXPECT_FALSE(sessions.Create(MakeSession(1, b, kT0, now + 1)).ok()) << "a taken id";
  EXPECT_FALSE(sessions.Create(MakeSession(9, Id(999), kT0, now + 1)).ok()) << "no such user";

  auto got = sessions.Get(Id(2001));
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->user_id, a);
  EXPECT_EQ((*got)->secret_hash, MakeSession(1, a, 0, 0).secret_hash);
  EXPECT_EQ((*got)->created_at_ms, kT0 + 1);
  EXPECT_EQ((*got)->expires_at_ms, now + 1000);
  got = sessions.Get(Id(2003));
  ASSERT_TRUE(got.ok() && got->has_value()) << "expired sessions are still returned";
  EXPECT_FALSE(sessions.Get(Id(2999))->has_value());

  auto list = sessions.ListForUser(a, now);
  ASSERT_TRUE(list.ok());
  std::vector<std::string> ids;
  for (const Session& s : *list) ids.push_back(s.id);
  EXPECT_EQ(ids, (std::vector<std::string>{Id(2002), Id(2001)})) << "unexpired, newest first";
  EXPECT_EQ(sessions.ListForUser(a, kT0)->size(), 3u);
  EXPECT_TRUE(sessions.ListForUser(Id(999), now)->empty());

  EXPECT_TRUE(*sessions.Delete(Id(2002)));
  EXPECT_FALSE(*sessions.Delete(Id(2002)));
  EXPECT_FALSE(sessions.Get(Id(2002))->has_value());

  auto pruned = sessions.PruneExpired(now);
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 1);
  EXPECT_FALSE(sessions.Get(Id(2003))->has_value());
  EXPECT_TRUE(sessions.Get(Id(2004))->has_value());

  ASSERT_TRUE(sessions.Create(MakeSession(5, a, kT0 + 5, now + 1000)).ok());
  auto gone = sessions.DeleteForUser(a);
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(*gone, 2);
  EXPECT_TRUE(sessions.ListForUser(a, kT0)->empty());
  EXPECT_EQ(sessions.ListForUser(b, now)->size(), 1u) << "another user's stay";
  EXPECT_EQ(*sessions.DeleteForUser(a), 0);
  EXPECT_EQ(*sessions.PruneExpired(now + 1), 1);
}

TEST_P(RepositoryContractTest, ADeletedUsersSessionsGoWithIt) {
  ASSERT_TRUE(db_->users().Register(MakeUser(1, "a@example.org"))->has_value());
  ASSERT_TRUE(db_->sessions().Create(MakeSession(1, Id(1001), kT0, kT0 + 1000)).ok());
  // No interface deletes users yet; the schema must still not leave orphans.
  const std::string del = "DELETE FROM users WHERE id = '" + Id(1001) + "'";
  if (GetParam() == Adapter::kSqlite) {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &raw), SQLITE_OK);
    sqlite3_busy_timeout(raw, 5000);
    const std::string sql = "PRAGMA foreign_keys = ON; " + del;
    EXPECT_EQ(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(raw);
  } else {
    Query(del);
  }
  EXPECT_EQ(Query("SELECT COUNT(*) FROM sessions"), "0");
  EXPECT_FALSE(db_->sessions().Get(Id(2001))->has_value());
}

TEST_P(RepositoryContractTest, MigratingAVersion4DatabaseLeavesVideosOwnerlessAndPublic) {
  // A store at schema version 4 (before accounts) with videos and history.
  size_t latest = 0;
  ASSERT_NO_FATAL_FAILURE(CloseAndMigrateAFreshStoreTo(4, &latest));
  for (int i = 1; i <= 2; ++i) {
    Query("INSERT INTO videos (id, title, status, created_at_ms, updated_at_ms) VALUES ('" + Id(i) +
          "', 'old film', 'READY', " + std::to_string(kT0 + i) + ", 1)");
    Query("INSERT INTO notifications (video_id, status, message, created_at_ms) VALUES ('" + Id(i) +
          "', 'READY', 'done', 1)");
  }

  db_ = OpenDb();
  ASSERT_NE(db_, nullptr);
  EXPECT_EQ(db_->schema_version(), static_cast<int>(latest));
  auto old = videos().Get(Id(1));
  ASSERT_TRUE(old.ok() && old->has_value());
  EXPECT_EQ((*old)->title, "old film") << "the data stays";
  EXPECT_EQ((*old)->owner_id, "");
  EXPECT_EQ((*old)->visibility, Visibility::kPublic);
  // (Not searched: rows written behind PostgreSQL's adapter have no tokens.)
  ListQuery q;
  q.audience = Anonymous();
  EXPECT_EQ(ListAll(q), (std::vector<std::string>{Id(2), Id(1)})) << "listed for anyone";
  EXPECT_EQ(db_->notifications().List(10, "", "", Anonymous())->items.size(), 2u);

  // The first account takes them over.
  auto admin = db_->users().Register(MakeUser(1, "admin@example.org"));
  ASSERT_TRUE(admin.ok() && admin->has_value());
  EXPECT_TRUE((*admin)->is_admin);
  EXPECT_EQ((*videos().Get(Id(2)))->owner_id, Id(1001));
  EXPECT_EQ(Query("SELECT COUNT(*) FROM videos WHERE owner_id IS NULL"), "0");
}

// ---------------------------------------------------------------- events

Event MakeEvent(const std::string& video_id, const std::string& name, int n) {
  Event e;
  e.video_id = video_id;
  e.name = name;
  e.payload = "{\"n\":" + std::to_string(n) + "}";
  return e;
}

TEST_P(RepositoryContractTest, EventLogReturnsAppendsInOrderAfterAnId) {
  EventLog& log = db_->events();
  EXPECT_EQ(*log.LastId(), 0);
  EXPECT_TRUE(log.After(0, 10)->empty());
  for (int i = 1; i <= 5; ++i) {
    Status s = log.Append(i % 2 ? "worker-1" : "worker-2", MakeEvent(Id(i), "video-status", i));
    ASSERT_TRUE(s.ok()) << s.error().message;
  }
  auto all = log.After(0, 100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  for (size_t i = 0; i < all->size(); ++i) {
    const StoredEvent& e = (*all)[i];
    if (i > 0) {
      EXPECT_GT(e.id, (*all)[i - 1].id);
    }
    EXPECT_EQ(e.origin, i % 2 == 0 ? "worker-1" : "worker-2");
    EXPECT_EQ(e.event.video_id, Id(static_cast<int>(i) + 1));
    EXPECT_EQ(e.event.name, "video-status");
    EXPECT_EQ(e.event.payload, "{\"n\":" + std::to_string(i + 1) + "}");
  }
  EXPECT_EQ(*log.LastId(), all->back().id);

  auto tail = log.After((*all)[2].id, 100);
  ASSERT_TRUE(tail.ok());
  ASSERT_EQ(tail->size(), 2u);
  EXPECT_EQ((*tail)[0].id, (*all)[3].id);
  auto two = log.After(0, 2);
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ(log.After(0, 0)->size(), 1u);  // the limit is clamped to at least one
  EXPECT_EQ(log.After(0, -3)->size(), 1u);

  // Another opener sees the same log.
  std::unique_ptr<Database> other = OpenDb();
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->events().After(0, 100)->size(), 5u);
}

TEST_P(RepositoryContractTest, EventLogPrunesOldEventsAndIdsKeepGrowing) {
  EventLog& log = db_->events();
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(log.Append("w", MakeEvent(Id(1), "p", i)).ok());
  clock_.Advance(1000);
  for (int i = 4; i <= 5; ++i) ASSERT_TRUE(log.Append("w", MakeEvent(Id(1), "p", i)).ok());
  const int64_t last = *log.LastId();

  auto pruned = log.Prune(kT0 + 1000);  // strictly older than
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 3);
  auto left = log.After(0, 100);
  ASSERT_EQ(left->size(), 2u);
  EXPECT_EQ((*left)[0].event.payload, "{\"n\":4}");
  EXPECT_EQ(*log.Prune(kT0 + 1000), 0);

  ASSERT_TRUE(log.Append("w", MakeEvent(Id(1), "p", 6)).ok());
  EXPECT_GT(*log.LastId(), last) << "ids are never reused";
  EXPECT_EQ(*log.Prune(kT0 + 10'000), 3);
}

// Appends from many threads and two openers: a reader tailing with
// After(last seen id) receives every event exactly once.
TEST_P(RepositoryContractTest, EventLogTailingReaderMissesNothingUnderConcurrentAppends) {
  std::unique_ptr<Database> other = OpenDb();
  ASSERT_NE(other, nullptr);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::atomic<bool> done{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      Database& db = t % 2 ? *db_ : *other;
      for (int i = 0; i < kPerThread; ++i)
        EXPECT_TRUE(db.events().Append("t" + std::to_string(t), MakeEvent(Id(t), "p", i)).ok());
    });
  }
  std::set<int64_t> seen;
  int64_t last = 0;
  auto drain = [&] {
    auto batch = db_->events().After(last, 7);
    ASSERT_TRUE(batch.ok());
    for (const StoredEvent& e : *batch) {
      EXPECT_GT(e.id, last);
      EXPECT_TRUE(seen.insert(e.id).second);
      last = e.id;
    }
  };
  std::thread reader([&] {
    while (!done) drain();
  });
  for (auto& w : writers) w.join();
  done = true;
  reader.join();
  for (int i = 0; i < 100 && static_cast<int>(seen.size()) < kThreads * kPerThread; ++i) drain();
  EXPECT_EQ(seen.size(), static_cast<size_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace vs::db
