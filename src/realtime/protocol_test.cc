#include "realtime/protocol.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace vs::realtime {
namespace {

namespace json = boost::json;

TEST(EnginePacketTest, DecodesEveryType) {
  struct Case {
    const char* text;
    EngineType type;
    const char* data;
  };
  for (const Case& c :
       {Case{"0{}", EngineType::kOpen, "{}"}, Case{"1", EngineType::kClose, ""},
        Case{"2probe", EngineType::kPing, "probe"}, Case{"3", EngineType::kPong, ""},
        Case{"4hello é", EngineType::kMessage, "hello é"}, Case{"5", EngineType::kUpgrade, ""},
        Case{"6", EngineType::kNoop, ""}}) {
    auto p = DecodeEnginePacket(c.text);
    ASSERT_TRUE(p.ok()) << c.text;
    EXPECT_EQ(p->type, c.type) << c.text;
    EXPECT_EQ(p->data, c.data) << c.text;
  }
}

TEST(EnginePacketTest, RefusesMalformedAndBinary) {
  EXPECT_EQ(DecodeEnginePacket("").error().code, "empty_packet");
  EXPECT_EQ(DecodeEnginePacket("7").error().code, "unknown_packet_type");
  EXPECT_EQ(DecodeEnginePacket("x42").error().code, "unknown_packet_type");
  EXPECT_EQ(DecodeEnginePacket("bAQID").error().code, "binary_unsupported");
}

TEST(PayloadTest, SplitsOnRecordSeparator) {
  auto p = DecodePayload(
      "3\x1e"
      "42[\"a\"]\x1e"
      "4x");
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->size(), 3u);
  EXPECT_EQ((*p)[0].type, EngineType::kPong);
  EXPECT_EQ((*p)[1].data, "2[\"a\"]");
  EXPECT_EQ((*p)[2].data, "x");
  auto single = DecodePayload("40");
  ASSERT_TRUE(single.ok());
  ASSERT_EQ(single->size(), 1u);
  EXPECT_EQ((*single)[0].data, "0");
}

TEST(PayloadTest, RefusesEmptyRecordsAndBinary) {
  EXPECT_FALSE(DecodePayload("").ok());
  EXPECT_FALSE(DecodePayload("3\x1e").ok());
  EXPECT_FALSE(DecodePayload("\x1e"
                             "3")
                   .ok());
  EXPECT_FALSE(DecodePayload("3\x1e\x1e"
                             "3")
                   .ok());
  EXPECT_EQ(DecodePayload("3\x1e"
                          "bAAA")
                .error()
                .code,
            "binary_unsupported");
}

TEST(PayloadTest, EncodesWithSeparators) {
  EXPECT_EQ(EncodePayload({}), "");
  EXPECT_EQ(EncodePayload({MakePacket("2")}), "2");
  EXPECT_EQ(EncodePayload({MakePacket("2"), MakePacket("42[\"a\"]"), MakePacket("6")}),
            "2\x1e"
            "42[\"a\"]\x1e"
            "6");
}

TEST(OpenPacketTest, MatchesTheReferenceHandshake) {
  EXPECT_EQ(
      OpenPacket("abc", true, 25000, 20000, 1000000),
      R"(0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000})");
  EXPECT_EQ(
      OpenPacket("abc", false, 300, 200, 1000),
      R"(0{"sid":"abc","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000})");
}

TEST(EngineErrorTest, BodiesAndStatuses) {
  EXPECT_EQ(EngineErrorBody(EngineError::kUnknownSid),
            R"({"code":1,"message":"Session ID unknown"})");
  EXPECT_EQ(EngineErrorBody(EngineError::kUnsupportedProtocolVersion),
            R"({"code":5,"message":"Unsupported protocol version"})");
  EXPECT_EQ(EngineErrorStatus(EngineError::kForbidden), 403);
  EXPECT_EQ(EngineErrorStatus(EngineError::kBadRequest), 400);
  EXPECT_EQ(EngineErrorStatus(EngineError::kUnknownTransport), 400);
}

