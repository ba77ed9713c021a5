#include "db/sqlite_database.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "db/sqlite_internal.h"

namespace vs::db {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kT0 = 1'700'000'000'000;

// 24 hex characters whose order follows n, so tie-breaks are predictable.
std::string Id(int n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%024x", n);
  return buf;
}

Video MakeVideo(const std::string& id, const std::string& title, int64_t created_at_ms,
                VideoStatus status = VideoStatus::kUploading) {
  Video v;
  v.id = id;
  v.title = title;
  v.file_name = "clip.mov";
  v.file_type = "video/quicktime";
  v.file_size = 1234;
  v.status = status;
  v.created_at_ms = created_at_ms;
  v.updated_at_ms = created_at_ms;
  return v;
}

// (Designated initializers would trip -Wmissing-field-initializers in g++ 12.)
StatusPatch ErrorPatch(const std::string& message) {
  StatusPatch p;
  p.error_message = message;
  return p;
}
StatusPatch ProgressPatch(double progress) {
  StatusPatch p;
  p.progress = progress;
  return p;
}

std::vector<std::string> Ids(const std::vector<Video>& videos) {
  std::vector<std::string> out;
  for (const Video& v : videos) out.push_back(v.id);
  return out;
}

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

  // Creates a video and confirms its upload: one queued job.
  int64_t Enqueue(const std::string& id) {
    Create(MakeVideo(id, "t " + id, clock_.NowMs()));
    auto r = videos().ConfirmUpload(id);
    EXPECT_TRUE(r.ok() && r->has_value() && (*r)->enqueued);
    auto job = jobs().LatestForVideo(id);
    EXPECT_TRUE(job.ok() && job->has_value());
    return job.ok() && job->has_value() ? (*job)->id : 0;
  }

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
  std::string path_;
  std::unique_ptr<SqliteDatabase> db_;
};

// ---------------------------------------------------------------- videos

TEST_F(SqliteDatabaseTest, CreateAndGetRoundTripAllFields) {
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

TEST_F(SqliteDatabaseTest, CreateFillsZeroTimestampsFromClock) {
  Create(MakeVideo(Id(1), "x", 0));
  auto got = videos().Get(Id(1));
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->created_at_ms, kT0);
  EXPECT_EQ((*got)->updated_at_ms, kT0);
}

