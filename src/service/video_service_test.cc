// VideoService over the real SQLite adapter (in-memory) and the local store:
// the JSON view of a video, media URLs, and the status life cycle with its
// notifications and events.
#include "service/video_service.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include "core/clock.h"
#include "core/event_bus.h"
#include "core/hmac.h"
#include "db/sqlite_database.h"
#include "store/object_store.h"

namespace vs::service {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

class VideoServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::path(::testing::TempDir()) / "vs_service_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    auto db = db::SqliteDatabase::Open(":memory:", clock_);
    ASSERT_TRUE(db.ok());
    db_ = std::move(*db);
    auto store = store::NewLocalStore(root_);
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
    bus_.Subscribe([this](const Event& e) { events_.push_back(e); });
  }
  void TearDown() override { fs::remove_all(root_); }

  VideoService Make(UrlConfig urls = {}) {
    return VideoService(db_->videos(), db_->notifications(), *store_, bus_, clock_, std::move(urls));
  }

  FakeClock clock_;
  std::string root_;
  std::unique_ptr<db::SqliteDatabase> db_;
  std::unique_ptr<store::ObjectStore> store_;
  EventBus bus_;
  std::vector<Event> events_;
};

TEST_F(VideoServiceTest, MediaUrlPrefersCdnThenPublicThenRequest) {
  EXPECT_EQ(Make().MediaUrl("abc", "manifest.mpd", "http://h:1/"), "http://h:1/media/abc/manifest.mpd");
  EXPECT_EQ(Make().MediaUrl("abc", "manifest.mpd"), "/media/abc/manifest.mpd");
  EXPECT_EQ(Make({"https://pub.example/", "", "", 3600}).MediaUrl("abc", "x.m4s", "http://h:1"),
            "https://pub.example/media/abc/x.m4s");
  EXPECT_EQ(Make({"https://pub.example", "https://cdn.example//", "", 3600}).MediaUrl("abc", "x.m4s", "http://h:1"),
            "https://cdn.example/media/abc/x.m4s");
}

TEST_F(VideoServiceTest, JsonViewBeforeAndAfterReady) {
  VideoService svc = Make();
  auto v = svc.CreateUpload("Title \"quoted\" \\ ünï 🎬", "line\nbreak", "clip.mp4", "video/mp4", 1234);
  ASSERT_TRUE(v.ok());
  json::object o = json::parse(svc.JsonText(*v, "http://h")).as_object();
  // The original's field names, all present even when null.
  std::vector<std::string> keys;
  for (const auto& kv : o) keys.emplace_back(kv.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"id", "_id", "title", "description", "fileName", "fileType",
                                            "fileSize", "status", "progress", "errorMessage", "manifestUrl",
                                            "hlsUrl", "thumbnailUrl", "ownerId", "visibility", "duration", "width", "height",
                                            "resolution", "renditions", "createdAt", "updatedAt"}));
  EXPECT_EQ(o.at("id"), json::value(v->id));
  EXPECT_EQ(o.at("_id"), json::value(v->id));
  EXPECT_EQ(o.at("status"), "UPLOADING");
  EXPECT_EQ(o.at("title"), "Title \"quoted\" \\ ünï 🎬");
  EXPECT_EQ(o.at("description"), "line\nbreak");
  EXPECT_EQ(o.at("fileSize").to_number<int64_t>(), 1234);
  EXPECT_TRUE(o.at("manifestUrl").is_null());
  EXPECT_TRUE(o.at("hlsUrl").is_null());
  EXPECT_TRUE(o.at("thumbnailUrl").is_null());
  EXPECT_TRUE(o.at("resolution").is_null());
  EXPECT_TRUE(o.at("errorMessage").is_null());
  EXPECT_TRUE(o.at("renditions").as_array().empty());

  ASSERT_TRUE(svc.Confirm(v->id, "").ok());
  ASSERT_TRUE(svc.MarkProcessing(v->id, 1).ok());
  ReadyInfo info;
  info.duration = 20;
  info.width = 1920;
  info.height = 1080;
  info.renditions.push_back({"0", "1080p", 1920, 1080, 4500000});
  auto ready = svc.MarkReady(v->id, info);
  ASSERT_TRUE(ready.ok() && ready->has_value());
  const std::string text = svc.JsonText(**ready, "http://h");
  o = json::parse(text).as_object();
  EXPECT_NE(text.find("\"progress\":100,"), std::string::npos) << text;  // not 1E2
  EXPECT_NE(text.find("\"duration\":20,"), std::string::npos) << text;
  EXPECT_EQ(o.at("status"), "READY");
  EXPECT_EQ(o.at("progress").to_number<double>(), 100);
  EXPECT_EQ(o.at("duration").to_number<double>(), 20);
  EXPECT_EQ(o.at("resolution"), "1920x1080");
  EXPECT_EQ(o.at("manifestUrl"), json::value("http://h/media/" + v->id + "/manifest.mpd"));
  EXPECT_EQ(o.at("hlsUrl"), json::value("http://h/media/" + v->id + "/master.m3u8"));
  EXPECT_EQ(o.at("thumbnailUrl"), json::value("http://h/media/" + v->id + "/thumbnail.jpg"));
  const auto& reps = o.at("renditions").as_array();
  ASSERT_EQ(reps.size(), 1u);
  EXPECT_EQ(reps[0].at("name"), "1080p");
  EXPECT_EQ(reps[0].at("bitrate").to_number<int64_t>(), 4500000);
}

