// Server-Sent Events: GET /api/videos/:id/events, the video's status stream
// for clients without a Socket.IO library (EventSource in a browser,
// `curl -N`). It carries the same events as the Socket.IO room of the video
// (video-status, processing-progress) with the video's event number (seq) as
// the SSE id, so a reconnecting EventSource, which sends Last-Event-ID, gets
// exactly the buffered events it missed and then the live ones. A stream
// whose client may no longer see the video (it was made private: the
// engine's re-check, Engine::Recheck) is ended.
#pragma once

#include <memory>
#include <string>

#include "http/upgrade.h"
#include "realtime/engine.h"
#include "realtime/room_hub.h"

namespace vs::realtime {

class SseHandler : public http::UpgradeHandler {
 public:
  // Ends every stream and refuses new ones (503). Idempotent.
  virtual void Shutdown() = 0;
  virtual int stream_count() const = 0;
};

std::unique_ptr<SseHandler> NewSseHandler(Engine& engine);

// A room event as an SSE frame "id: <seq>\nevent: <name>\ndata: {...}\n\n".
std::string SseFrame(const RoomEvent& event);

}  // namespace vs::realtime
