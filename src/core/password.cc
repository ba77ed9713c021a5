#include "core/password.h"

#include <sodium.h>

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <vector>

namespace vs {

const PasswordCost kInteractivePasswordCost{crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                            crypto_pwhash_MEMLIMIT_INTERACTIVE};
const PasswordCost kMinimalPasswordCost{crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};

namespace {

constexpr int kConcurrentHashes = 2;

void InitSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();  // no CSPRNG: nothing secret can be made safely
}

// A counting gate around the memory-hard work.
class HashGate {
 public:
  void Enter() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return running_ < kConcurrentHashes; });
    ++running_;
  }
  void Leave() {
    {
      std::lock_guard lock(mu_);
      --running_;
    }
    cv_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int running_ = 0;
};

HashGate& Gate() {
  static HashGate gate;
  return gate;
}

struct GateTurn {
  GateTurn() { Gate().Enter(); }
  ~GateTurn() { Gate().Leave(); }
  GateTurn(const GateTurn&) = delete;
  GateTurn& operator=(const GateTurn&) = delete;
};

}  // namespace

Result<std::string> HashPassword(std::string_view password, const PasswordCost& cost) {
  InitSodium();
  char out[crypto_pwhash_STRBYTES];
  GateTurn turn;
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), cost.ops, cost.memory_bytes,
                            crypto_pwhash_ALG_ARGON2ID13) != 0)
    return MakeError(ErrorKind::kUnavailable, "out_of_memory", "not enough memory to hash the password");
  return std::string(out);
}

bool VerifyPassword(std::string_view password, const std::string& hash) {
  InitSodium();
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  GateTurn turn;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

void VerifyNothing(std::string_view password, const PasswordCost& cost) {
  InitSodium();
  unsigned char key[32];
  unsigned char salt[crypto_pwhash_SALTBYTES] = {};
  GateTurn turn;
  if (crypto_pwhash(key, sizeof key, password.data(), password.size(), salt, cost.ops, cost.memory_bytes,
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    // Out of memory: the caller answers the same failure anyway.
  }
  sodium_memzero(key, sizeof key);
}

std::string RandomToken(size_t bytes) {
  InitSodium();
  std::vector<unsigned char> raw(bytes);
  randombytes_buf(raw.data(), raw.size());
  std::string out(sodium_base64_encoded_len(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), raw.data(), raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.size() - 1);  // the terminating NUL
  sodium_memzero(raw.data(), raw.size());
  return out;
}

}  // namespace vs
