// Engine.IO v4 and Socket.IO v5 wire codecs (docs: shared/docs/protocols.md
// section 1). Pure functions without I/O; safe from any thread.
//
// Everything here works on text packets: binary Engine.IO packets ("b..." on
// polling, binary WebSocket frames) and Socket.IO BINARY_EVENT/BINARY_ACK are
// refused with the error code "binary_unsupported" so that callers can tell a
// client a feature is missing apart from a client that sends garbage.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace vs::realtime {

// An encoded Engine.IO packet ("4" + Socket.IO text), shared between the
// queues of every socket it is sent to and the replay buffer.
using Packet = std::shared_ptr<const std::string>;
Packet MakePacket(std::string text);

// ---- Engine.IO ----

enum class EngineType : char {
  kOpen = '0',
  kClose = '1',
  kPing = '2',
  kPong = '3',
  kMessage = '4',
  kUpgrade = '5',
  kNoop = '6',
};

struct EnginePacket {
  EngineType type = EngineType::kNoop;
  std::string_view data;  // points into the decoded text
};

// One packet: a type digit followed by its UTF-8 data. Errors: "empty_packet",
// "binary_unsupported", "unknown_packet_type".
Result<EnginePacket> DecodeEnginePacket(std::string_view text);

// A polling request body: packets separated by 0x1E. JSON encoders escape
// 0x1E and it never occurs inside multi-byte UTF-8, so a plain split is safe.
// Empty records are malformed (the client never sends them).
Result<std::vector<EnginePacket>> DecodePayload(std::string_view body);
// A polling response body from queued packets.
std::string EncodePayload(const std::vector<Packet>& packets);

// The open packet: 0{"sid":...,"upgrades":[...],"pingInterval":...}.
// `upgrades` is ["websocket"] for a polling session and [] for WebSocket.
std::string OpenPacket(std::string_view sid, bool can_upgrade, int ping_interval_ms,
                       int ping_timeout_ms, size_t max_payload);

// Engine.IO's HTTP error codes, as the reference server sends them.
enum class EngineError {
  kUnknownTransport = 0,
  kUnknownSid = 1,
  kBadHandshakeMethod = 2,
  kBadRequest = 3,
  kForbidden = 4,
  kUnsupportedProtocolVersion = 5,
};
// {"code":N,"message":"..."}
std::string EngineErrorBody(EngineError e);
// 403 for kForbidden, else 400.
int EngineErrorStatus(EngineError e);

// ---- Socket.IO ----

enum class SioType : int {
  kConnect = 0,
  kDisconnect = 1,
  kEvent = 2,
  kAck = 3,
  kConnectError = 4,
  kBinaryEvent = 5,
  kBinaryAck = 6,
};

struct SioPacket {
  SioType type = SioType::kConnect;
  std::string nsp = "/";
  std::optional<uint64_t> ack_id;
  std::optional<boost::json::value> data;  // absent when the packet has none
};

// Parses <type>[<nsp>,][<ackId>][<JSON>] with the checks of socket.io-parser
// 4.x (CONNECT data is an object, DISCONNECT has none, EVENT is a non-empty
// array whose first element is a non-reserved name or a number, ACK an
// array). Unlike the reference parser an EVENT without data is refused: no
// client produces one. Errors: "binary_unsupported", "malformed_packet".
Result<SioPacket> DecodeSioPacket(std::string_view text);

// The Engine.IO message packet ("4...") carrying a Socket.IO packet.
// `json` is already-serialized data (may be empty).
std::string EncodeSio(SioType type, std::string_view nsp, std::optional<uint64_t> ack_id,
                      std::string_view json);
// 42["name",arg]: an event with one already-serialized JSON argument.
std::string EncodeEvent(std::string_view name, std::string_view arg_json);

}  // namespace vs::realtime