TEST_F(VideoServiceTest, LifeCycleRecordsNotificationsAndPublishesEvents) {
  VideoService svc = Make();
  auto v = svc.CreateUpload("T", "", "a.mp4", "video/mp4", 10);
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(svc.Confirm(v->id, "\"e1\"").ok());
  auto job = db_->jobs().LatestForVideo(v->id);
  ASSERT_TRUE(job.ok() && job->has_value());
  EXPECT_EQ((*job)->source_etag, "\"e1\"");  // the job pins the confirmed upload
  ASSERT_TRUE(svc.MarkProcessing(v->id, 1).ok());
  svc.ReportProgress(v->id, 42.57, "encoding");
  svc.ReportProgress(v->id, 250, "encoding");  // clamped
  ASSERT_TRUE(svc.MarkError(v->id, "the file is not a video").ok());

  std::vector<std::string> statuses;
  std::vector<double> progress;
  for (const Event& e : events_) {
    json::object p = json::parse(e.payload).as_object();
    EXPECT_EQ(e.video_id, v->id);
    if (e.name == "video-status") statuses.push_back(std::string(p.at("status").as_string()));
    if (e.name == "processing-progress") progress.push_back(p.at("progress").to_number<double>());
  }
  EXPECT_EQ(statuses, (std::vector<std::string>{"UPLOADING", "UPLOADED", "PROCESSING", "ERROR"}));
  EXPECT_EQ(progress, (std::vector<double>{42.5, 100}));  // rounded down to 0.1, clamped

  auto stored = db_->videos().Get(v->id);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->status, VideoStatus::kError);
  EXPECT_EQ((*stored)->error_message, "the file is not a video");

  auto notes = db_->notifications().List(10, "", v->id, db::Audience{});
  ASSERT_TRUE(notes.ok());
  ASSERT_EQ(notes->items.size(), 4u);
  EXPECT_EQ(notes->items[0].status, VideoStatus::kError);  // newest first
  EXPECT_EQ(notes->items[0].message, "the file is not a video");
}

TEST_F(VideoServiceTest, TheSourcePinIsTheRecordedDigestElseOneComputedNow) {
  VideoService svc = Make();
  fs::create_directories(fs::path(root_) / fs::path(RawKey("v1")).parent_path());
  std::ofstream(fs::path(root_) / RawKey("v1")) << "bytes";
  auto st = svc.StatSource("v1");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(*svc.SourcePin("v1", *st), Sha256Pin(Sha256Hex("bytes")));
  // What the upload recorded as it streamed in wins (and no reread happens).
  const std::string recorded(64, 'a');
  ASSERT_TRUE(svc.RecordSourceDigest("v1", recorded).ok());
  EXPECT_EQ(*svc.SourcePin("v1", *st), Sha256Pin(recorded));
}

