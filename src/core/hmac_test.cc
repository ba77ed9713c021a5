#include "core/hmac.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "core/time_format.h"

namespace vs {
namespace {

TEST(HmacTest, MatchesRfc4231Vectors) {
  // RFC 4231 test case 2.
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(HmacTest, StreamedDigestEqualsTheWholeOneAndTheFilesOne) {
  std::string data;
  for (int i = 0; i < 300000; ++i) data += static_cast<char>('a' + i % 26);
  Sha256Stream sha;
  for (size_t off = 0; off < data.size(); off += 7919) sha.Update(data.data() + off, std::min<size_t>(7919, data.size() - off));
  const std::string streamed = sha.HexDigest();
  EXPECT_EQ(streamed, Sha256Hex(data));
  const std::string path = ::testing::TempDir() + "/sha256-file";
  { std::ofstream(path, std::ios::binary) << data; }
  auto file = Sha256OfFile(path);
  ASSERT_TRUE(file.ok()) << file.error().message;
  EXPECT_EQ(*file, streamed);
  EXPECT_FALSE(Sha256OfFile(path + ".missing").ok());
  Sha256Stream empty;
  EXPECT_EQ(empty.HexDigest(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(HmacTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

TEST(TimeFormatTest, HttpDateAndIso) {
  EXPECT_EQ(HttpDate(1764076235123), "Tue, 25 Nov 2025 13:10:35 GMT");
  EXPECT_EQ(IsoTime(1764076235123), "2025-11-25T13:10:35.123Z");
  EXPECT_EQ(IsoTime(0), "1970-01-01T00:00:00.000Z");
}

}  // namespace
}  // namespace vs
