// Passwords and bearer secrets for accounts (libsodium). Passwords are
// stored as Argon2id strings (algorithm, parameters and salt included), so
// the parameters can be raised later without breaking older hashes.
// Thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.h"

namespace vs {

// Argon2id cost. kInteractive is libsodium's interactive level (64 MiB,
// 2 passes: about 0.1 s here); kMinimal is for tests only.
struct PasswordCost {
  unsigned long long ops;
  size_t memory_bytes;
};
extern const PasswordCost kInteractivePasswordCost;
extern const PasswordCost kMinimalPasswordCost;

// Hashes run one or two at a time in a process (each takes `memory_bytes`):
// callers beyond that wait, so a burst of logins cannot exhaust memory.
Result<std::string> HashPassword(std::string_view password, const PasswordCost& cost);
// True when `password` matches `hash` (constant time in the password).
// A malformed hash is no match.
bool VerifyPassword(std::string_view password, const std::string& hash);
// Spends the time a VerifyPassword against a real hash of `cost` would, for
// an email that has no account: answers take as long either way.
void VerifyNothing(std::string_view password, const PasswordCost& cost);

// `bytes` random bytes from the system's CSPRNG, base64url without padding.
std::string RandomToken(size_t bytes);

}  // namespace vs