TEST_F(VideoServiceTest, PrivateVideosGetTokenUrlsThatExpirePublicOnesPlainUrls) {
  clock_.Set(1'000'000'000'000);
  UrlConfig urls{"https://pub.example", "", "playback-secret", 3600};
  VideoService svc = Make(urls);
  Video v;
  v.id = "0123456789abcdef01234567";
  v.status = VideoStatus::kReady;
  PlaybackUrls open = svc.PlaybackFor(v);
  EXPECT_EQ(open.dash, "https://pub.example/media/" + v.id + "/manifest.mpd");
  EXPECT_EQ(open.expires_ms, 0);
  v.visibility = Visibility::kPrivate;
  PlaybackUrls p = svc.PlaybackFor(v);
  EXPECT_GE(p.expires_ms, 1'000'000'000'000 + 3600 * 1000);
  EXPECT_LT(p.expires_ms, 1'000'000'000'000 + 4200 * 1000);
  const std::string prefix = "https://pub.example/media/t/";
  ASSERT_EQ(p.dash.rfind(prefix, 0), 0u) << p.dash;
  const std::string token = p.dash.substr(prefix.size(), p.dash.find('/', prefix.size()) - prefix.size());
  EXPECT_EQ(p.dash, prefix + token + "/" + v.id + "/manifest.mpd");
  EXPECT_EQ(p.hls, prefix + token + "/" + v.id + "/master.m3u8");
  EXPECT_EQ(svc.CheckPlaybackToken(v.id, token, 1'000'000'000), PlaybackCheck::kValid);
  EXPECT_EQ(svc.CheckPlaybackToken(v.id, token, p.expires_ms / 1000), PlaybackCheck::kExpired);
  EXPECT_EQ(svc.CheckPlaybackToken("0123456789abcdef01234568", token, 1'000'000'000), PlaybackCheck::kInvalid);
  // The JSON of a private video carries the same kind of URLs, and its owner.
  v.owner_id = "ffffffffffffffffffffffff";
  const std::string json = svc.JsonText(v);
  EXPECT_NE(json.find("\"manifestUrl\":\"" + prefix), std::string::npos) << json;
  EXPECT_NE(json.find("\"visibility\":\"private\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"ownerId\":\"ffffffffffffffffffffffff\""), std::string::npos) << json;
}

TEST_F(VideoServiceTest, RetryRequeuesAVideoInErrorWithAFreshAttemptBudget) {
  VideoService svc = Make();
  auto v = svc.CreateUpload("T", "", "a.mp4", "video/mp4", 10);
  ASSERT_TRUE(v.ok());
  auto not_failed = svc.Retry(v->id);
  ASSERT_FALSE(not_failed.ok());
  EXPECT_EQ(not_failed.error().code, kNotRetryable);
  EXPECT_EQ(not_failed.error().kind, ErrorKind::kConflict);

  fs::create_directories(fs::path(root_) / fs::path(RawKey(v->id)).parent_path());
  std::ofstream(fs::path(root_) / RawKey(v->id)) << "the upload";
  ASSERT_TRUE(svc.Confirm(v->id, "").ok());
  auto first = db_->jobs().Claim("w", 1000);
  ASSERT_TRUE(first.ok() && first->has_value());
  ASSERT_TRUE(svc.MarkProcessing(v->id, 1).ok());
  ASSERT_EQ(*db_->jobs().Fail((*first)->id, "w", "boom", false, 0), JobState::kFailed);
  ASSERT_TRUE(svc.MarkError(v->id, "boom").ok());

  auto retried = svc.Retry(v->id);
  ASSERT_TRUE(retried.ok()) << retried.error().message;
  ASSERT_TRUE(retried->has_value());
  EXPECT_EQ((*retried)->status, VideoStatus::kUploaded);
  auto job = db_->jobs().LatestForVideo(v->id);
  ASSERT_TRUE(job.ok() && job->has_value());
  EXPECT_NE((*job)->id, (*first)->id);
  EXPECT_EQ((*job)->state, JobState::kQueued);
  EXPECT_EQ((*job)->attempts, 0);
  // A local store's upload is pinned by its digest (computed here: no
  // digest was recorded as it streamed in).
  EXPECT_EQ((*job)->source_etag, Sha256Pin(Sha256Hex("the upload"))) << "pinned to the stored upload";
  EXPECT_NE(events_.back().payload.find("retry requested"), std::string::npos);

  // A second retry while it is queued is refused; an unknown id is nullopt.
  EXPECT_EQ(svc.Retry(v->id).error().code, kNotRetryable);
  auto missing = svc.Retry("0123456789abcdef01234567");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST_F(VideoServiceTest, RetryWithoutTheUploadSaysSoAndChangesNothing) {
  VideoService svc = Make();
  auto v = svc.CreateUpload("T", "", "a.mp4", "video/mp4", 10);
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(svc.MarkError(v->id, "upload never arrived").ok());
  auto r = svc.Retry(v->id);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kSourceMissing);
  EXPECT_EQ((*svc.Get(v->id))->status, VideoStatus::kError);
}

TEST_F(VideoServiceTest, ReadyIsFinalAndDeleteRemovesEverything) {
  VideoService svc = Make();
  auto v = svc.CreateUpload("T", "", "a.mp4", "video/mp4", 10);
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(svc.Confirm(v->id, "").ok());
  ASSERT_TRUE(svc.MarkReady(v->id, ReadyInfo{}).ok());
  // A late failure report (e.g. a duplicate webhook) must not undo READY.
  auto late = svc.MarkError(v->id, "late");
  ASSERT_TRUE(late.ok());
  EXPECT_FALSE(late->has_value());

  for (const std::string& key : {RawKey(v->id), ProcessedPrefix(v->id) + "manifest.mpd"}) {
    fs::create_directories(fs::path(root_) / fs::path(key).parent_path());
    std::ofstream(fs::path(root_) / key) << "x";
  }
  auto deleted = svc.Delete(v->id);
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(*deleted);
  EXPECT_FALSE(fs::exists(fs::path(root_) / RawKey(v->id)));
  EXPECT_FALSE(fs::exists(fs::path(root_) / ProcessedPrefix(v->id) / "manifest.mpd"));
  EXPECT_EQ(events_.back().payload.find("\"DELETED\"") != std::string::npos, true);
  auto again = svc.Delete(v->id);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
}

TEST_F(VideoServiceTest, ListFiltersAndPagesNewestFirst) {
  VideoService svc = Make();
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(1000);
    auto v = svc.CreateUpload("T" + std::to_string(i), "", "a.mp4", "video/mp4", 10);
    ASSERT_TRUE(v.ok());
    ids.push_back(v->id);
  }
  ASSERT_TRUE(svc.Confirm(ids[1], "").ok());

  db::ListQuery q;
  q.limit = 2;
  auto first = svc.List(q);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->items.size(), 2u);
  EXPECT_EQ(first->items[0].id, ids[2]);
  EXPECT_EQ(first->items[1].id, ids[1]);
  ASSERT_FALSE(first->next_cursor.empty());
  q.cursor = first->next_cursor;
  auto second = svc.List(q);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->items.size(), 1u);
  EXPECT_EQ(second->items[0].id, ids[0]);

  db::ListQuery uploaded;
  uploaded.status = VideoStatus::kUploaded;
  auto filtered = svc.List(uploaded);
  ASSERT_TRUE(filtered.ok());
  ASSERT_EQ(filtered->items.size(), 1u);
  EXPECT_EQ(filtered->items[0].id, ids[1]);
}

TEST_F(VideoServiceTest, GetCountsAndMetadata) {
  VideoService svc = Make();
  auto v = svc.CreateUpload("Old", "d", "a.mp4", "video/mp4", 10);
  ASSERT_TRUE(v.ok());
  auto got = svc.Get(v->id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->title, "Old");
  auto missing = svc.Get("0123456789abcdef01234567");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  const size_t events_before = events_.size();
  auto updated = svc.UpdateMetadata(v->id, std::string("New"), std::nullopt);
  ASSERT_TRUE(updated.ok() && updated->has_value());
  EXPECT_EQ((*updated)->title, "New");
  EXPECT_EQ((*updated)->description, "d");  // untouched
  EXPECT_EQ(events_.size(), events_before);  // not a status change
  auto absent = svc.UpdateMetadata("0123456789abcdef01234567", std::string("x"), std::nullopt);
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());

  ASSERT_TRUE(svc.Confirm(v->id, "").ok());
  auto counts = svc.CountByStatus();
  ASSERT_TRUE(counts.ok());
  ASSERT_EQ(counts->size(), std::size(kAllVideoStatuses));
  for (const auto& [status, n] : *counts) EXPECT_EQ(n, status == VideoStatus::kUploaded ? 1 : 0);
}

