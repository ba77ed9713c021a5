#include "realtime/protocol.h"

#include <array>
#include <boost/json.hpp>

#include "core/json_text.h"

namespace vs::realtime {
namespace {

namespace json = boost::json;

constexpr char kRecordSeparator = '\x1e';
// Longer ack ids would not survive the client's Number() conversion.
constexpr size_t kMaxAckDigits = 15;
constexpr size_t kMaxNamespace = 256;

Error Malformed(std::string message) { return MakeError("malformed_packet", std::move(message)); }

bool IsReservedEvent(std::string_view name) {
  static constexpr std::array<std::string_view, 6> kReserved = {
      "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"};
  for (auto r : kReserved)
    if (r == name) return true;
  return false;
}

bool PayloadValid(SioType type, const json::value& v) {
  switch (type) {
    case SioType::kConnect:
      return v.is_object();
    case SioType::kDisconnect:
      return false;  // DISCONNECT carries no data
    case SioType::kConnectError:
      return v.is_string() || v.is_object();
    case SioType::kEvent:
    case SioType::kBinaryEvent: {
      if (!v.is_array() || v.as_array().empty()) return false;
      const json::value& name = v.as_array()[0];
      if (name.is_number()) return true;
      return name.is_string() && !IsReservedEvent(name.as_string());
    }
    case SioType::kAck:
    case SioType::kBinaryAck:
      return v.is_array();
  }
  return false;
}

}  // namespace

Packet MakePacket(std::string text) { return std::make_shared<const std::string>(std::move(text)); }

Result<EnginePacket> DecodeEnginePacket(std::string_view text) {
  if (text.empty()) return MakeError("empty_packet", "empty Engine.IO packet");
  const char t = text[0];
  if (t == 'b') return MakeError("binary_unsupported", "binary packets are not supported");
  if (t < '0' || t > '6') return MakeError("unknown_packet_type", "unknown Engine.IO packet type");
  return EnginePacket{static_cast<EngineType>(t), text.substr(1)};
}

Result<std::vector<EnginePacket>> DecodePayload(std::string_view body) {
  std::vector<EnginePacket> out;
  size_t start = 0;
  for (;;) {
    const size_t end = body.find(kRecordSeparator, start);
    auto p =
        DecodeEnginePacket(body.substr(start, end == std::string_view::npos ? end : end - start));
    if (!p.ok()) return p.error();
    out.push_back(*p);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

std::string EncodePayload(const std::vector<Packet>& packets) {
  size_t n = packets.size();
  for (const auto& p : packets) n += p->size();
  std::string out;
  out.reserve(n);
  for (size_t i = 0; i < packets.size(); ++i) {
    if (i) out.push_back(kRecordSeparator);
    out += *packets[i];
  }
  return out;
}

std::string OpenPacket(std::string_view sid, bool can_upgrade, int ping_interval_ms,
                       int ping_timeout_ms, size_t max_payload) {
  json::object o;
  o["sid"] = sid;
  json::array upgrades;
  if (can_upgrade) upgrades.emplace_back("websocket");
  o["upgrades"] = std::move(upgrades);
  o["pingInterval"] = ping_interval_ms;
  o["pingTimeout"] = ping_timeout_ms;
  o["maxPayload"] = max_payload;
  return "0" + json_text::Serialize(o);
}

std::string EngineErrorBody(EngineError e) {
  static constexpr std::array<std::string_view, 6> kMessages = {
      "Transport unknown", "Session ID unknown", "Bad handshake method",
      "Bad request",       "Forbidden",          "Unsupported protocol version"};
  const int code = static_cast<int>(e);
  return "{\"code\":" + std::to_string(code) + ",\"message\":\"" + std::string(kMessages[code]) +
         "\"}";
}

int EngineErrorStatus(EngineError e) { return e == EngineError::kForbidden ? 403 : 400; }

Result<SioPacket> DecodeSioPacket(std::string_view text) {
  if (text.empty()) return Malformed("empty Socket.IO packet");
  if (text[0] < '0' || text[0] > '6') return Malformed("unknown Socket.IO packet type");
  SioPacket p;
  p.type = static_cast<SioType>(text[0] - '0');
  if (p.type == SioType::kBinaryEvent || p.type == SioType::kBinaryAck)
    return MakeError("binary_unsupported", "binary packets are not supported");
  size_t i = 1;
  if (i < text.size() && text[i] == '/') {
    const size_t comma = text.find(',', i);
    const size_t end = comma == std::string_view::npos ? text.size() : comma;
    if (end - i > kMaxNamespace) return Malformed("namespace too long");
    p.nsp = std::string(text.substr(i, end - i));
    i = comma == std::string_view::npos ? text.size() : comma + 1;
  }
  size_t digits = 0;
  while (i + digits < text.size() && text[i + digits] >= '0' && text[i + digits] <= '9') ++digits;
  if (digits > 0) {
    if (digits > kMaxAckDigits) return Malformed("ack id too long");
    uint64_t id = 0;
    for (size_t k = 0; k < digits; ++k) id = id * 10 + static_cast<uint64_t>(text[i + k] - '0');
    p.ack_id = id;
    i += digits;
  }
  if (i < text.size()) {
    boost::system::error_code ec;
    json::value v = json::parse(text.substr(i), ec);
    if (ec) return Malformed("invalid JSON payload");
    if (!PayloadValid(p.type, v)) return Malformed("invalid payload for the packet type");
    p.data = std::move(v);
  } else if (p.type == SioType::kEvent || p.type == SioType::kAck ||
             p.type == SioType::kConnectError) {
    return Malformed("missing payload");
  }
  return p;
}

std::string EncodeSio(SioType type, std::string_view nsp, std::optional<uint64_t> ack_id,
                      std::string_view json_text) {
  std::string out;
  out.reserve(3 + nsp.size() + json_text.size() + 20);
  out.push_back('4');
  out.push_back(static_cast<char>('0' + static_cast<int>(type)));
  if (!nsp.empty() && nsp != "/") {
    out += nsp;
    out.push_back(',');
  }
  if (ack_id) out += std::to_string(*ack_id);
  out += json_text;
  return out;
}

std::string EncodeEvent(std::string_view name, std::string_view arg_json) {
  std::string out = "42[";
  out += json_text::Serialize(json::string(name));
  if (!arg_json.empty()) {
    out.push_back(',');
    out += arg_json;
  }
  out.push_back(']');
  return out;
}

}  // namespace vs::realtime
