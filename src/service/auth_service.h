// Accounts: registration, sign-in, sessions and the operators' controls.
// A session's bearer token is "<session id>.<secret>"; the database keeps
// only the SHA-256 of the secret, so a copy of the database signs nobody
// in. Passwords are Argon2id (core/password.h). Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/password.h"
#include "core/result.h"
#include "core/user.h"
#include "db/repository.h"
#include "service/access.h"

namespace vs::service {

inline constexpr const char* kInvalidCredentials = "invalid_credentials";
inline constexpr const char* kRegistrationClosed = "registration_closed";
inline constexpr const char* kRegistrationFailed = "registration_failed";
inline constexpr size_t kMinPasswordBytes = 8;
inline constexpr size_t kMaxPasswordBytes = 1024;

struct AuthOptions {
  PasswordCost cost = kInteractivePasswordCost;
  int64_t session_ttl_ms = 30LL * 24 * 3600 * 1000;
  bool registration_open = true;  // the first account can always be made
};

// A signed-in caller: the user and the session it came with.
struct Identity {
  User user;
  Session session;
  Viewer viewer() const { return Viewer{user.id, user.is_admin}; }
};

// An account and a fresh session's bearer token.
struct SignedIn {
  User user;
  Session session;
  std::string token;
};

class AuthService {
 public:
  AuthService(db::UserRepository& users, db::SessionRepository& sessions, const Clock& clock,
              AuthOptions options = {});

  // kInvalid "invalid_field" (email, password length, name);
  // kForbidden kRegistrationClosed; kConflict kRegistrationFailed for a taken
  // email (one answer whatever the reason, so it tells nothing more).
  Result<SignedIn> Register(const std::string& email, const std::string& password, const std::string& name);
  // kUnauthenticated kInvalidCredentials for an unknown email and a wrong
  // password alike, in the same time.
  Result<SignedIn> Login(const std::string& email, const std::string& password);
  // The caller a bearer token (or cookie value) names; nullopt for a token
  // that is malformed, unknown, revoked or expired.
  Result<std::optional<Identity>> Authenticate(const std::string& token);
  Status Logout(const std::string& session_id);
  // The user's live sessions, newest first.
  Result<std::vector<Session>> Sessions(const std::string& user_id);
  // Ends one of the user's sessions; false when it is not theirs or gone.
  Result<bool> Revoke(const std::string& user_id, const std::string& session_id);
  Result<std::optional<User>> Get(const std::string& user_id);

  // Operators (`visionsync user ...`): no registration switch, no session.
  Result<User> AddUser(const std::string& email, const std::string& password, const std::string& name,
                       bool admin);
  Result<bool> SetAdmin(const std::string& email, bool admin);  // false: no such user
  // Sets a new password and ends every session of the user.
  Result<bool> ResetPassword(const std::string& email, const std::string& password);

 private:
  Result<User> Create(const std::string& email, const std::string& password, const std::string& name);
  Result<SignedIn> Open(const User& u);

  db::UserRepository& users_;
  db::SessionRepository& sessions_;
  const Clock& clock_;
  AuthOptions options_;
};

// Lower-cased and trimmed; empty when it is not an email address worth
// trying (one '@', no spaces or controls, a dot in the domain, <= 254 bytes).
std::string NormalizeEmail(const std::string& email);

}  // namespace vs::service
