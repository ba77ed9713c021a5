#include "realtime/ws_frame.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace vs::realtime {
namespace {

// A masked client frame, as a browser or the ws package sends it.
std::string ClientFrame(uint8_t first_byte, std::string_view payload,
                        std::string mask = std::string("\x12\x34\x56\x78", 4)) {
  std::string f;
  f.push_back(static_cast<char>(first_byte));
  const size_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xFFFF) {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n & 0xFF));
  } else {
    f.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>((uint64_t{n} >> (8 * i)) & 0xFF));
  }
  f += mask;
  for (size_t i = 0; i < n; ++i) f.push_back(static_cast<char>(payload[i] ^ mask[i & 3]));
  return f;
}

struct Collected {
  std::vector<std::pair<WsOpcode, std::string>> frames;
  WsReader::OnFrame Fn() {
    return [this](WsOpcode op, std::string_view p) { frames.emplace_back(op, std::string(p)); };
  }
};

WsReader::Status FeedAll(WsReader& r, std::string bytes, Collected& c) {
  return r.Feed(bytes.data(), bytes.size(), c.Fn());
}

TEST(WsAcceptKeyTest, Rfc6455Example) {
  EXPECT_EQ(WsAcceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsReaderTest, UnmasksTextAndBinaryMessages) {
  WsReader r(1000);
  Collected c;
  ASSERT_EQ(FeedAll(r, ClientFrame(0x81, "40") + ClientFrame(0x82, std::string("\x01\x02", 2)), c),
            WsReader::Status::kOk);
  ASSERT_EQ(c.frames.size(), 2u);
  EXPECT_EQ(c.frames[0], std::make_pair(WsOpcode::kText, std::string("40")));
  EXPECT_EQ(c.frames[1].first, WsOpcode::kBinary);
  EXPECT_EQ(r.buffered(), 0u);
}

TEST(WsReaderTest, ReassemblesFramesSplitAcrossReads) {
  const std::string big(70000, 'x');  // 64-bit length form
  const std::string mid(300, 'y');    // 16-bit length form
  const std::string wire = ClientFrame(0x81, big) + ClientFrame(0x81, mid) + ClientFrame(0x81, "3");
  for (size_t chunk : {1u, 7u, 4096u}) {
    WsReader r(100000);
    Collected c;
    for (size_t i = 0; i < wire.size(); i += chunk) {
      std::string part = wire.substr(i, chunk);
      ASSERT_EQ(r.Feed(part.data(), part.size(), c.Fn()), WsReader::Status::kOk);
    }
    ASSERT_EQ(c.frames.size(), 3u) << chunk;
    EXPECT_EQ(c.frames[0].second, big);
    EXPECT_EQ(c.frames[1].second, mid);
    EXPECT_EQ(c.frames[2].second, "3");
    EXPECT_EQ(r.buffered(), 0u);
  }
}

TEST(WsReaderTest, JoinsFragmentsWithControlFramesInBetween) {
  WsReader r(1000);
  Collected c;
  const std::string wire = ClientFrame(0x01, "42[\"join") + ClientFrame(0x89, "hi") +
                           ClientFrame(0x00, "-video\",") + ClientFrame(0x80, "\"v1\"]");
  ASSERT_EQ(FeedAll(r, wire, c), WsReader::Status::kOk);
  ASSERT_EQ(c.frames.size(), 2u);
  EXPECT_EQ(c.frames[0], std::make_pair(WsOpcode::kPing, std::string("hi")));
  EXPECT_EQ(c.frames[1], std::make_pair(WsOpcode::kText, std::string("42[\"join-video\",\"v1\"]")));
}

TEST(WsReaderTest, RefusesOversizedMessagesFromTheHeader) {
  WsReader r(100);
  Collected c;
  // Only the header of a 1 MB frame: refused before the payload arrives.
  std::string header = ClientFrame(0x81, std::string(1000000, 'x')).substr(0, 14);
  EXPECT_EQ(r.Feed(header.data(), header.size(), c.Fn()), WsReader::Status::kTooBig);
  WsReader frag(100);
  EXPECT_EQ(
      FeedAll(frag,
              ClientFrame(0x01, std::string(60, 'a')) + ClientFrame(0x80, std::string(60, 'b')), c),
      WsReader::Status::kTooBig);
  EXPECT_TRUE(c.frames.empty());
}

TEST(WsReaderTest, RefusesProtocolViolations) {
  struct Case {
    std::string wire;
    const char* why;
  };
  std::string unmasked = ClientFrame(0x81, "x");
  unmasked[1] = static_cast<char>(unmasked[1] & 0x7F);
  for (const Case& c : {
           Case{unmasked, "unmasked client frame"},
           Case{ClientFrame(0xC1, "x"), "RSV1 without an extension"},
           Case{ClientFrame(0x83, "x"), "reserved opcode"},
           Case{ClientFrame(0x09, "x"), "fragmented control frame"},
           Case{ClientFrame(0x89, std::string(126, 'p')), "control frame over 125 bytes"},
           Case{ClientFrame(0x80, "x"), "continuation without a message"},
           Case{ClientFrame(0x01, "a") + ClientFrame(0x81, "b"),
                "new message inside a fragmented one"},
       }) {
    WsReader r(1000000);
    Collected col;
    EXPECT_EQ(FeedAll(r, c.wire, col), WsReader::Status::kProtocolError) << c.why;
  }
}

TEST(WsFrameHeaderTest, EncodesTheThreeLengthForms) {
  uint8_t h[10];
  ASSERT_EQ(WsFrameHeader(WsOpcode::kText, 5, h), 2u);
  EXPECT_EQ(h[0], 0x81);
  EXPECT_EQ(h[1], 5);
  ASSERT_EQ(WsFrameHeader(WsOpcode::kText, 300, h), 4u);
  EXPECT_EQ(h[1], 126);
  EXPECT_EQ(h[2] << 8 | h[3], 300);
  ASSERT_EQ(WsFrameHeader(WsOpcode::kBinary, 70000, h), 10u);
  EXPECT_EQ(h[0], 0x82);
  EXPECT_EQ(h[1], 127);
  EXPECT_EQ(h[7] << 16 | h[8] << 8 | h[9], 70000);
  EXPECT_EQ(WsCloseFrame(1009), std::string("\x88\x02\x03\xf1", 4));
  EXPECT_EQ(WsFrame(WsOpcode::kPong, "hi"), std::string("\x8a\x02hi", 4));
}

}  // namespace
}  // namespace vs::realtime
