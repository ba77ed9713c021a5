#include "realtime/polling.h"

#include <memory>
#include <utility>

#include "http/client_address.h"
#include "http/cors.h"

namespace vs::realtime {
namespace {

http::Response WithHeaders(http::Response r, const http::Headers& extra) {
  for (const auto& [k, v] : extra.items()) r.headers.Set(k, v);
  r.headers.Set("Cache-Control", "no-store");
  return r;
}

http::Response Body(std::string body, const http::Headers& cors) {
  return WithHeaders(http::Response::Text(200, std::move(body), "text/plain; charset=UTF-8"), cors);
}

http::Response Fail(EngineError e, const http::Headers& cors) {
  return WithHeaders(http::Response::Json(EngineErrorStatus(e), EngineErrorBody(e)), cors);
}

struct Polling {
  Engine& engine;

  void Get(http::Request& req, const http::Responder& respond) {
    const RealtimeOptions& opt = engine.options();
    // Every polling response needs CORS headers of its own: the API
    // middleware would otherwise add "*", which browsers reject for
    // credentialed requests.
    http::Headers cors = http::CredentialedCorsHeaders(req, opt.cors_origin);
    const auto transport = req.Query("transport");
    if (transport != "polling") {
      // transport=websocket here means a WebSocket request without the
      // Upgrade header (e.g. stripped by a proxy).
      return respond(
          Fail(transport == "websocket" ? EngineError::kBadRequest : EngineError::kUnknownTransport,
               cors));
    }
    const auto sid = req.Query("sid");
    if (!sid) {
      if (req.Query("EIO") != "4")
        return respond(Fail(EngineError::kUnsupportedProtocolVersion, cors));
      if (!http::OriginAllowed(req, opt.cors_origin)) return respond(Fail(EngineError::kForbidden, cors));
      // The handshake's headers stay with the session: its cookies say who
      // the client is when it connects (RealtimeOptions::identify).
      auto s =
          engine.Open(http::ClientAddress(req, opt.trust_proxy), Transport::kPolling, req.headers);
      if (!s.ok()) {
        if (s.error().kind == ErrorKind::kForbidden)
          return respond(Fail(EngineError::kForbidden, cors));
        auto r = Fail(EngineError::kBadRequest, cors);
        r.status = 503;  // shutting down: the client retries elsewhere or later
        return respond(std::move(r));
      }
      return respond(Body(
          OpenPacket((*s)->sid(), true, opt.ping_interval_ms, opt.ping_timeout_ms, opt.max_payload),
          cors));
    }
    auto s = engine.Find(*sid);
    if (!s) return respond(Fail(EngineError::kUnknownSid, cors));
    auto answer = [respond, cors](std::string body) { respond(Body(std::move(body), cors)); };
    switch (engine.Poll(s, std::move(answer))) {
      case Engine::PollResult::kAnswered:
      case Engine::PollResult::kHeld:
        return;
      case Engine::PollResult::kUnknownSid:
        return respond(Fail(EngineError::kUnknownSid, cors));
      case Engine::PollResult::kWrongTransport:
      case Engine::PollResult::kOverlap:
        return respond(Fail(EngineError::kBadRequest, cors));
    }
  }

  http::Response Post(http::Request& req) {
    const http::Headers cors = http::CredentialedCorsHeaders(req, engine.options().cors_origin);
    const auto transport = req.Query("transport");
    if (transport != "polling") {
      return Fail(
          transport == "websocket" ? EngineError::kBadRequest : EngineError::kUnknownTransport,
          cors);
    }
    const auto sid = req.Query("sid");
    if (!sid) return Fail(EngineError::kBadHandshakeMethod, cors);
    auto s = engine.Find(*sid);
    if (!s) return Fail(EngineError::kUnknownSid, cors);
    switch (engine.Post(s, req.body)) {
      case Engine::PostResult::kOk:
        return Body("ok", cors);
      case Engine::PostResult::kUnknownSid:
        return Fail(EngineError::kUnknownSid, cors);
      case Engine::PostResult::kTooLarge: {
        auto r = Fail(EngineError::kBadRequest, cors);
        r.status = 413;
        return r;
      }
      case Engine::PostResult::kWrongTransport:
      case Engine::PostResult::kOverlap:
      case Engine::PostResult::kBadPayload:
        break;
    }
    return Fail(EngineError::kBadRequest, cors);
  }
};

}  // namespace

void RegisterPolling(http::Router& router, Engine& engine) {
  auto p = std::make_shared<Polling>(Polling{engine});
  router.AddAsync("GET", "/socket.io",
                  [p](http::Request& req, http::Responder respond) { p->Get(req, respond); });
  router.Add("POST", "/socket.io", [p](http::Request& req) { return p->Post(req); });
}

}  // namespace vs::realtime
