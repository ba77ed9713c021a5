#include "realtime/room_hub.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "realtime/protocol.h"

namespace vs::realtime {
namespace {

namespace json = boost::json;

// Records what it gets in Socket.IO's encoding, as a socket would send it.
class FakeMember : public Member {
 public:
  void Deliver(const RoomEventPtr& e) override {
    std::lock_guard lock(mu);
    got.push_back(EncodeEvent(e->name, e->data));
  }
  // The "seq" of every received event, in order.
  std::vector<int64_t> Seqs() {
    std::lock_guard lock(mu);
    std::vector<int64_t> out;
    for (const auto& text : got) {
      if (text.rfind("42", 0) != 0) continue;
      json::value v = json::parse(std::string_view(text).substr(2));
      out.push_back(v.as_array()[1].at("seq").as_int64());
    }
    return out;
  }
  std::mutex mu;
  std::vector<std::string> got;
};

std::string Payload(int progress) {
  return R"({"videoId":"v1","progress":)" + std::to_string(progress) + "}";
}

TEST(RoomHubTest, PublishAddsSeqAndTimestampAndReachesOnlyTheRoom) {
  RoomHub hub({});
  FakeMember in, out;
  hub.AddMember(&in);
  hub.AddMember(&out);
  ASSERT_TRUE(hub.Join(&in, "video-v1").ok());
  ASSERT_TRUE(hub.Join(&out, "video-v2").ok());
  auto seq = hub.Publish("video-v1", "processing-progress", Payload(5), 1234);
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, 1u);
  ASSERT_EQ(in.got.size(), 1u);
  EXPECT_EQ(in.got[0],
            R"(42["processing-progress",{"videoId":"v1","progress":5,"timestamp":1234,"seq":1}])");
  EXPECT_TRUE(out.got.empty());
  EXPECT_EQ(*hub.Publish("video-v1", "video-status", R"({"status":"READY"})", 1235), 2u);
  EXPECT_EQ(*hub.Publish("video-v2", "video-status", R"({"status":"READY"})", 1236),
            1u);  // per room
}

TEST(RoomHubTest, NumbersFromASharedFanOutAreKeptAndDuplicatesDropped) {
  RoomHub hub({});
  FakeMember m;
  hub.AddMember(&m);
  ASSERT_TRUE(hub.Join(&m, "video-v1").ok());
  EXPECT_EQ(*hub.Publish("video-v1", "processing-progress", Payload(1), 10, 7), 7u);
  EXPECT_EQ(*hub.Publish("video-v1", "processing-progress", Payload(2), 11, 8), 8u);
  // Seen already (e.g. read from the shared history and then live): dropped.
  EXPECT_EQ(*hub.Publish("video-v1", "processing-progress", Payload(2), 11, 8), 8u);
  // A local event continues after the shared numbers.
  EXPECT_EQ(*hub.Publish("video-v1", "video-status", R"({"status":"READY"})", 12), 9u);
  EXPECT_EQ(m.Seqs(), (std::vector<int64_t>{7, 8, 9}));
}

TEST(RoomHubTest, AFirstJoinReplaysTheSharedHistoryMergedWithLiveEvents) {
  RoomHub hub({});
  int loads = 0;
  hub.SetHistoryLoader([&](const std::string& room) {
    ++loads;
    EXPECT_EQ(room, "video-v1");
    // Events 3..5 happened on other processes; 5 also arrived here live.
    std::vector<RoomHub::HistoryEvent> h;
    for (int s = 3; s <= 5; ++s) h.push_back({"processing-progress", Payload(s), 100 + s, static_cast<uint64_t>(s)});
    return h;
  });
  ASSERT_TRUE(hub.Publish("video-v1", "processing-progress", Payload(5), 105, 5).ok());
  FakeMember first, second;
  hub.AddMember(&first);
  hub.AddMember(&second);
  ASSERT_TRUE(hub.Join(&first, "video-v1").ok());
  EXPECT_EQ(first.Seqs(), (std::vector<int64_t>{3, 4, 5}));
  ASSERT_TRUE(hub.Publish("video-v1", "processing-progress", Payload(6), 106, 6).ok());
  EXPECT_EQ(first.Seqs(), (std::vector<int64_t>{3, 4, 5, 6}));
  ASSERT_TRUE(hub.Join(&second, "video-v1").ok());
  EXPECT_EQ(second.Seqs(), (std::vector<int64_t>{3, 4, 5, 6}));
  EXPECT_EQ(loads, 1);  // once per room
}

TEST(RoomHubTest, RefusesPayloadsThatAreNotObjects) {
  RoomHub hub({});
  EXPECT_FALSE(hub.Publish("video-v1", "x", "[1]", 0).ok());
  EXPECT_FALSE(hub.Publish("video-v1", "x", "not json", 0).ok());
  EXPECT_EQ(hub.replay_rooms(), 0u);
}

TEST(RoomHubTest, LateJoinerGetsTheLastEventsInOrderThenTheAck) {
  RoomHubOptions o;
  o.replay_size = 20;
  RoomHub hub(o);
  for (int i = 1; i <= 25; ++i) ASSERT_TRUE(hub.Publish("video-v1", "p", Payload(i), i).ok());
  FakeMember late;
  hub.AddMember(&late);
  auto n = hub.Join(&late, "video-v1", [&late] { late.got.push_back("430[{\"ok\":true}]"); });
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 20);
  std::vector<int64_t> want;
  for (int i = 6; i <= 25; ++i) want.push_back(i);
  EXPECT_EQ(late.Seqs(), want);
  EXPECT_EQ(late.got.back(), "430[{\"ok\":true}]");
  ASSERT_TRUE(hub.Publish("video-v1", "p", Payload(26), 26).ok());
  EXPECT_EQ(late.Seqs().back(), 26);
}