TEST_F(VideoServiceTest, AVisibilityChangePublishesTheAccessEventAndOtherEditsDoNot) {
  VideoService svc = Make();
  auto v = svc.CreateUpload("T", "d", "a.mp4", "video/mp4", 10, "owner-1");
  ASSERT_TRUE(v.ok());
  const size_t before = events_.size();
  // Title and description only: nothing on the bus.
  auto edited = svc.UpdateMetadata(v->id, std::string("T2"), std::string("d2"));
  ASSERT_TRUE(edited.ok() && edited->has_value());
  EXPECT_EQ(events_.size(), before);

  // A visibility: the access event, after the change is stored, and no
  // video-status (it is not a status change).
  auto made_private = svc.UpdateMetadata(v->id, std::nullopt, std::nullopt, Visibility::kPrivate);
  ASSERT_TRUE(made_private.ok() && made_private->has_value());
  EXPECT_EQ((*made_private)->visibility, Visibility::kPrivate);
  ASSERT_EQ(events_.size(), before + 1);
  const Event& e = events_.back();
  EXPECT_EQ(e.name, kVideoAccessEvent);
  EXPECT_EQ(e.name, "video-access");
  EXPECT_EQ(e.video_id, v->id);
  const json::value payload = json::parse(e.payload);
  EXPECT_EQ(payload.at("videoId").as_string(), v->id);
  EXPECT_EQ(payload.at("visibility").as_string(), "private");

  // With other fields too, and back to public: again.
  auto made_public = svc.UpdateMetadata(v->id, std::string("T3"), std::nullopt, Visibility::kPublic);
  ASSERT_TRUE(made_public.ok() && made_public->has_value());
  ASSERT_EQ(events_.size(), before + 2);
  EXPECT_EQ(events_.back().name, kVideoAccessEvent);
  EXPECT_EQ(json::parse(events_.back().payload).at("visibility").as_string(), "public");

  // A video that does not exist: nothing.
  auto absent = svc.UpdateMetadata("0123456789abcdef01234567", std::nullopt, std::nullopt, Visibility::kPrivate);
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());
  EXPECT_EQ(events_.size(), before + 2);
}