TEST(SioDecodeTest, ConnectWithAndWithoutAuth) {
  auto a = DecodeSioPacket("0");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->type, SioType::kConnect);
  EXPECT_EQ(a->nsp, "/");
  EXPECT_FALSE(a->data);
  auto b = DecodeSioPacket(R"(0{"token":"abc"})");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->data->at("token").as_string(), "abc");
  auto c = DecodeSioPacket("0/admin,");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->nsp, "/admin");
  auto d = DecodeSioPacket("0/admin");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->nsp, "/admin");
}

TEST(SioDecodeTest, EventsWithAckIdsAndNamespaces) {
  auto e = DecodeSioPacket(R"(2["join-video","abc"])");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->type, SioType::kEvent);
  EXPECT_FALSE(e->ack_id);
  EXPECT_EQ(e->data->as_array().size(), 2u);
  auto a = DecodeSioPacket(R"(212["join-video","abc"])");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->ack_id, 12u);
  auto n = DecodeSioPacket(R"(2/admin,7["x"])");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->nsp, "/admin");
  EXPECT_EQ(n->ack_id, 7u);
  auto num = DecodeSioPacket("2[42]");  // numeric event names are valid
  EXPECT_TRUE(num.ok());
  auto ack = DecodeSioPacket("30[]");
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->type, SioType::kAck);
  EXPECT_EQ(ack->ack_id, 0u);
  auto disc = DecodeSioPacket("1");
  ASSERT_TRUE(disc.ok());
  EXPECT_EQ(disc->type, SioType::kDisconnect);
}

TEST(SioDecodeTest, RefusesMalformedPackets) {
  for (const char* bad : {
           "",                          // empty
           "7",                         // unknown type
           "x",                         // not a digit
           "2{}",                       // event payload must be an array
           "2[]",                       // ... non-empty
           "2",                         // ... and present
           R"(2["connect"])",           // reserved name
           R"(2["disconnect",1])",      // reserved name
           "2[\"a\"",                   // truncated JSON
           "2[\"a\"]garbage",           // trailing bytes
           "0[]",                       // CONNECT data must be an object
           "0\"x\"",                    // ... not a string
           "1{}",                       // DISCONNECT has no data
           "3{}",                       // ACK data is an array
           "21234567890123456[\"a\"]",  // ack id too long for a JS number
           "2[{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"
           "]",  // too deep
       }) {
    auto p = DecodeSioPacket(bad);
    EXPECT_FALSE(p.ok()) << bad;
    if (!p.ok()) {
      EXPECT_EQ(p.error().code, "malformed_packet") << bad;
    }
  }
}

TEST(SioDecodeTest, RefusesBinaryPacketsDistinctly) {
  EXPECT_EQ(DecodeSioPacket(R"(51-["x",{"_placeholder":true,"num":0}])").error().code,
            "binary_unsupported");
  EXPECT_EQ(DecodeSioPacket("61-0[]").error().code, "binary_unsupported");
}

TEST(SioEncodeTest, MatchesTheWireExamples) {
  EXPECT_EQ(EncodeSio(SioType::kConnect, "/", std::nullopt, R"({"sid":"x"})"), R"(40{"sid":"x"})");
  EXPECT_EQ(EncodeSio(SioType::kAck, "/", 0, R"([{"ok":true}])"), R"(430[{"ok":true}])");
  EXPECT_EQ(EncodeSio(SioType::kConnectError, "/admin", std::nullopt,
                      R"({"message":"Invalid namespace"})"),
            R"(44/admin,{"message":"Invalid namespace"})");
  EXPECT_EQ(EncodeSio(SioType::kDisconnect, "/", std::nullopt, ""), "41");
  EXPECT_EQ(EncodeEvent("video-status", R"({"a":1})"), R"(42["video-status",{"a":1}])");
  EXPECT_EQ(EncodeEvent("say \"hi\"", ""), R"(42["say \"hi\""])");
}

TEST(SioRoundTripTest, EncodedEventsDecode) {
  const std::string wire = EncodeEvent("processing-progress", R"({"progress":12.5})");
  ASSERT_EQ(wire[0], '4');
  auto p = DecodeSioPacket(std::string_view(wire).substr(1));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->data->as_array()[0].as_string(), "processing-progress");
  EXPECT_EQ(p->data->as_array()[1].at("progress").as_double(), 12.5);
}

}  // namespace
}  // namespace vs::realtime
