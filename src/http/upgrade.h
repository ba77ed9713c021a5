// Connections taken over from the HTTP server (WebSocket upgrades, event
// streams). Includes Beast, so only server.cc and the realtime module
// include this header.
#pragma once

#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>

#include "http/http.h"

namespace vs::http {

// Consulted for every request that asks for "Upgrade: websocket", and for
// those MayTake() picks out. The
// middleware's `before` hook (rate limits) has already run for it.
// Implementations are called from the server's threads, concurrently.
class UpgradeHandler {
 public:
  virtual ~UpgradeHandler() = default;
  // Whether this handler takes the upgrade for `req` (e.g. by path).
  virtual bool Accepts(const Request& req) const = 0;
  // A cheap look at the raw target of a request that is NOT a WebSocket
  // upgrade: true lets Accepts() see it too (a long-lived response such as
  // a Server-Sent Events stream). Called for every request, so keep it a
  // plain string test.
  virtual bool MayTake(std::string_view /*target*/) const { return false; }
  // Takes the connection over: performs the WebSocket handshake on `stream`
  // (bytes already read past the headers are in `buffer`) and owns it until
  // it closes. Runs on the connection's thread (its io_context has one
  // thread, so no strand is needed).
  virtual boost::asio::awaitable<void> Upgrade(
      boost::beast::tcp_stream stream, boost::beast::flat_buffer buffer,
      boost::beast::http::request<boost::beast::http::empty_body> req, Request parsed) = 0;
};

}  // namespace vs::http