TEST_F(VideoServiceTest, NotificationsPageThroughTheHistory) {
  VideoService svc = Make();
  auto a = svc.CreateUpload("A", "", "a.mp4", "video/mp4", 10);
  auto b = svc.CreateUpload("B", "", "b.mp4", "video/mp4", 10);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(svc.Confirm(a->id, "").ok());

  auto mine = svc.Notifications(10, "", a->id);
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->items.size(), 2u);
  EXPECT_EQ(mine->items[0].status, VideoStatus::kUploaded);  // newest first
  EXPECT_EQ(mine->items[1].status, VideoStatus::kUploading);

  auto first = svc.Notifications(2, "", "");
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->items.size(), 2u);
  ASSERT_FALSE(first->next_cursor.empty());
  auto rest = svc.Notifications(2, first->next_cursor, "");
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->items.size(), 1u);
  EXPECT_TRUE(rest->next_cursor.empty());
}

TEST_F(VideoServiceTest, SourceOperationsUseTheRawKey) {
  VideoService svc = Make();
  const std::string id = "0123456789abcdef01234567";
  auto none = svc.StatSource(id);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, store::kNotFound);
  EXPECT_FALSE(svc.PresignUpload(id, "video/mp4", 60).has_value());  // the local store signs none

  auto w = svc.OpenSourceWriter(id);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write("12345", 5).ok());
  ASSERT_TRUE((*w)->Commit().ok());
  EXPECT_TRUE(fs::exists(fs::path(root_) / RawKey(id)));
  auto st = svc.StatSource(id);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->size, 5u);
  EXPECT_FALSE(st->etag.empty());
}

TEST_F(VideoServiceTest, MediaOperationsUseTheProcessedPrefix) {
  VideoService svc = Make();
  const std::string id = "0123456789abcdef01234567";
  const fs::path file = fs::path(root_) / (ProcessedPrefix(id) + "chunk-0-1.m4s");
  fs::create_directories(file.parent_path());
  std::ofstream(file) << "0123456789";

  auto st = svc.StatMedia(id, "chunk-0-1.m4s");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->size, 10u);
  auto path = svc.MediaLocalPath(id, "chunk-0-1.m4s");
  ASSERT_TRUE(path.has_value());
  EXPECT_TRUE(fs::equivalent(*path, file));

  auto reader = svc.OpenMedia(id, "chunk-0-1.m4s", 2, 5);
  ASSERT_TRUE(reader.ok());
  std::string got;
  char buf[16];
  for (;;) {
    auto n = (*reader)->Read(buf, sizeof(buf));
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    got.append(buf, *n);
  }
  EXPECT_EQ(got, "23456");

  EXPECT_FALSE(svc.StatMedia(id, "missing.m4s").ok());
  auto absent = svc.OpenMedia(id, "missing.m4s", 0, 1);
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.error().code, store::kNotFound);
}

