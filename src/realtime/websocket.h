// The WebSocket transport: WebSocket-only sessions and the upgrade of
// polling sessions. Kept out of realtime.h so that Beast stays inside the
// http and realtime modules.
#pragma once

#include <memory>

#include "http/http.h"
#include "realtime/engine.h"

namespace vs::realtime {

// Takes over "Upgrade: websocket" requests to /socket.io/. `engine` must
// outlive the connections (the HTTP server's lifetime).
std::unique_ptr<http::UpgradeHandler> NewWebSocketHandler(Engine& engine);

}  // namespace vs::realtime
