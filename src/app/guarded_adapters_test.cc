#include "app/guarded_adapters.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace vs::app {
namespace {

// A store whose disk "fails" on demand: the real LocalStore underneath, with
// failures injected above it (the seam's fault-injecting wrapper).
class FlakyStore final : public store::ObjectStore {
 public:
  explicit FlakyStore(store::ObjectStore& in) : in_(in) {}
  bool broken = false;
  int calls = 0;
  Result<store::ObjectInfo> Stat(const std::string& k) override {
    ++calls;
    if (broken) return MakeError(store::kStoreError, "disk on fire");
    return in_.Stat(k);
  }
  Result<std::unique_ptr<store::ObjectWriter>> OpenWriter(const std::string& k) override { return in_.OpenWriter(k); }
  Status PutFile(const std::string& k, const std::string& p, bool m) override { return in_.PutFile(k, p, m); }
  Result<std::string> FetchToFile(const std::string& k, const std::string& s) override { return in_.FetchToFile(k, s); }
  Result<std::vector<std::string>> List(const std::string& p) override { return in_.List(p); }
  Status Delete(const std::string& k) override { return in_.Delete(k); }
  Status DeletePrefix(const std::string& p) override { return in_.DeletePrefix(p); }
  std::optional<std::string> LocalPath(const std::string& k) override { return in_.LocalPath(k); }

 private:
  store::ObjectStore& in_;
};

TEST(GuardedAdaptersTest, StoreBreakerOpensFailsFastAndRecovers) {
  char tmpl[] = "/tmp/vs-guard-XXXXXX";
  const std::string root = mkdtemp(tmpl);
  auto local = std::move(store::NewLocalStore(root).value());
  FlakyStore flaky(*local);
  FakeClock clock;
  auto breaker = std::make_shared<resilience::CircuitBreaker>("storage", resilience::BreakerOptions{}, clock);
  auto guarded = GuardStore(flaky, breaker);

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
  std::filesystem::remove_all(root);
}

TEST(GuardedAdaptersTest, ClassifiesFailures) {
  EXPECT_TRUE(IsInfrastructureFailure(MakeError(db::kDbError, "")));
  EXPECT_TRUE(IsInfrastructureFailure(MakeError(store::kStoreError, "")));
  EXPECT_FALSE(IsInfrastructureFailure(MakeError(store::kNotFound, "")));
  EXPECT_FALSE(IsInfrastructureFailure(MakeError(db::kBadCursor, "")));
}

}  // namespace
}  // namespace vs::app