// Issue 11, item 2: a remote worker's report never discards this system's
// own job, READY needs the outputs in storage, and a delivery applies once.
TEST_F(VideoServiceTest, RemoteResultsWaitForTheQueueNeedTheOutputsAndApplyOnce) {
  VideoService svc(db_->videos(), db_->notifications(), *store_, bus_, clock_, {}, &db_->jobs());
  auto v = svc.CreateUpload("t", "", "c.mp4", "video/mp4", 10);
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(svc.Confirm(v->id, "").ok());
  RemoteResult ready;
  ready.video_id = v->id;
  ready.ready = true;
  ready.delivery_keys = {"delivery:d-1"};

  // The confirmation queued a job here: the webhook may not move the video,
  // neither while the job waits nor while it runs.
  auto queued = svc.ApplyRemoteResult(ready);
  ASSERT_FALSE(queued.ok());
  EXPECT_EQ(queued.error().code, kJobRunning);
  EXPECT_EQ(queued.error().kind, ErrorKind::kConflict);
  auto job = db_->jobs().Claim("w", 60'000);
  ASSERT_TRUE(job.ok() && job->has_value());
  ASSERT_TRUE(svc.MarkProcessing(v->id, 1).ok());
  RemoteResult failed = ready;
  failed.ready = false;
  failed.error = "remote failure";
  EXPECT_EQ(svc.ApplyRemoteResult(failed).error().code, kJobRunning);
  EXPECT_EQ((*svc.Get(v->id))->status, VideoStatus::kProcessing);

  // The job ends without a verdict of its own (handed back for good): the
  // video stays PROCESSING and a remote worker may finish it, but READY only
  // with both manifests in storage.
  ASSERT_TRUE(db_->jobs().Cancel((*job)->id).ok());
  auto missing = svc.ApplyRemoteResult(ready);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, kMediaMissing);
  const fs::path out = fs::path(root_) / ProcessedPrefix(v->id);
  fs::create_directories(out);
  std::ofstream(out / "manifest.mpd") << "<MPD/>";
  EXPECT_EQ(svc.ApplyRemoteResult(ready).error().code, kMediaMissing) << "master.m3u8 is missing";
  std::ofstream(out / "master.m3u8") << "#EXTM3U";
  EXPECT_EQ((*svc.Get(v->id))->status, VideoStatus::kProcessing) << "refusals change nothing";

  auto applied = svc.ApplyRemoteResult(ready);
  ASSERT_TRUE(applied.ok() && applied->has_value()) << (applied.ok() ? "" : applied.error().message);
  EXPECT_TRUE((*applied)->applied);
  EXPECT_FALSE((*applied)->duplicate);
  EXPECT_EQ((*applied)->video.status, VideoStatus::kReady);

  // The same delivery again, even as a failure: nothing happens.
  failed.delivery_keys = {"delivery:d-1"};
  auto replay = svc.ApplyRemoteResult(failed);
  ASSERT_TRUE(replay.ok() && replay->has_value());
  EXPECT_TRUE((*replay)->duplicate);
  EXPECT_FALSE((*replay)->applied);
  EXPECT_EQ((*replay)->video.status, VideoStatus::kReady);

  RemoteResult unknown = ready;
  unknown.video_id = "0123456789abcdef01234567";
  auto none = svc.ApplyRemoteResult(unknown);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(VideoServiceTest, UploadsNeedRoomForTheirSizeAndAMargin) {
  EXPECT_TRUE(RoomFor(7 << 20, std::nullopt).ok()) << "a store that cannot tell is not refused";
  Status full = RoomFor(7 << 20, 600 << 10);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().kind, ErrorKind::kInsufficientStorage);
  EXPECT_EQ(full.error().code, store::kStorageFull);
  EXPECT_FALSE(RoomFor(7 << 20, (7 << 20) + kStorageMargin - 1).ok()) << "the margin is kept";
  EXPECT_TRUE(RoomFor(7 << 20, (7 << 20) + kStorageMargin).ok());
  EXPECT_TRUE(store_->FreeBytes().has_value()) << "the local store asks statvfs";
}

}  // namespace
}  // namespace vs::service