TEST(RoomHubTest, JoiningTwiceDoesNotReplayAgain) {
  RoomHub hub({});
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(hub.Publish("video-v1", "p", Payload(i), i).ok());
  FakeMember m;
  hub.AddMember(&m);
  EXPECT_EQ(*hub.Join(&m, "video-v1"), 3);
  EXPECT_EQ(*hub.Join(&m, "video-v1"), 0);
  EXPECT_EQ(m.Seqs(), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(hub.room_size("video-v1"), 1u);
}

TEST(RoomHubTest, LeaveStopsDeliveryAndRemoveMemberBlocksJoins) {
  RoomHub hub({});
  FakeMember m;
  hub.AddMember(&m);
  ASSERT_TRUE(hub.Join(&m, "video-v1").ok());
  EXPECT_TRUE(hub.Leave(&m, "video-v1"));
  EXPECT_FALSE(hub.Leave(&m, "video-v9"));  // not in it: fine, and said so
  ASSERT_TRUE(hub.Publish("video-v1", "p", Payload(1), 1).ok());
  EXPECT_TRUE(m.got.empty());
  ASSERT_TRUE(hub.Join(&m, "video-v2").ok());
  ASSERT_TRUE(hub.Join(&m, "user-u1").ok());
  hub.RemoveMember(&m);
  EXPECT_EQ(hub.room_size("video-v2"), 0u);
  EXPECT_EQ(hub.room_size("user-u1"), 0u);
  auto again = hub.Join(&m, "video-v2");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "not_a_member");
  FakeMember stranger;
  EXPECT_FALSE(hub.Join(&stranger, "video-v1").ok());
}

// A member that can be re-checked: it pins itself.
class PinnableMember : public FakeMember, public std::enable_shared_from_this<PinnableMember> {
 public:
  std::shared_ptr<Member> Pin() override { return weak_from_this().lock(); }
};

TEST(RoomHubTest, MembersPinsTheRoomsMembersThatCanBeRechecked) {
  RoomHub hub({});
  auto p1 = std::make_shared<PinnableMember>();
  auto p2 = std::make_shared<PinnableMember>();
  FakeMember plain;  // no Pin(): never handed out
  for (Member* m : {static_cast<Member*>(p1.get()), static_cast<Member*>(p2.get()), static_cast<Member*>(&plain)}) {
    hub.AddMember(m);
    ASSERT_TRUE(hub.Join(m, "video-v1").ok());
  }
  ASSERT_TRUE(hub.Join(p1.get(), "video-v2").ok());
  auto members = hub.Members("video-v1");
  ASSERT_EQ(members.size(), 2u);
  EXPECT_TRUE((members[0].get() == p1.get() && members[1].get() == p2.get()) ||
              (members[0].get() == p2.get() && members[1].get() == p1.get()));
  EXPECT_EQ(hub.Members("video-v2").size(), 1u);
  EXPECT_TRUE(hub.Members("video-none").empty());
  for (Member* m : {static_cast<Member*>(p1.get()), static_cast<Member*>(p2.get()), static_cast<Member*>(&plain)})
    hub.RemoveMember(m);
}

