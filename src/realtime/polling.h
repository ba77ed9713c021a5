// The HTTP side of the Socket.IO server: long-polling GET/POST on
// /socket.io/, plus helpers the WebSocket side shares (client address,
// Origin check). Handlers run on the HTTP server's threads.
#pragma once

#include <string>

#include "http/http.h"
#include "realtime/engine.h"

namespace vs::realtime {

// GET (handshake and held polls) and POST (client packets) on /socket.io.
void RegisterPolling(http::Router& router, Engine& engine);

// The client's address for the per-address limit: the first
// X-Forwarded-For entry when the proxy is trusted, else the peer address.
std::string ClientAddress(const http::Request& req, bool trust_proxy);

// Whether a browser page from the request's Origin may use the server:
// no Origin (not a browser), any origin when `cors_origin` is empty or "*",
// FRONTEND_URL itself, or the server's own origin (the web UI it serves).
bool OriginAllowed(const http::Request& req, const std::string& cors_origin);

}  // namespace vs::realtime
