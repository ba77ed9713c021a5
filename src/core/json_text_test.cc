#include "core/json_text.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <limits>

namespace vs::json_text {
namespace {

namespace json = boost::json;

std::string Str(std::string_view s) {
  std::string out;
  AppendString(out, s);
  return out;
}

std::string Num(double v) {
  std::string out;
  AppendNumber(out, v);
  return out;
}

TEST(JsonText, StringsAreEscapedAndReadBackUnchanged) {
  EXPECT_EQ(Str("plain"), "\"plain\"");
  EXPECT_EQ(Str("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Str("line\nnext\ttab\r"), "\"line\\nnext\\ttab\\r\"");
  EXPECT_EQ(Str(std::string_view("\x01\x1f\0", 3)), "\"\\u0001\\u001f\\u0000\"");
  EXPECT_EQ(Str(""), "\"\"");
  // Every byte value below 0x80 and some UTF-8 survive a round trip through
  // a real JSON parser.
  std::string all;
  for (int c = 0; c < 0x80; ++c) all += static_cast<char>(c);
  all += "日本語 ünïcödé 🎬 </script>";
  EXPECT_EQ(json::parse(Str(all)).as_string(), all);
}

TEST(JsonText, NumbersAreShortestAndExact) {
  EXPECT_EQ(Num(100), "100");
  EXPECT_EQ(Num(0), "0");
  EXPECT_EQ(Num(42.5), "42.5");
  EXPECT_EQ(Num(-3.25), "-3.25");
  EXPECT_EQ(Num(0.1), "0.1");
  EXPECT_EQ(Num(std::nan("")), "null");
  EXPECT_EQ(Num(std::numeric_limits<double>::infinity()), "null");
  for (double v : {1e-300, 123456789.123, 6.02214076e23, 1.0 / 3}) {
    EXPECT_EQ(json::parse(Num(v)).to_number<double>(), v) << Num(v);
  }
  std::string out;
  AppendInt(out, -9007199254740993LL);
  EXPECT_EQ(out, "-9007199254740993");
}

TEST(JsonText, ObjectsCommaSeparateMembers) {
  std::string out;
  {
    Object o(out);
    o.String("id", "x\"y").Int("n", 7).Number("p", 12.5).Null("e").Raw("list", "[1,2]");
    o.Key("nested") += "{}";
  }
  EXPECT_EQ(out, "{\"id\":\"x\\\"y\",\"n\":7,\"p\":12.5,\"e\":null,\"list\":[1,2],\"nested\":{}}");
  EXPECT_TRUE(json::parse(out).is_object());
  std::string empty;
  { Object o(empty); }
  EXPECT_EQ(empty, "{}");
}

TEST(JsonText, SerializeWritesBoostValuesWithPlainNumbers) {
  json::value v = json::parse(
      R"({"a":42.5,"b":[1,-2,18446744073709551615,true,false,null],"c":{"d":"x\"y"},"e":100.0,"f":0.1})");
  const std::string text = Serialize(v);
  EXPECT_EQ(text, R"({"a":42.5,"b":[1,-2,18446744073709551615,true,false,null],"c":{"d":"x\"y"},"e":100,"f":0.1})");
  json::value back = json::parse(text);
  EXPECT_EQ(back.at("a").to_number<double>(), 42.5);
  EXPECT_EQ(back.at("e").to_number<double>(), 100.0);  // an integer now: the same number
  EXPECT_EQ(back.at("b"), v.at("b"));
  EXPECT_EQ(back.at("c"), v.at("c"));
}

}  // namespace
}  // namespace vs::json_text
