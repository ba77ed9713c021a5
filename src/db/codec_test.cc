#include "db/codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vs::db {
namespace {

TEST(CodecTest, RenditionsRoundTripAndRejectJunk) {
  std::vector<RenditionInfo> in = {
      {"", "", 0, 0, 0}, {"q\"\\/\b\f\n\r\t\x01", "ü東🎬", -1, 2'000'000'000, 9'000'000'000'000}};
  auto out = internal::DecodeRenditions(internal::EncodeRenditions(in));
  ASSERT_TRUE(out);
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[1].id, in[1].id);
  EXPECT_EQ((*out)[1].name, in[1].name);
  EXPECT_EQ((*out)[1].width, -1);
  EXPECT_EQ((*out)[1].height, 2'000'000'000);
  EXPECT_EQ((*out)[1].bitrate, 9'000'000'000'000);
  EXPECT_EQ(internal::EncodeRenditions({}), "[]");
  EXPECT_TRUE(internal::DecodeRenditions("[]")->empty());

  // Written by someone else's JSON encoder: escapes, spacing, unknown keys.
  auto foreign = internal::DecodeRenditions(
      R"( [ { "name" : "\u00fc\ud83c\udfac", "codec": "avc1", "hdr": false, "extra": null,
              "width": 640 } ] )");
  ASSERT_TRUE(foreign);
  ASSERT_EQ(foreign->size(), 1u);
  EXPECT_EQ((*foreign)[0].name, "ü🎬");
  EXPECT_EQ((*foreign)[0].width, 640);

  for (const char* junk : {"", "[", "{}", "[{]", "[{\"width\":1.5}]", "[{\"width\":1e3}]",
                           "[{\"width\":99999999999}]", "[{\"id\":\"\\ud800\"}]", "[] x",
                           "[{\"id\":\"a\nb\"}]", "[{\"id\":{}}]", "[,]", "[{\"id\":\"\\x\"}]"}) {
    EXPECT_FALSE(internal::DecodeRenditions(junk)) << junk;
  }
}

TEST(CodecTest, Base64UrlIsStrict) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00\x01"}) {
    auto back = internal::Base64UrlDecode(internal::Base64UrlEncode(s));
    ASSERT_TRUE(back) << s;
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(internal::Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_FALSE(internal::Base64UrlDecode("Zm9=")) << "padding";
  EXPECT_FALSE(internal::Base64UrlDecode("Zm9+")) << "standard alphabet";
  EXPECT_FALSE(internal::Base64UrlDecode("Zh")) << "non-zero trailing bits";
  EXPECT_FALSE(internal::Base64UrlDecode("Zm9vY")) << "impossible length";
  EXPECT_TRUE(internal::Base64UrlDecode("Zg"));
}

TEST(CodecTest, CursorsRoundTrip) {
  auto c = internal::DecodeVideoCursor(internal::EncodeVideoCursor({-5, "a:b c"}));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->created_at_ms, -5);
  EXPECT_EQ(c->id, "a:b c");
  EXPECT_EQ(internal::DecodeNotificationCursor(internal::EncodeNotificationCursor(42)), 42);
  EXPECT_FALSE(internal::DecodeNotificationCursor(internal::EncodeNotificationCursor(0)));
  EXPECT_FALSE(internal::DecodeNotificationCursor(internal::Base64UrlEncode("n:-3")));
}

}  // namespace
}  // namespace vs::db
