// Protocol upgrades (WebSocket) out of the HTTP server. Includes Beast, so
// only server.cc and the realtime module include this header.
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

// Consulted for every request that asks for "Upgrade: websocket". The
// middleware's `before` hook (rate limits) has already run for it.
// Implementations are called from the server's threads, concurrently.
class UpgradeHandler {
 public:
  virtual ~UpgradeHandler() = default;
  // Whether this handler takes the upgrade for `req` (e.g. by path).
  virtual bool Accepts(const Request& req) const = 0;
  // Takes the connection over: performs the WebSocket handshake on `stream`
  // (bytes already read past the headers are in `buffer`) and owns it until
  // it closes. Runs on the connection's strand.
  virtual boost::asio::awaitable<void> Upgrade(
      boost::beast::tcp_stream stream, boost::beast::flat_buffer buffer,
      boost::beast::http::request<boost::beast::http::empty_body> req, Request parsed) = 0;
};

}  // namespace vs::http
