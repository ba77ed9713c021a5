#include "core/password.h"

#include <gtest/gtest.h>

#include <set>

namespace vs {
namespace {

TEST(PasswordTest, HashesAreArgon2idSaltedAndVerify) {
  auto a = HashPassword("correct horse battery", kMinimalPasswordCost);
  auto b = HashPassword("correct horse battery", kMinimalPasswordCost);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->rfind("$argon2id$", 0), 0u) << *a;
  EXPECT_NE(*a, *b);  // a salt of its own each time
  EXPECT_TRUE(VerifyPassword("correct horse battery", *a));
  EXPECT_TRUE(VerifyPassword("correct horse battery", *b));
  EXPECT_FALSE(VerifyPassword("correct horse batterY", *a));
  EXPECT_FALSE(VerifyPassword("", *a));
  EXPECT_FALSE(VerifyPassword("correct horse battery", ""));
  EXPECT_FALSE(VerifyPassword("correct horse battery", "$argon2id$v=19$garbage"));
}

TEST(PasswordTest, InteractiveCostIsWhatTheServerStores) {
  auto h = HashPassword("pw-for-the-server", kInteractivePasswordCost);
  ASSERT_TRUE(h.ok());
  EXPECT_NE(h->find("m=65536"), std::string::npos) << *h;
  EXPECT_TRUE(VerifyPassword("pw-for-the-server", *h));
}

TEST(PasswordTest, RandomTokensAreUrlSafeAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string t = RandomToken(32);
    EXPECT_EQ(t.size(), 43u);
    EXPECT_EQ(t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos)
        << t;
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 200u);
}

}  // namespace
}  // namespace vs
