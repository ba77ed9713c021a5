#include "app/guarded_adapters.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "db/sqlite_database.h"

namespace vs::app {
namespace {

// A store whose disk "fails" on demand: the real LocalStore underneath, with
// failures injected above it (the seam's fault-injecting wrapper).
class FlakyStore final : public store::ObjectStore {
 public:
  explicit FlakyStore(store::ObjectStore& in) : in_(in) {}
  bool broken = false;
  bool full = false;  // ENOSPC, as the local store reports it
  int calls = 0;
  Result<store::ObjectInfo> Stat(const std::string& k) override {
    ++calls;
    if (broken) return store::StoreError("disk on fire");
    if (full) return store::StorageFull("create temporary object: No space left on device");
    return in_.Stat(k);
  }
  Result<std::unique_ptr<store::ObjectWriter>> OpenWriter(const std::string& k) override {
    if (full) return store::StorageFull("create temporary object: No space left on device");
    return in_.OpenWriter(k);
  }
  std::optional<uint64_t> FreeBytes() override { return full ? 1000 : 1ULL << 40; }
  Status PutFile(const std::string& k, const std::string& p, bool m) override { return in_.PutFile(k, p, m); }
  Result<std::string> FetchToFile(const std::string& k, const std::string& s) override { return in_.FetchToFile(k, s); }
  Result<std::vector<std::string>> List(const std::string& p) override { return in_.List(p); }
  Status Delete(const std::string& k) override { return in_.Delete(k); }
  Status DeletePrefix(const std::string& p) override { return in_.DeletePrefix(p); }
  std::optional<std::string> LocalPath(const std::string& k) override { return in_.LocalPath(k); }
  Result<std::unique_ptr<store::ObjectReader>> OpenReader(const std::string& k, uint64_t off,
                                                          std::optional<uint64_t> len) override {
    ++calls;
    if (broken) return store::StoreError("disk on fire");
    return in_.OpenReader(k, off, len);
  }
  std::optional<std::string> PresignPut(const std::string& k, const std::string& type, int64_t ttl) override {
    return "put:" + k + ":" + type + ":" + std::to_string(ttl);
  }
  std::optional<std::string> PresignGet(const std::string& k, int64_t ttl) override {
    return "get:" + k + ":" + std::to_string(ttl);
  }
  Status Check() override { return broken ? store::StoreError("disk on fire") : Status{}; }

 private:
  store::ObjectStore& in_;
};

// A local store behind a fault switch, behind the breaker under test.
class GuardedStoreTest : public ::testing::Test {
 protected:
  GuardedStoreTest()
      : root(MakeRoot()),
        local(std::move(store::NewLocalStore(root).value())),
        flaky(*local),
        breaker(std::make_shared<resilience::CircuitBreaker>("storage", resilience::BreakerOptions{}, clock)),
        guarded(GuardStore(flaky, breaker)) {}
  ~GuardedStoreTest() override { std::filesystem::remove_all(root); }
  static std::string MakeRoot() {
    char tmpl[] = "/tmp/vs-guard-XXXXXX";
    return mkdtemp(tmpl);
  }

