// Real-time status push: a Socket.IO v5 / Engine.IO v4 server on the API's
// port at /socket.io/ (HTTP long-polling, WebSocket and the upgrade between
// them) that fans the EventBus's status events out to rooms "video-<id>" and
// replays the last events of a video to sockets that join late.
//
// Client -> server events: join-video (videoId), leave-video (videoId),
// join-user (userId); an ack, if asked for, gets {"ok":true,...} or
// {"ok":false,"error":...}. A join the identity of the socket may not make
// (RealtimeOptions::may_join) gets an error event, a failed ack and no room.
// Server -> client: video-status and processing-progress (the bus payload
// plus "seq", per video from 1, and "timestamp", ms since the epoch), and
// error ({"message":...}).
//
// Rights can shrink after a join: a bus event named kVideoAccessEvent (the
// video's visibility changed) is not sent to anyone nor kept for replay;
// instead every member of the video's room is asked may_join again, and
// those refused are taken out of it: a Socket.IO socket gets the error event
// of a refused join, an event stream is ended.
//
// No Beast types here: the WebSocket side lives in websocket.cc. Boost.JSON
// (not Beast) appears for the CONNECT packet's auth object.
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/event_bus.h"
#include "core/result.h"
#include "http/http.h"

namespace vs::realtime {

// vs::kVideoAccessEvent (core/event_bus.h), internal: never delivered to
// clients.
using vs::kVideoAccessEvent;

struct RealtimeOptions {
  int ping_interval_ms = 25000;
  int ping_timeout_ms = 20000;
  size_t max_payload = 1000000;  // bytes per POST body or WebSocket message
  int replay_size = 20;          // events kept per video
  int max_replay_videos = 2000;  // videos with a replay buffer (LRU beyond)
  int max_rooms_per_socket = 100;
  int max_sockets_per_address = 50;
  int connect_timeout_ms = 45000;     // from the handshake to the Socket.IO CONNECT
  int upgrade_timeout_ms = 10000;     // from the probe WebSocket to its "5"
  size_t max_queued_bytes = 4 << 20;  // unsent data per socket before it is dropped
  std::string cors_origin;            // FRONTEND_URL; empty = echo any origin
  bool trust_proxy = false;           // client address from X-Forwarded-For
  // Event streams (GET /api/videos/:id/events) answer 404 for a video this
  // says does not exist; unset = no check. A database error counts as
  // "exists" (the stream then simply waits for events).
  std::function<Result<bool>(const std::string& video_id)> video_exists;
  // A video's recent events as numbered by a fan-out shared between
  // processes (oldest first), for clients that join a video this process has
  // not seen events of yet; unset = this process's own buffer only. Called
  // once per video, off the hub's lock; may block briefly.
  std::function<std::vector<Event>(const std::string& video_id)> history;
  // Who a client is, from its handshake: the HTTP headers of the Engine.IO
  // handshake request (cookies) and, for Socket.IO, the CONNECT packet's auth
  // object (null when it sent none). Returns an opaque identity ("" =
  // anonymous). Called once per Socket.IO connection (at CONNECT) and once
  // per event stream, on the thread that handles the client's request or
  // frame, with no realtime lock held; may block briefly (a database
  // lookup). Unset: every client is "".
  std::function<std::string(const http::Headers& handshake_headers,
                            const boost::json::object* auth)>
      identify;
  // Whether `identity` may receive the events of room kind "video" or "user"
  // with that id (join-video, join-user, an event stream). Must answer false
  // for a video that does not exist too: the refusal is the same either way,
  // so it tells nothing about existence. Same threads and locks as identify;
  // also called on a realtime thread (the one that orders bus events, which
  // wait meanwhile) for the members of a video's room when its
  // kVideoAccessEvent arrives, once per distinct identity.
  // Unset: all allowed, and nothing is re-checked.
  std::function<bool(const std::string& identity, std::string_view kind, std::string_view id)>
      may_join;
};

class Engine;

// Thread-safe. Construct it before the HTTP server, Register() before the
// server runs, and Shutdown() before destroying it (the destructor does it
// too). It must outlive the server it is registered with.
class RealtimeServer {
 public:
  RealtimeServer(RealtimeOptions options, EventBus& bus, const Clock& clock);
  ~RealtimeServer();
  RealtimeServer(const RealtimeServer&) = delete;
  RealtimeServer& operator=(const RealtimeServer&) = delete;

  // GET and POST /socket.io (the router strips the trailing slash).
  void Register(http::Router& router);
  // For http::Server::SetUpgradeHandler: WebSocket connections to
  // /socket.io/ and Server-Sent Events streams at /api/videos/:id/events.
  http::UpgradeHandler* upgrade_handler();
  // Live clients: Engine.IO sessions (polling and WebSocket) and event streams.
  int connection_count() const;
  struct ConnectionCounts {
    int polling = 0;
    int websocket = 0;
    int sse = 0;  // event streams
  };
  ConnectionCounts connection_counts() const;
  // Closes every session (held polls are answered, WebSockets get a close
  // frame), refuses new ones and stops the realtime threads. Idempotent; returns
  // without waiting for the clients.
  void Shutdown();

  // Runs the heartbeat and timeout checks now (a realtime thread does it
  // every 200 ms); lets tests drive a FakeClock.
  void SweepNow();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vs::realtime
