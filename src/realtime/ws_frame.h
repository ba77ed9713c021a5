// RFC 6455 framing for the server side of a WebSocket, without I/O: the
// opening handshake's accept key, a streaming reader of client frames and
// the header of server frames. Extensions (permessage-deflate) are never
// negotiated, so the RSV bits must be zero.
//
// Why not Beast's websocket::stream: an idle Beast stream keeps about 4 KB
// (its implementation object, the tcp_stream's timers, a read buffer
// prepared while waiting), which is most of the memory an idle Socket.IO
// client costs. This reader holds nothing between messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace vs::realtime {

enum class WsOpcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// Close codes we send.
constexpr uint16_t kWsCloseNormal = 1000;
constexpr uint16_t kWsCloseGoingAway = 1001;
constexpr uint16_t kWsCloseProtocolError = 1002;
constexpr uint16_t kWsCloseTooBig = 1009;

// Sec-WebSocket-Accept for a Sec-WebSocket-Key.
std::string WsAcceptKey(std::string_view client_key);

// Reassembles client messages from arbitrary chunks of bytes. Not
// thread-safe (one per connection).
class WsReader {
 public:
  enum class Status { kOk, kProtocolError, kTooBig };
  // Called for each complete text/binary message (fragments joined) and
  // each control frame, in order. The payload is valid during the call.
  using OnFrame = std::function<void(WsOpcode, std::string_view payload)>;

  explicit WsReader(size_t max_message) : max_message_(max_message) {}

  // Consumes `size` bytes (unmasked in place, hence mutable). After an error
  // the reader must not be fed again: the connection is to be closed with
  // 1002 or 1009.
  Status Feed(char* data, size_t size, const OnFrame& on_frame);

  // Bytes held for an incomplete frame or message (0 when idle).
  size_t buffered() const { return pending_.size() + message_.size(); }

 private:
  // Parses one frame at the start of [p, p+n); returns bytes consumed or 0
  // when the frame is incomplete.
  Status ParseOne(char* p, size_t n, size_t* consumed, const OnFrame& on_frame);

  const size_t max_message_;
  std::string pending_;  // the start of a frame that has not fully arrived
  std::string message_;  // fragments of a message so far
  WsOpcode message_opcode_ = WsOpcode::kContinuation;  // kContinuation = none in progress
};

// Writes the header of an unmasked server frame with FIN set to `out`
// (room for 10 bytes); returns its length.
size_t WsFrameHeader(WsOpcode opcode, uint64_t payload_size, uint8_t* out);

// A complete server frame (header + payload), for small control frames.
std::string WsFrame(WsOpcode opcode, std::string_view payload);
// A close frame with a status code.
std::string WsCloseFrame(uint16_t code);

}  // namespace vs::realtime