  const std::string root;
  std::unique_ptr<store::ObjectStore> local;
  FlakyStore flaky;
  FakeClock clock;
  std::shared_ptr<resilience::CircuitBreaker> breaker;
  std::unique_ptr<store::ObjectStore> guarded;
};

TEST_F(GuardedStoreTest, BreakerOpensFailsFastAndRecovers) {

  // "Not found" is an answer, not a failure: it never opens the circuit.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(guarded->Stat("raw/x/source").error().code, store::kNotFound);
  EXPECT_EQ(breaker->state(), resilience::BreakerState::kClosed);

  flaky.broken = true;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(guarded->Stat("raw/x/source").error().code, store::kStoreError);
  EXPECT_EQ(breaker->state(), resilience::BreakerState::kOpen);
  const int calls = flaky.calls;
  EXPECT_EQ(guarded->Stat("raw/x/source").error().code, resilience::kCircuitOpen);
  EXPECT_EQ(flaky.calls, calls);  // failed fast, the disk was not touched

  flaky.broken = false;
  clock.Advance(60001);
  EXPECT_EQ(guarded->Stat("raw/x/source").error().code, store::kNotFound);  // the trial
  EXPECT_EQ(breaker->state(), resilience::BreakerState::kClosed);
}

TEST_F(GuardedStoreTest, ForwardsReadsSigningAndReadiness) {
  EXPECT_EQ(guarded->PresignPut("raw/x/source", "video/mp4", 60), "put:raw/x/source:video/mp4:60");
  EXPECT_EQ(guarded->PresignGet("processed/x/a.m4s", 30), "get:processed/x/a.m4s:30");
  auto w = guarded->OpenWriter("raw/x/source");
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write("abcdef", 6).ok());
  ASSERT_TRUE((*w)->Commit().ok());
  auto r = guarded->OpenReader("raw/x/source", 2, 3);
  ASSERT_TRUE(r.ok());
  char buf[8];
  auto n = (*r)->Read(buf, sizeof(buf));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "cde");
  // Reads count toward the breaker; readiness asks the store even when it is open.
  flaky.broken = true;
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(guarded->OpenReader("raw/x/source", 0, std::nullopt).ok());
  EXPECT_EQ(breaker->state(), resilience::BreakerState::kOpen);
  EXPECT_FALSE(guarded->Check().ok());
  flaky.broken = false;
  EXPECT_TRUE(guarded->Check().ok());
}

// A full disk is not an outage: the breaker stays closed however often it
// happens, so writes work again the moment space is freed (issue 11, item 5).
TEST_F(GuardedStoreTest, AFullDiskNeverOpensTheBreaker) {
  flaky.full = true;
  EXPECT_EQ(guarded->FreeBytes(), 1000u);
  for (int i = 0; i < 20; ++i) {
    auto w = guarded->OpenWriter("raw/x/source");
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.error().kind, ErrorKind::kInsufficientStorage);
    EXPECT_EQ(guarded->Stat("raw/x/source").error().code, store::kStorageFull);
  }
  EXPECT_EQ(breaker->state(), resilience::BreakerState::kClosed);
  flaky.full = false;
  auto w = guarded->OpenWriter("raw/x/source");
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_TRUE((*w)->Write("abc", 3).ok());
  EXPECT_TRUE((*w)->Commit().ok());
  EXPECT_TRUE(guarded->Stat("raw/x/source").ok());
}

// The accounts of a real (in-memory) database behind a fault switch; the
// rest of the database as it is.
class FlakyUsers final : public db::UserRepository {
 public:
  explicit FlakyUsers(db::UserRepository& in) : in_(in) {}
  bool broken = false;
  int calls = 0;
  Result<std::optional<User>> Register(User u) override { return in_.Register(std::move(u)); }
  Result<std::optional<User>> Get(const std::string& id) override {
    ++calls;
    if (broken) return db::DbError("database is locked");
    return in_.Get(id);
  }
  Result<std::optional<User>> FindByEmail(const std::string& e) override { return in_.FindByEmail(e); }
  Result<bool> SetAdmin(const std::string& id, bool a) override { return in_.SetAdmin(id, a); }
  Result<bool> SetPasswordHash(const std::string& id, const std::string& h, int64_t now) override {
    return in_.SetPasswordHash(id, h, now);
  }
  Result<int64_t> Count() override { return in_.Count(); }

 private:
  db::UserRepository& in_;
};

class FlakyAccountsDatabase final : public db::Database {
 public:
  explicit FlakyAccountsDatabase(db::Database& in) : in_(in), users_(in.users()) {}
  FlakyUsers& flaky_users() { return users_; }
  db::VideoRepository& videos() override { return in_.videos(); }
  db::NotificationRepository& notifications() override { return in_.notifications(); }
  db::JobQueue& jobs() override { return in_.jobs(); }
  db::EventLog& events() override { return in_.events(); }
  db::UserRepository& users() override { return users_; }
  db::SessionRepository& sessions() override { return in_.sessions(); }
  int schema_version() override { return in_.schema_version(); }
  Status Ping() override { return in_.Ping(); }
  void StartJobListener(std::function<void()> on_job) override { in_.StartJobListener(std::move(on_job)); }
  void StopJobListener() override { in_.StopJobListener(); }

