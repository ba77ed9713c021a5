#include "realtime/ws_frame.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cstring>

namespace vs::realtime {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr size_t kMaxControlPayload = 125;
// Partial-frame buffers larger than this are released once drained.
constexpr size_t kKeptBuffer = 4096;

bool IsControl(WsOpcode op) { return static_cast<uint8_t>(op) & 0x8; }

}  // namespace

std::string WsAcceptKey(std::string_view client_key) {
  std::string input(client_key);
  input += kGuid;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  unsigned char out[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  const int n = EVP_EncodeBlock(out, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<char*>(out), static_cast<size_t>(n));
}

WsReader::Status WsReader::Feed(char* data, size_t size, const OnFrame& on_frame) {
  char* p = data;
  size_t n = size;
  if (!pending_.empty()) {
    pending_.append(data, size);
    p = pending_.data();
    n = pending_.size();
  }
  size_t offset = 0;
  while (offset < n) {
    size_t used = 0;
    const Status s = ParseOne(p + offset, n - offset, &used, on_frame);
    if (s != Status::kOk) return s;
    if (used == 0) break;
    offset += used;
  }
  if (p == pending_.data()) {
    pending_.erase(0, offset);
  } else {
    pending_.assign(p + offset, n - offset);
  }
  if (pending_.empty() && pending_.capacity() > kKeptBuffer) std::string().swap(pending_);
  return Status::kOk;
}

WsReader::Status WsReader::ParseOne(char* p, size_t n, size_t* consumed, const OnFrame& on_frame) {
  *consumed = 0;
  if (n < 2) return Status::kOk;
  const auto* u = reinterpret_cast<const uint8_t*>(p);
  const bool fin = u[0] & 0x80;
  if (u[0] & 0x70) return Status::kProtocolError;  // RSV bits: no extension was negotiated
  const auto opcode = static_cast<WsOpcode>(u[0] & 0x0F);
  switch (opcode) {
    case WsOpcode::kContinuation:
    case WsOpcode::kText:
    case WsOpcode::kBinary:
    case WsOpcode::kClose:
    case WsOpcode::kPing:
    case WsOpcode::kPong:
      break;
    default:
      return Status::kProtocolError;
  }
  if (!(u[1] & 0x80)) return Status::kProtocolError;  // clients must mask
  uint64_t len = u[1] & 0x7F;
  size_t header = 2;
  if (len == 126) {
    if (n < 4) return Status::kOk;
    len = (uint64_t{u[2]} << 8) | u[3];
    header = 4;
  } else if (len == 127) {
    if (n < 10) return Status::kOk;
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | u[2 + i];
    if (len >> 63) return Status::kProtocolError;
    header = 10;
  }
  if (IsControl(opcode)) {
    if (!fin || len > kMaxControlPayload) return Status::kProtocolError;
  } else {
    const bool continuation = opcode == WsOpcode::kContinuation;
    const bool in_message = message_opcode_ != WsOpcode::kContinuation;
    if (continuation != in_message) return Status::kProtocolError;
    // Refuse before buffering: the size is known from the header.
    if (len > max_message_ || message_.size() + len > max_message_) return Status::kTooBig;
  }
  if (n < header + 4 || n - header - 4 < len) return Status::kOk;  // not all here yet
  const uint8_t* mask = u + header;
  char* payload = p + header + 4;
  for (uint64_t i = 0; i < len; ++i) payload[i] = static_cast<char>(payload[i] ^ mask[i & 3]);
  *consumed = header + 4 + static_cast<size_t>(len);
  const std::string_view data(payload, static_cast<size_t>(len));

  if (IsControl(opcode)) {
    on_frame(opcode, data);
    return Status::kOk;
  }
  if (opcode != WsOpcode::kContinuation && fin) {
    on_frame(opcode, data);  // the common case: a whole message in one frame, no copy
    return Status::kOk;
  }
  if (opcode != WsOpcode::kContinuation) message_opcode_ = opcode;
  message_.append(data);
  if (fin) {
    const WsOpcode op = message_opcode_;
    message_opcode_ = WsOpcode::kContinuation;
    std::string whole;
    whole.swap(message_);
    on_frame(op, whole);
  }
  return Status::kOk;
}

size_t WsFrameHeader(WsOpcode opcode, uint64_t payload_size, uint8_t* out) {
  out[0] = static_cast<uint8_t>(0x80 | static_cast<uint8_t>(opcode));
  if (payload_size < 126) {
    out[1] = static_cast<uint8_t>(payload_size);
    return 2;
  }
  if (payload_size <= 0xFFFF) {
    out[1] = 126;
    out[2] = static_cast<uint8_t>(payload_size >> 8);
    out[3] = static_cast<uint8_t>(payload_size);
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<uint8_t>(payload_size >> (56 - 8 * i));
  return 10;
}

std::string WsFrame(WsOpcode opcode, std::string_view payload) {
  uint8_t header[10];
  const size_t h = WsFrameHeader(opcode, payload.size(), header);
  std::string out(reinterpret_cast<char*>(header), h);
  out += payload;
  return out;
}

std::string WsCloseFrame(uint16_t code) {
  const char body[2] = {static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
  return WsFrame(WsOpcode::kClose, std::string_view(body, 2));
}

}  // namespace vs::realtime
