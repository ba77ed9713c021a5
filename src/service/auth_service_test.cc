// AuthService over the real SQLite adapter (in-memory): registration rules,
// sign-in, tokens, sessions and the operators' controls.
#include "service/auth_service.h"

#include <gtest/gtest.h>

#include <memory>

#include "core/clock.h"
#include "db/sqlite_database.h"

namespace vs::service {
namespace {

class AuthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = db::SqliteDatabase::Open(":memory:", clock_);
    ASSERT_TRUE(db.ok());
    db_ = std::move(*db);
  }
  AuthService Make(bool open = true) {
    AuthOptions o;
    o.cost = kMinimalPasswordCost;
    o.session_ttl_ms = 3600 * 1000;
    o.registration_open = open;
    return AuthService(db_->users(), db_->sessions(), clock_, o);
  }

  FakeClock clock_;
  std::unique_ptr<db::SqliteDatabase> db_;
};

TEST_F(AuthServiceTest, NormalizesEmailsAndRefusesWhatIsNotOne) {
  EXPECT_EQ(NormalizeEmail("  Ana@Example.COM "), "ana@example.com");
  EXPECT_EQ(NormalizeEmail("ana@example"), "");
  EXPECT_EQ(NormalizeEmail("@example.com"), "");
  EXPECT_EQ(NormalizeEmail("a@b@example.com"), "");
  EXPECT_EQ(NormalizeEmail("a b@example.com"), "");
  EXPECT_EQ(NormalizeEmail("ana@example."), "");
  EXPECT_EQ(NormalizeEmail(std::string(250, 'a') + "@example.com"), "");
}

TEST_F(AuthServiceTest, FirstAccountIsAdminAndOthersAreNot) {
  AuthService auth = Make();
  auto first = auth.Register("Root@Example.com", "long enough", "");
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(first->user.is_admin);
  EXPECT_EQ(first->user.email, "root@example.com");
  EXPECT_EQ(first->user.name, "root");
  EXPECT_EQ(first->user.password_hash.rfind("$argon2id$", 0), 0u);
  auto second = auth.Register("b@example.com", "long enough", "Bea");
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->user.is_admin);
  EXPECT_EQ(second->user.name, "Bea");
}

TEST_F(AuthServiceTest, RefusesBadFieldsTakenEmailsAndClosedRegistration) {
  AuthService auth = Make();
  EXPECT_EQ(auth.Register("not-an-email", "long enough", "").error().code, "invalid_field");
  EXPECT_EQ(auth.Register("a@example.com", "short", "").error().code, "invalid_field");
  EXPECT_EQ(auth.Register("a@example.com", std::string(1025, 'x'), "").error().code, "invalid_field");
  EXPECT_EQ(auth.Register("a@example.com", "long enough", "tab\there").error().code, "invalid_field");
  ASSERT_TRUE(auth.Register("a@example.com", "long enough", "").ok());
  auto taken = auth.Register("A@EXAMPLE.com", "other password", "");
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().code, kRegistrationFailed);
  EXPECT_EQ(taken.error().kind, ErrorKind::kConflict);
  AuthService closed = Make(false);
  auto refused = closed.Register("c@example.com", "long enough", "");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, kRegistrationClosed);
  // Operators still add accounts.
  auto added = closed.AddUser("c@example.com", "long enough", "", true);
  ASSERT_TRUE(added.ok());
  EXPECT_TRUE(added->is_admin);
}

TEST_F(AuthServiceTest, ClosedRegistrationStillLetsTheFirstAccountIn) {
  AuthService closed = Make(false);
  auto first = closed.Register("root@example.com", "long enough", "");
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->user.is_admin);
}

TEST_F(AuthServiceTest, LoginGivesOneAnswerForUnknownEmailsAndWrongPasswords) {
  AuthService auth = Make();
  ASSERT_TRUE(auth.Register("a@example.com", "long enough", "").ok());
  auto wrong = auth.Login("a@example.com", "not the one");
  auto unknown = auth.Login("z@example.com", "long enough");
  auto malformed = auth.Login("zzz", "long enough");
  for (const auto* r : {&wrong, &unknown, &malformed}) {
    ASSERT_FALSE(r->ok());
    EXPECT_EQ(r->error().code, kInvalidCredentials);
    EXPECT_EQ(r->error().kind, ErrorKind::kUnauthenticated);
    EXPECT_EQ(r->error().message, "invalid email or password");
  }
  auto ok = auth.Login(" A@example.com", "long enough");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->user.email, "a@example.com");
}

TEST_F(AuthServiceTest, TokensNameTheirSessionUntilTheyExpireOrAreRevoked) {
  AuthService auth = Make();
  auto in = auth.Register("a@example.com", "long enough", "");
  ASSERT_TRUE(in.ok());
  auto who = auth.Authenticate(in->token);
  ASSERT_TRUE(who.ok() && who->has_value());
  EXPECT_EQ((*who)->user.id, in->user.id);
  EXPECT_EQ((*who)->session.id, in->session.id);
  // The database keeps no usable token.
  EXPECT_EQ(in->token.find(in->session.secret_hash), std::string::npos);
  // Tampered, malformed, unknown: nobody.
  std::string altered = in->token;
  altered.back() = altered.back() == 'A' ? 'B' : 'A';
  for (const std::string& t : {altered, std::string("garbage"), std::string(""), in->session.id + ".",
                               std::string("aaaaaaaaaaaaaaaaaaaaaaaa.x")}) {
    auto r = auth.Authenticate(t);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->has_value()) << t;
  }
  // Revoked by its user, not by another.
  auto other = auth.Register("b@example.com", "long enough", "");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(*auth.Revoke(other->user.id, in->session.id));
  EXPECT_TRUE(auth.Authenticate(in->token)->has_value());
  auto second = auth.Login("a@example.com", "long enough");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(auth.Sessions(in->user.id)->size(), 2u);
  EXPECT_TRUE(*auth.Revoke(in->user.id, in->session.id));
  EXPECT_FALSE(auth.Authenticate(in->token)->has_value());
  EXPECT_EQ(auth.Sessions(in->user.id)->size(), 1u);
  // Expiry.
  clock_.Advance(3600 * 1000 + 1);
  EXPECT_FALSE(auth.Authenticate(second->token)->has_value());
}

TEST_F(AuthServiceTest, ResetPasswordEndsEverySessionAndSetAdminWorksByEmail) {
  AuthService auth = Make();
  ASSERT_TRUE(auth.Register("root@example.com", "long enough", "").ok());
  auto in = auth.Register("a@example.com", "long enough", "");
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(auth.ResetPassword("a@example.com", "short").error().code, "invalid_field");
  EXPECT_FALSE(*auth.ResetPassword("nobody@example.com", "new long password"));
  EXPECT_TRUE(*auth.ResetPassword("A@example.com", "new long password"));
  EXPECT_FALSE(auth.Authenticate(in->token)->has_value());
  EXPECT_FALSE(auth.Login("a@example.com", "long enough").ok());
  EXPECT_TRUE(auth.Login("a@example.com", "new long password").ok());
  EXPECT_TRUE(*auth.SetAdmin("a@example.com", true));
  EXPECT_TRUE((*auth.Get(in->user.id))->is_admin);
  EXPECT_FALSE(*auth.SetAdmin("nobody@example.com", true));
}

}  // namespace
}  // namespace vs::service