 private:
  db::Database& in_;
  FlakyUsers users_;
};

User MakeUser(const std::string& id, const std::string& email) {
  User u;
  u.id = id;
  u.email = email;
  u.password_hash = "hash";
  return u;
}

TEST(GuardedDatabaseTest, AccountsForwardAndShareTheDatabaseBreaker) {
  FakeClock clock;
  auto sqlite = db::SqliteDatabase::Open(":memory:", clock);
  ASSERT_TRUE(sqlite.ok()) << sqlite.error().message;
  FlakyAccountsDatabase flaky(**sqlite);
  auto breaker = std::make_shared<resilience::CircuitBreaker>("database", resilience::BreakerOptions{}, clock);
  GuardedDatabase g = GuardDatabase(flaky, breaker);
  ASSERT_NE(g.users, nullptr);
  ASSERT_NE(g.sessions, nullptr);

  const std::string uid = "0123456789abcdef01234567";
  auto user = g.users->Register(MakeUser(uid, "a@example.org"));
  ASSERT_TRUE(user.ok() && user->has_value());
  EXPECT_TRUE((*user)->is_admin);
  EXPECT_EQ((*g.users->FindByEmail("a@example.org"))->id, uid);
  EXPECT_EQ(*g.users->Count(), 1);
  Session s;
  s.id = "fedcba9876543210fedcba98";
  s.user_id = uid;
  s.secret_hash = std::string(64, 'f');
  s.expires_at_ms = 1000;
  ASSERT_TRUE(g.sessions->Create(s).ok());
  EXPECT_EQ((*g.sessions->Get(s.id))->user_id, uid);
  EXPECT_EQ(g.sessions->ListForUser(uid, 0)->size(), 1u);

  // "No such user" is an answer: it never opens the circuit.
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(g.users->Get("nobody")->has_value());
  EXPECT_EQ(breaker->state(), resilience::BreakerState::kClosed);

  flaky.flaky_users().broken = true;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(g.users->Get(uid).error().code, db::kDbError);
  EXPECT_EQ(breaker->state(), resilience::BreakerState::kOpen);
  const int calls = flaky.flaky_users().calls;
  EXPECT_EQ(g.users->Get(uid).error().code, resilience::kCircuitOpen);
  EXPECT_EQ(flaky.flaky_users().calls, calls);  // failed fast
  // One database, one breaker: the sessions and the videos fail fast too.
  EXPECT_EQ(g.sessions->Get(s.id).error().code, resilience::kCircuitOpen);
  EXPECT_EQ(g.videos->Get("x").error().code, resilience::kCircuitOpen);

  flaky.flaky_users().broken = false;
  clock.Advance(60001);
  EXPECT_TRUE(g.users->Get(uid).ok());  // the trial
  EXPECT_EQ(breaker->state(), resilience::BreakerState::kClosed);
  EXPECT_TRUE(*g.sessions->Delete(s.id));
}

TEST(GuardedAdaptersTest, ClassifiesFailures) {
  EXPECT_TRUE(IsInfrastructureFailure(db::DbError("")));
  EXPECT_TRUE(IsInfrastructureFailure(store::StoreError("")));
  EXPECT_FALSE(IsInfrastructureFailure(store::StorageFull("")));
  EXPECT_FALSE(IsInfrastructureFailure(db::DbFull("sqlite: database or disk is full")));
  EXPECT_FALSE(IsInfrastructureFailure(MakeError(ErrorKind::kNotFound, store::kNotFound, "")));
  EXPECT_FALSE(IsInfrastructureFailure(MakeError(ErrorKind::kInvalid, db::kBadCursor, "")));
}

}  // namespace
}  // namespace vs::app