TEST_F(SqliteDatabaseTest, GetMissingIsNulloptAndDuplicateCreateIsDbError) {
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

TEST_F(SqliteDatabaseTest, ListIsNewestFirstAndPagesWithoutGapsOrDuplicates) {
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

TEST_F(SqliteDatabaseTest, CursorIsStableWhileNewVideosArrive) {
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

TEST_F(SqliteDatabaseTest, LimitIsClamped) {
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

TEST_F(SqliteDatabaseTest, MalformedCursorIsInvalidCursorError) {
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
  auto nb = db_->notifications().List(10, valid, "");
  ASSERT_FALSE(nb.ok());
  EXPECT_EQ(nb.error().code, kBadCursor);
}

TEST_F(SqliteDatabaseTest, StatusFilterCombinesWithPagination) {
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

TEST_F(SqliteDatabaseTest, CountByStatusListsEveryStatusInOrder) {
  Create(MakeVideo(Id(1), "a", kT0, VideoStatus::kReady));
  Create(MakeVideo(Id(2), "b", kT0, VideoStatus::kReady));
  Create(MakeVideo(Id(3), "c", kT0, VideoStatus::kError));
  auto counts = videos().CountByStatus();
  ASSERT_TRUE(counts.ok());
  std::vector<std::pair<VideoStatus, int64_t>> want = {{VideoStatus::kUploading, 0},
                                                       {VideoStatus::kUploaded, 0},
                                                       {VideoStatus::kProcessing, 0},
                                                       {VideoStatus::kReady, 2},
                                                       {VideoStatus::kError, 1}};
  EXPECT_EQ(*counts, want);
}

// ---------------------------------------------------------------- search

TEST_F(SqliteDatabaseTest, SearchFindsTitleDescriptionAndFileNameByPrefix) {
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

TEST_F(SqliteDatabaseTest, SearchHandlesUnicodeAndDiacritics) {
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

TEST_F(SqliteDatabaseTest, SearchTreatsInjectionAndFtsSyntaxAsText) {
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
  RawDb raw(path_);
  EXPECT_EQ(raw.Query("SELECT COUNT(*) FROM videos"), "2");
}

TEST_F(SqliteDatabaseTest, SearchCombinesWithStatusFilterAndPagination) {
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

TEST_F(SqliteDatabaseTest, SearchIndexFollowsUpdatesAndDeletes) {
  Create(MakeVideo(Id(1), "original title", kT0, VideoStatus::kUploaded));
  ASSERT_TRUE(
      videos().Transition(Id(1), {VideoStatus::kUploaded}, VideoStatus::kProcessing, {}).ok());
  for (double p : {10.0, 50.0}) ASSERT_TRUE(videos().UpdateProgress(Id(1), p).ok());
  ASSERT_TRUE(videos().UpdateMetadata(Id(1), std::string("renamed"), std::nullopt).ok());
  EXPECT_TRUE(Search("original").empty());
  EXPECT_EQ(Search("renamed"), (std::vector<std::string>{Id(1)}));
  ASSERT_TRUE(videos().UpdateMetadata(Id(1), std::nullopt, std::string("with words")).ok());
  EXPECT_EQ(Search("renamed words"), (std::vector<std::string>{Id(1)}));
  ASSERT_TRUE(*videos().Delete(Id(1)));
  EXPECT_TRUE(Search("renamed").empty());

  RawDb raw(path_);
  raw.Exec("INSERT INTO videos_fts (videos_fts) VALUES ('integrity-check')");
}

// ---------------------------------------------------------------- updates

TEST_F(SqliteDatabaseTest, UpdateMetadataChangesOnlyGivenFields) {
  Video v = MakeVideo(Id(1), "old title", kT0);
  v.description = "old description";
  Create(v);
  clock_.Advance(500);
  auto r = videos().UpdateMetadata(Id(1), std::string("new title"), std::nullopt);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->title, "new title");
  EXPECT_EQ((*r)->description, "old description");
  EXPECT_EQ((*r)->updated_at_ms, kT0 + 500);
  EXPECT_EQ((*r)->created_at_ms, kT0);

  r = videos().UpdateMetadata(Id(1), std::nullopt, std::string(""));
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->title, "new title");
  EXPECT_EQ((*r)->description, "");

  r = videos().UpdateMetadata(Id(1), std::nullopt, std::nullopt);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->title, "new title");

  r = videos().UpdateMetadata(Id(2), std::string("x"), std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
}

TEST_F(SqliteDatabaseTest, TransitionIsGuardedByFromSetAndStateMachine) {
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

TEST_F(SqliteDatabaseTest, TransitionIsCompareAndSetAcrossConnections) {
  Create(MakeVideo(Id(1), "v", kT0, VideoStatus::kUploaded));
  auto other = OpenDb();
  ASSERT_NE(other, nullptr);
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      SqliteDatabase& db = t % 2 ? *db_ : *other;
      auto r =
          db.videos().Transition(Id(1), {VideoStatus::kUploaded}, VideoStatus::kProcessing, {});
      ASSERT_TRUE(r.ok()) << r.error().message;
      if (r->has_value()) ++winners;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(winners.load(), 1);
}

TEST_F(SqliteDatabaseTest, UpdateProgressIsMonotonicAndOnlyWhileProcessing) {
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

TEST_F(SqliteDatabaseTest, ConfirmUploadIsIdempotent) {
  Create(MakeVideo(Id(1), "v", kT0));
  clock_.Advance(1000);
  auto first = videos().ConfirmUpload(Id(1));
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_TRUE((*first)->enqueued);
  EXPECT_EQ((*first)->video.status, VideoStatus::kUploaded);
  EXPECT_EQ((*first)->video.updated_at_ms, kT0 + 1000);

  auto second = videos().ConfirmUpload(Id(1));
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_FALSE((*second)->enqueued);
  EXPECT_EQ((*second)->video.status, VideoStatus::kUploaded);

  RawDb raw(path_);
  EXPECT_EQ(raw.Query("SELECT COUNT(*) FROM jobs"), "1");
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
  EXPECT_FALSE((*videos().ConfirmUpload(Id(1)))->enqueued);
  ASSERT_TRUE(
      videos().Transition(Id(1), {VideoStatus::kProcessing}, VideoStatus::kReady, {})->has_value());
  auto ready = videos().ConfirmUpload(Id(1));
  EXPECT_FALSE((*ready)->enqueued);
  EXPECT_EQ((*ready)->video.status, VideoStatus::kReady);
  EXPECT_EQ(raw.Query("SELECT COUNT(*) FROM jobs"), "1");

  auto missing = videos().ConfirmUpload(Id(404));
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST_F(SqliteDatabaseTest, ConfirmUploadFromErrorReenqueues) {
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

  auto again = videos().ConfirmUpload(Id(1));
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
  RawDb raw(path_);
  EXPECT_EQ(raw.Query("SELECT state FROM jobs WHERE id = " + std::to_string(first_job)),
            "cancelled");
}

TEST_F(SqliteDatabaseTest, DeleteRemovesTheVideoAndKeepsNotifications) {
  Create(MakeVideo(Id(1), "doomed", kT0));
  ASSERT_TRUE(db_->notifications().Add(Id(1), VideoStatus::kUploading, "created").ok());
  auto d = videos().Delete(Id(1));
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(*d);
  EXPECT_FALSE(videos().Get(Id(1))->has_value());
  EXPECT_FALSE(*videos().Delete(Id(1)));
  EXPECT_EQ(db_->notifications().List(10, "", Id(1))->items.size(), 1u);
  // The id is free again.
  Create(MakeVideo(Id(1), "reborn", kT0));
}

// ---------------------------------------------------------------- schema

TEST_F(SqliteDatabaseTest, ReopenKeepsDataAndSchemaVersion) {
  const int version = db_->schema_version();
  EXPECT_GE(version, 1);
  Create(MakeVideo(Id(1), "persistent", kT0));
  Enqueue(Id(2));
  db_.reset();

  db_ = OpenDb();
  ASSERT_NE(db_, nullptr);
  EXPECT_EQ(db_->schema_version(), version);
  EXPECT_EQ((*videos().Get(Id(1)))->title, "persistent");
  EXPECT_EQ(Search("persistent"), (std::vector<std::string>{Id(1)}));
  EXPECT_TRUE(jobs().Claim("w", 1000)->has_value());

  RawDb raw(path_);
  EXPECT_EQ(raw.Query("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.Query("PRAGMA user_version"), std::to_string(version));
}

TEST_F(SqliteDatabaseTest, OpenRefusesASchemaNewerThanTheBinary) {
  db_.reset();
  {
    RawDb raw(path_);
    raw.Exec("PRAGMA user_version = 999");
  }
  auto db = SqliteDatabase::Open(path_, clock_);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.error().code, kDbError);
  EXPECT_NE(db.error().message.find("newer"), std::string::npos);
}

TEST_F(SqliteDatabaseTest, OpenReportsUnopenablePathAsDbError) {
  auto db = SqliteDatabase::Open(dir_ + "/missing/dir/x.db", clock_);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.error().code, kDbError);
}

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

// ---------------------------------------------------------------- notifications

TEST_F(SqliteDatabaseTest, NotificationsAreNewestFirstWithCursorAndFilter) {
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
    auto page = n.List(3, cursor, "");
    ASSERT_TRUE(page.ok());
    for (const Notification& x : page->items) got.push_back(x.id);
    cursor = page->next_cursor;
  } while (!cursor.empty());
  EXPECT_EQ(got, std::vector<int64_t>(all.rbegin(), all.rend()));

  auto odd = n.List(100, "", Id(1));
  ASSERT_TRUE(odd.ok());
  ASSERT_EQ(odd->items.size(), 3u);
  EXPECT_EQ(odd->items[0].message, "step 5");
  EXPECT_TRUE(odd->next_cursor.empty());

  auto bad = n.List(3, "nope", "");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, kBadCursor);
}

// ---------------------------------------------------------------- job queue

TEST_F(SqliteDatabaseTest, ClaimTakesTheOldestQueuedJobFirst) {
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

TEST_F(SqliteDatabaseTest, CompleteOnlyByTheOwner) {
  const int64_t j = Enqueue(Id(1));
  ASSERT_TRUE(jobs().Claim("w1", 1000)->has_value());
  EXPECT_FALSE(*jobs().Complete(j, "w2"));
  EXPECT_TRUE(*jobs().Complete(j, "w1"));
  EXPECT_FALSE(*jobs().Complete(j, "w1"));
  EXPECT_EQ(Latest(Id(1))->state, JobState::kDone);
  EXPECT_FALSE(*jobs().Heartbeat(j, "w1", 1000));
  EXPECT_FALSE(jobs().Claim("w1", 1000)->has_value());
}

TEST_F(SqliteDatabaseTest, ExpiredLeaseIsTakenOverAndTheOldOwnerLearnsOnHeartbeat) {
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

TEST_F(SqliteDatabaseTest, RetryableFailureBacksOffThenRetries) {
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

TEST_F(SqliteDatabaseTest, RetriesStopAtMaxAttempts) {
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

TEST_F(SqliteDatabaseTest, NonRetryableFailureIsFinalAtOnce) {
  const int64_t j = Enqueue(Id(1));
  ASSERT_TRUE(jobs().Claim("w", 1000)->has_value());
  EXPECT_EQ(*jobs().Fail(j, "w", "unsupported codec", false, 0), JobState::kFailed);
  EXPECT_FALSE(jobs().Claim("w", 1000)->has_value());
  EXPECT_EQ(*jobs().Fail(j, "w", "again", true, 0), JobState::kFailed);  // no effect
  EXPECT_EQ(Latest(Id(1))->last_error, "unsupported codec");
  EXPECT_EQ(*jobs().Fail(987654, "w", "no such job", true, 0), JobState::kCancelled);
}

TEST_F(SqliteDatabaseTest, LeaseExpiringOnTheLastAttemptFailsTheJobAsWorkerLost) {
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

TEST_F(SqliteDatabaseTest, ReleaseHandsTheJobBackWithoutUsingAnAttempt) {
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

TEST_F(SqliteDatabaseTest, DeletingTheVideoStopsItsWorker) {
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

// Two SqliteDatabase instances on one file behave like two processes (two
// connections, SQLite file locks between them); three threads share each.
TEST_F(SqliteDatabaseTest, ConcurrentClaimsFromTwoConnectionsTakeEachJobOnce) {
  constexpr int kJobs = 60;
  for (int i = 1; i <= kJobs; ++i) Enqueue(Id(i));
  auto other = OpenDb();
  ASSERT_NE(other, nullptr);

  std::mutex mu;
  std::map<int64_t, int> claims;
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      SqliteDatabase& db = t % 2 ? *db_ : *other;
      const std::string worker = "worker-" + std::to_string(t);
      while (true) {
        auto c = db.jobs().Claim(worker, 600'000);
        ASSERT_TRUE(c.ok()) << c.error().message;
        if (!c->has_value()) return;
        {
          std::lock_guard lock(mu);
          ++claims[(*c)->id];
        }
        auto done = db.jobs().Complete((*c)->id, worker);
        ASSERT_TRUE(done.ok() && *done);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(claims.size(), static_cast<size_t>(kJobs));
  for (auto& [id, n] : claims) EXPECT_EQ(n, 1) << "job " << id;
}

TEST_F(SqliteDatabaseTest, OneDatabaseIsSafeToShareBetweenThreads) {
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
        EXPECT_TRUE(videos().CountByStatus().ok());
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

// Get reads on separate connections: every read must still see every write
// committed before it, from this database object or another opener of the
// file, also while other threads read and write.
TEST_F(SqliteDatabaseTest, ReadsSeeEveryCommittedWriteAtOnce) {
  Create(MakeVideo(Id(1), "v", kT0, VideoStatus::kUploaded));
  ASSERT_TRUE(videos()
                  .Transition(Id(1), {VideoStatus::kUploaded}, VideoStatus::kProcessing, {})
                  ->has_value());
  std::unique_ptr<SqliteDatabase> other = OpenDb();  // e.g. `visionsync worker`
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
    SqliteDatabase& writer = i % 2 == 0 ? *db_ : *other;
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
  auto counts = other->videos().CountByStatus();
  ASSERT_TRUE(counts.ok());
  int64_t total = 0;
  for (const auto& [status, n] : *counts) total += n;
  EXPECT_EQ(total, 2);
  auto notes = db_->notifications().List(10, "", Id(2));
  ASSERT_TRUE(notes.ok());
  ASSERT_EQ(notes->items.size(), 1u);
  EXPECT_EQ(notes->items[0].message, "hello");
  ASSERT_TRUE(other->videos().Delete(Id(1)).ok());
  auto gone = videos().Get(Id(1));
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

// ---------------------------------------------------------------- internals

TEST(SqliteInternalTest, RenditionsRoundTripAndRejectJunk) {
  std::vector<RenditionInfo> in = {
      {"", "", 0, 0, 0}, {"q\"\\/\b\f\n\r\t\x01", "ü東🎬", -1, 2'000'000'000, 9'000'000'000'000}};
  auto out = internal::DecodeRenditions(internal::EncodeRenditions(in));
  ASSERT_TRUE(out);
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[1].id, in[1].id);
  EXPECT_EQ((*out)[1].name, in[1].name);
  EXPECT_EQ((*out)[1].width, -1);
  EXPECT_EQ((*out)[1].height, 2'000'000'000);
  EXPECT_EQ((*out)[1].bitrate, 9'000'000'000'000);
  EXPECT_EQ(internal::EncodeRenditions({}), "[]");
  EXPECT_TRUE(internal::DecodeRenditions("[]")->empty());

  // Written by someone else's JSON encoder: escapes, spacing, unknown keys.
  auto foreign = internal::DecodeRenditions(
      R"( [ { "name" : "\u00fc\ud83c\udfac", "codec": "avc1", "hdr": false, "extra": null,
              "width": 640 } ] )");
  ASSERT_TRUE(foreign);
  ASSERT_EQ(foreign->size(), 1u);
  EXPECT_EQ((*foreign)[0].name, "ü🎬");
  EXPECT_EQ((*foreign)[0].width, 640);

  for (const char* junk : {"", "[", "{}", "[{]", "[{\"width\":1.5}]", "[{\"width\":1e3}]",
                           "[{\"width\":99999999999}]", "[{\"id\":\"\\ud800\"}]", "[] x",
                           "[{\"id\":\"a\nb\"}]", "[{\"id\":{}}]", "[,]", "[{\"id\":\"\\x\"}]"}) {
    EXPECT_FALSE(internal::DecodeRenditions(junk)) << junk;
  }
}

TEST(SqliteInternalTest, Base64UrlIsStrict) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00\x01"}) {
    auto back = internal::Base64UrlDecode(internal::Base64UrlEncode(s));
    ASSERT_TRUE(back) << s;
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(internal::Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_FALSE(internal::Base64UrlDecode("Zm9=")) << "padding";
  EXPECT_FALSE(internal::Base64UrlDecode("Zm9+")) << "standard alphabet";
  EXPECT_FALSE(internal::Base64UrlDecode("Zh")) << "non-zero trailing bits";
  EXPECT_FALSE(internal::Base64UrlDecode("Zm9vY")) << "impossible length";
  EXPECT_TRUE(internal::Base64UrlDecode("Zg"));
}

TEST(SqliteInternalTest, CursorsRoundTrip) {
  auto c = internal::DecodeVideoCursor(internal::EncodeVideoCursor({-5, "a:b c"}));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->created_at_ms, -5);
  EXPECT_EQ(c->id, "a:b c");
  EXPECT_EQ(internal::DecodeNotificationCursor(internal::EncodeNotificationCursor(42)), 42);
  EXPECT_FALSE(internal::DecodeNotificationCursor(internal::EncodeNotificationCursor(0)));
  EXPECT_FALSE(internal::DecodeNotificationCursor(internal::Base64UrlEncode("n:-3")));
}

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
