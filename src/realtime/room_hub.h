// Rooms, fan-out and the replay buffer of recent events.
//
// Publishing to a room and joining it take the same lock, which is what makes
// "replay, then live" exact: an event is either in the buffer when a socket
// joins (and replayed to it) or published after the join (and delivered
// live), never both and never neither.
//
// Thread-safe. Members are called back (Deliver) with the hub's lock held,
// so Deliver must be quick and must not call back into the hub.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/json/object.hpp>

#include "core/result.h"

namespace vs::realtime {

// One published event as the hub keeps and hands it out: each transport
// (Socket.IO, Server-Sent Events) encodes it for its own wire. Immutable and
// shared by every member of the room.
struct RoomEvent {
  std::string name;  // "video-status", "processing-progress"
  std::string data;  // the JSON object, "seq" and "timestamp" included
  uint64_t seq = 0;
};
using RoomEventPtr = std::shared_ptr<const RoomEvent>;

// Something that can be in rooms: a Socket.IO socket, an event stream.
class Member {
 public:
  virtual ~Member() = default;
  virtual void Deliver(const RoomEventPtr& event) = 0;

  // For re-checking a member's rights after they may have shrunk (a video
  // made private): the rest have defaults, and a member whose Pin() is null
  // is never re-checked.
  //
  // Keeps the member alive off the hub's lock (called with it held: must
  // only take a reference).
  virtual std::shared_ptr<Member> Pin() { return nullptr; }
  // Who the member is (RealtimeOptions::identify); "" = anonymous. No hub
  // lock held.
  virtual std::string identity() const { return std::string(); }
  // It may no longer see a room and has been taken out of it; `message`
  // says so ("not allowed to join video <id>"). No hub lock held.
  virtual void Refused(const std::string& message) { (void)message; }
};

struct RoomHubOptions {
  int replay_size = 20;         // events kept per room that has been published to
  int max_replay_rooms = 2000;  // rooms with a replay buffer; least recently updated go first
  int max_rooms_per_member = 100;
};

class RoomHub {
 public:
  explicit RoomHub(RoomHubOptions options);

  // A member must be added before it can join rooms; RemoveMember leaves
  // every room and makes later joins fail, so a socket that is closing cannot
  // end up in a room after its cleanup ran.
  void AddMember(Member* m);
  void RemoveMember(Member* m);

  // Joins `room` and, if the member was not in it yet, delivers the room's
  // buffered events in order, then runs `after` (e.g. sends the join's ack),
  // all before any event published later (`after` runs under the hub's
  // lock: it must only queue). Returns the number of replayed events.
  // Errors: "too_many_rooms", "not_a_member".
  Result<int> Join(Member* m, const std::string& room, const std::function<void()>& after = {});
  // Leaving a room the member is not in is not an error. True when it was
  // in the room.
  bool Leave(Member* m, const std::string& room);
  void LeaveAll(Member* m);  // stays a member (Socket.IO DISCONNECT)

  // Adds "seq" (per room, from 1) and "timestamp" (ms) to the JSON object
  // `payload`, keeps the event for replay and delivers it to the room's
  // members.
  // `seq` 0 numbers the event here; a non-zero `seq` was given by a shared
  // fan-out (every process sees the same numbers) and an event at or below
  // the room's last one is a duplicate and is dropped. Returns the sequence
  // number. Errors: "invalid_payload" (not an object).
  Result<uint64_t> Publish(const std::string& room, const std::string& event,
                           const std::string& payload, int64_t timestamp_ms, uint64_t seq = 0);

  // Where a room's earlier events come from when this process has not seen
  // them (a shared replay buffer, e.g. in Redis): consulted, outside the
  // hub's lock, the first time a room without a buffer here is joined. Set
  // before the hub is used.
  struct HistoryEvent {
    std::string event;
    std::string payload;
    int64_t timestamp_ms = 0;
    uint64_t seq = 0;
  };
  using HistoryLoader = std::function<std::vector<HistoryEvent>(const std::string& room)>;
  void SetHistoryLoader(HistoryLoader loader) { history_ = std::move(loader); }

  // The members of `room` that can be re-checked (Member::Pin), pinned, so
  // that the caller may look at them with no lock held.
  std::vector<std::shared_ptr<Member>> Members(const std::string& room) const;

  // Introspection for tests and metrics.
  size_t room_size(const std::string& room) const;
  std::vector<RoomEventPtr> replay_buffer(const std::string& room) const;
  size_t replay_rooms() const;

 private:
  using Entry = RoomEventPtr;
  struct Log {
    uint64_t last_seq = 0;
    bool history_loaded = false;
    std::vector<Entry> entries;  // ring of at most replay_size, oldest at `head`
    size_t head = 0;
    std::list<std::string>::iterator lru;  // position in lru_ (front = most recent)
  };
  struct MemberRooms {
    std::vector<std::string> rooms;
  };

  Log& LogFor(const std::string& room);  // creates, touches, evicts
  // Numbers and keeps one event (lock held); null when `*seq` says it was
  // seen already.
  RoomEventPtr Append(Log& log, const std::string& event, boost::json::object obj, int64_t timestamp_ms,
                uint64_t* seq);
  void LoadHistory(const std::string& room);
  void LeaveLocked(Member* m, MemberRooms& mr, const std::string& room);

  const RoomHubOptions options_;
  mutable std::mutex mu_;
  std::unordered_map<Member*, MemberRooms> members_;
  std::unordered_map<std::string, std::unordered_set<Member*>> rooms_;
  std::unordered_map<std::string, Log> logs_;
  std::list<std::string> lru_;
  HistoryLoader history_;
};

}  // namespace vs::realtime
