// Accounts: a user and one of its sign-in sessions. Plain values; no I/O.
#pragma once

#include <cstdint>
#include <string>

namespace vs {

struct User {
  std::string id;     // 24 hex chars, like video ids
  std::string email;  // lower-cased and trimmed by the callers; unique case-insensitively
  std::string name;
  std::string password_hash;  // the password hasher's encoded output, never the password
  bool is_admin = false;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

// A signed-in client. Its token is "<id>.<secret>"; only the secret's hash
// is stored, so a leaked database yields no usable token.
struct Session {
  std::string id;
  std::string user_id;
  std::string secret_hash;  // hex SHA-256 of the token's secret
  int64_t created_at_ms = 0;
  int64_t expires_at_ms = 0;
};

}  // namespace vs
