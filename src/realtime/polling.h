// The HTTP side of the Socket.IO server: long-polling GET/POST on
// /socket.io/. Handlers run on the HTTP server's threads.
#pragma once

#include "http/http.h"
#include "realtime/engine.h"

namespace vs::realtime {

// GET (handshake and held polls) and POST (client packets) on /socket.io.
void RegisterPolling(http::Router& router, Engine& engine);

}  // namespace vs::realtime