TEST(RoomHubTest, LimitsRoomsPerMember) {
  RoomHubOptions o;
  o.max_rooms_per_member = 3;
  RoomHub hub(o);
  FakeMember m;
  hub.AddMember(&m);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(hub.Join(&m, "video-" + std::to_string(i)).ok());
  auto r = hub.Join(&m, "video-3");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "too_many_rooms");
  EXPECT_TRUE(hub.Join(&m, "video-0").ok());  // already in: not a new room
  hub.LeaveAll(&m);
  EXPECT_TRUE(hub.Join(&m, "video-3").ok());  // LeaveAll keeps the member
}

TEST(RoomHubTest, EvictsTheLeastRecentlyUpdatedRoomWithoutListeners) {
  RoomHubOptions o;
  o.max_replay_rooms = 3;
  RoomHub hub(o);
  FakeMember listener;
  hub.AddMember(&listener);
  ASSERT_TRUE(hub.Publish("video-a", "p", Payload(1), 1).ok());
  ASSERT_TRUE(hub.Join(&listener, "video-a").ok());
  ASSERT_TRUE(hub.Publish("video-b", "p", Payload(1), 2).ok());
  ASSERT_TRUE(hub.Publish("video-c", "p", Payload(1), 3).ok());
  ASSERT_TRUE(hub.Publish("video-d", "p", Payload(1), 4).ok());  // evicts b: a has a listener
  EXPECT_EQ(hub.replay_rooms(), 3u);
  EXPECT_EQ(hub.replay_buffer("video-a").size(), 1u);
  EXPECT_TRUE(hub.replay_buffer("video-b").empty());
  ASSERT_TRUE(hub.Publish("video-c", "p", Payload(2), 5).ok());  // c is now the most recent
  ASSERT_TRUE(hub.Publish("video-e", "p", Payload(1), 6).ok());  // evicts d
  EXPECT_TRUE(hub.replay_buffer("video-d").empty());
  EXPECT_EQ(hub.replay_buffer("video-c").size(), 2u);
  hub.LeaveAll(&listener);
  ASSERT_TRUE(hub.Publish("video-f", "p", Payload(1), 7).ok());  // a, now unheard, goes
  EXPECT_TRUE(hub.replay_buffer("video-a").empty());
}

TEST(RoomHubTest, EvictsEvenListenedRoomsWhenAllHaveListeners) {
  RoomHubOptions o;
  o.max_replay_rooms = 2;
  RoomHub hub(o);
  FakeMember m;
  hub.AddMember(&m);
  for (const char* r : {"video-a", "video-b", "video-c"}) {
    ASSERT_TRUE(hub.Join(&m, r).ok());
    ASSERT_TRUE(hub.Publish(r, "p", Payload(1), 1).ok());
  }
  EXPECT_EQ(hub.replay_rooms(), 2u);  // memory stays bounded
  EXPECT_TRUE(hub.replay_buffer("video-a").empty());
}

// Joins racing with publishing: every joiner must see each event exactly
// once (replayed or live) and in sequence order.
TEST(RoomHubTest, JoinAndPublishRaceWithoutLossOrDuplicates) {
  RoomHubOptions o;
  o.replay_size = 1000;  // larger than the run: every event stays replayable
  RoomHub hub(o);
  constexpr int kEvents = 500;
  constexpr int kJoiners = 8;
  std::vector<FakeMember> members(kJoiners);
  for (auto& m : members) hub.AddMember(&m);
  std::atomic<bool> go{false};
  std::thread publisher([&] {
    while (!go) std::this_thread::yield();
    for (int i = 1; i <= kEvents; ++i) ASSERT_TRUE(hub.Publish("video-v", "p", Payload(i), i).ok());
  });
  std::vector<std::thread> joiners;
  for (int j = 0; j < kJoiners; ++j) {
    joiners.emplace_back([&, j] {
      while (!go) std::this_thread::yield();
      for (int k = 0; k < j * 50; ++k) std::this_thread::yield();
      ASSERT_TRUE(hub.Join(&members[j], "video-v").ok());
    });
  }
  go = true;
  publisher.join();
  for (auto& t : joiners) t.join();
  std::vector<int64_t> want;
  for (int i = 1; i <= kEvents; ++i) want.push_back(i);
  for (int j = 0; j < kJoiners; ++j) EXPECT_EQ(members[j].Seqs(), want) << "joiner " << j;
}

}  // namespace
}  // namespace vs::realtime
