#include "realtime/room_hub.h"

#include <algorithm>
#include <boost/json.hpp>

#include "core/json_text.h"

namespace vs::realtime {

namespace json = boost::json;

RoomHub::RoomHub(RoomHubOptions options) : options_(options) {}

void RoomHub::AddMember(Member* m) {
  std::lock_guard lock(mu_);
  members_.try_emplace(m);
}

void RoomHub::RemoveMember(Member* m) {
  std::lock_guard lock(mu_);
  auto it = members_.find(m);
  if (it == members_.end()) return;
  while (!it->second.rooms.empty()) LeaveLocked(m, it->second, it->second.rooms.back());
  members_.erase(it);
}

Result<int> RoomHub::Join(Member* m, const std::string& room, const std::function<void()>& after) {
  LoadHistory(room);
  std::lock_guard lock(mu_);
  auto it = members_.find(m);
  if (it == members_.end()) return MakeError("not_a_member", "the socket is closed");
  auto& rooms = it->second.rooms;
  if (std::find(rooms.begin(), rooms.end(), room) != rooms.end()) {
    // Already in: replaying again would hand the socket duplicates.
    if (after) after();
    return 0;
  }
  if (static_cast<int>(rooms.size()) >= options_.max_rooms_per_member)
    return MakeError(
        "too_many_rooms",
        "a socket may join at most " + std::to_string(options_.max_rooms_per_member) + " rooms");
  rooms.push_back(room);
  rooms_[room].insert(m);
  int replayed = 0;
  if (auto lit = logs_.find(room); lit != logs_.end()) {
    const Log& log = lit->second;
    const size_t n = log.entries.size();
    for (size_t k = 0; k < n; ++k) {
      m->Deliver(log.entries[(log.head + k) % n]);
      ++replayed;
    }
  }
  if (after) after();
  return replayed;
}

bool RoomHub::Leave(Member* m, const std::string& room) {
  std::lock_guard lock(mu_);
  auto it = members_.find(m);
  if (it == members_.end()) return false;
  auto& rooms = it->second.rooms;
  if (std::find(rooms.begin(), rooms.end(), room) == rooms.end()) return false;
  LeaveLocked(m, it->second, room);
  return true;
}

std::vector<std::shared_ptr<Member>> RoomHub::Members(const std::string& room) const {
  std::vector<std::shared_ptr<Member>> out;
  std::lock_guard lock(mu_);
  auto rit = rooms_.find(room);
  if (rit == rooms_.end()) return out;
  out.reserve(rit->second.size());
  for (Member* m : rit->second)
    if (auto pinned = m->Pin()) out.push_back(std::move(pinned));
  return out;
}

void RoomHub::LeaveAll(Member* m) {
  std::lock_guard lock(mu_);
  auto it = members_.find(m);
  if (it == members_.end()) return;
  while (!it->second.rooms.empty()) LeaveLocked(m, it->second, it->second.rooms.back());
}

void RoomHub::LeaveLocked(Member* m, MemberRooms& mr, const std::string& room) {
  auto pos = std::find(mr.rooms.begin(), mr.rooms.end(), room);
  if (pos == mr.rooms.end()) return;
  auto rit = rooms_.find(room);
  if (rit != rooms_.end()) {
    rit->second.erase(m);
    if (rit->second.empty()) rooms_.erase(rit);
  }
  mr.rooms.erase(pos);  // `room` may alias this element: erase it last
}

RoomHub::Log& RoomHub::LogFor(const std::string& room) {
  auto it = logs_.find(room);
  if (it != logs_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return it->second;
  }
  if (options_.max_replay_rooms > 0 &&
      logs_.size() >= static_cast<size_t>(options_.max_replay_rooms)) {
    // Prefer a room nobody listens to: a listener would see the sequence
    // restart at 1 and could drop new events as already seen.
    auto victim = std::prev(lru_.end());
    for (auto r = lru_.rbegin(); r != lru_.rend(); ++r) {
      if (!rooms_.contains(*r)) {
        victim = std::prev(r.base());
        break;
      }
    }
    logs_.erase(*victim);
    lru_.erase(victim);
  }
  lru_.push_front(room);
  Log& log = logs_[room];
  log.lru = lru_.begin();
  return log;
}

namespace {

Result<json::object> ParseObject(const std::string& payload) {
  boost::system::error_code ec;
  json::value v = json::parse(payload, ec);
  if (ec || !v.is_object())
    return MakeError("invalid_payload", "event payload is not a JSON object");
  return std::move(v.as_object());
}

}  // namespace

RoomEventPtr RoomHub::Append(Log& log, const std::string& event, json::object obj, int64_t timestamp_ms,
                             uint64_t* seq) {
  if (*seq != 0 && *seq <= log.last_seq) return nullptr;  // seen already
  if (*seq == 0) *seq = log.last_seq + 1;
  log.last_seq = *seq;
  obj["timestamp"] = timestamp_ms;
  obj["seq"] = *seq;
  auto kept = std::make_shared<const RoomEvent>(RoomEvent{event, json_text::Serialize(obj), *seq});
  const size_t cap = static_cast<size_t>(std::max(0, options_.replay_size));
  if (cap > 0) {
    if (log.entries.size() < cap) {
      log.entries.push_back(kept);
    } else {
      log.entries[log.head] = kept;
      log.head = (log.head + 1) % cap;
    }
  }
  return kept;
}

Result<uint64_t> RoomHub::Publish(const std::string& room, const std::string& event,
                                  const std::string& payload, int64_t timestamp_ms, uint64_t seq) {
  // Parsing needs no lock; only the sequence number does.
  VS_ASSIGN_OR_RETURN(json::object obj, ParseObject(payload));
  std::lock_guard lock(mu_);
  Log& log = LogFor(room);
  RoomEventPtr kept = Append(log, event, std::move(obj), timestamp_ms, &seq);
  if (!kept) return seq;
  if (auto rit = rooms_.find(room); rit != rooms_.end()) {
    for (Member* m : rit->second) m->Deliver(kept);
  }
  return seq;
}

void RoomHub::LoadHistory(const std::string& room) {
  if (!history_) return;
  {
    std::lock_guard lock(mu_);
    auto it = logs_.find(room);
    if (it != logs_.end() && it->second.history_loaded) return;
  }
  // May block on the shared store: no lock held.
  std::vector<std::pair<HistoryEvent, json::object>> past;
  for (HistoryEvent& h : history_(room)) {
    auto obj = ParseObject(h.payload);
    if (obj.ok() && h.seq != 0) past.emplace_back(std::move(h), std::move(*obj));
  }
  std::lock_guard lock(mu_);
  Log& log = LogFor(room);
  if (log.history_loaded) return;
  log.history_loaded = true;
  // Events that went live here since the history was read keep their place:
  // the buffer is rebuilt in seq order from both.
  std::vector<Entry> live;
  const size_t n = log.entries.size();
  for (size_t k = 0; k < n; ++k) live.push_back(log.entries[(log.head + k) % n]);
  const uint64_t live_last = log.last_seq;
  log.entries.clear();
  log.head = 0;
  log.last_seq = 0;
  for (auto& [h, obj] : past) {
    if (!live.empty() && h.seq >= live.front()->seq) continue;
    uint64_t seq = h.seq;
    (void)Append(log, h.event, std::move(obj), h.timestamp_ms, &seq);
  }
  const size_t cap = static_cast<size_t>(std::max(0, options_.replay_size));
  for (const Entry& e : live) {
    if (cap == 0) break;
    if (log.entries.size() < cap) {
      log.entries.push_back(e);
    } else {
      log.entries[log.head] = e;
      log.head = (log.head + 1) % cap;
    }
  }
  log.last_seq = std::max(log.last_seq, live_last);
}

size_t RoomHub::room_size(const std::string& room) const {
  std::lock_guard lock(mu_);
  auto it = rooms_.find(room);
  return it == rooms_.end() ? 0 : it->second.size();
}

std::vector<RoomEventPtr> RoomHub::replay_buffer(const std::string& room) const {
  std::lock_guard lock(mu_);
  std::vector<RoomEventPtr> out;
  auto it = logs_.find(room);
  if (it == logs_.end()) return out;
  const Log& log = it->second;
  const size_t n = log.entries.size();
  for (size_t k = 0; k < n; ++k) out.push_back(log.entries[(log.head + k) % n]);
  return out;
}

size_t RoomHub::replay_rooms() const {
  std::lock_guard lock(mu_);
  return logs_.size();
}

}  // namespace vs::realtime
