#include "service/auth_service.h"

#include <cctype>

#include "core/hmac.h"
#include "core/ids.h"

namespace vs::service {
namespace {

constexpr size_t kMaxNameBytes = 100;
constexpr size_t kSecretBytes = 32;

Error InvalidField(std::string message) {
  return MakeError(ErrorKind::kInvalid, "invalid_field", std::move(message));
}

Error InvalidCredentials() {
  return MakeError(ErrorKind::kUnauthenticated, kInvalidCredentials, "invalid email or password");
}

bool HasControls(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

Status CheckPassword(const std::string& password) {
  if (password.size() < kMinPasswordBytes)
    return InvalidField("password must be at least " + std::to_string(kMinPasswordBytes) + " characters");
  if (password.size() > kMaxPasswordBytes)
    return InvalidField("password must be at most " + std::to_string(kMaxPasswordBytes) + " bytes");
  return {};
}

}  // namespace

std::string NormalizeEmail(const std::string& email) {
  size_t b = 0, e = email.size();
  while (b < e && std::isspace(static_cast<unsigned char>(email[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(email[e - 1]))) --e;
  std::string s = email.substr(b, e - b);
  if (s.empty() || s.size() > 254) return "";
  for (char& c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return "";
    c = static_cast<char>(std::tolower(u));
  }
  const size_t at = s.find('@');
  if (at == 0 || at == std::string::npos || s.find('@', at + 1) != std::string::npos) return "";
  const std::string domain = s.substr(at + 1);
  const size_t dot = domain.find('.');
  if (dot == 0 || dot == std::string::npos || domain.back() == '.') return "";
  return s;
}

AuthService::AuthService(db::UserRepository& users, db::SessionRepository& sessions, const Clock& clock,
                         AuthOptions options)
    : users_(users), sessions_(sessions), clock_(clock), options_(options) {}

Result<User> AuthService::Create(const std::string& email, const std::string& password, const std::string& name) {
  const std::string normalized = NormalizeEmail(email);
  if (normalized.empty()) return InvalidField("email must be an email address");
  VS_TRY(CheckPassword(password));
  if (name.size() > kMaxNameBytes)
    return InvalidField("name must be at most " + std::to_string(kMaxNameBytes) + " bytes");
  if (HasControls(name)) return InvalidField("name must not contain control characters");
  User u;
  u.id = NewId(clock_.NowMs());
  u.email = normalized;
  u.name = name.empty() ? normalized.substr(0, normalized.find('@')) : name;
  VS_ASSIGN_OR_RETURN(u.password_hash, HashPassword(password, options_.cost));
  u.created_at_ms = u.updated_at_ms = clock_.NowMs();
  VS_ASSIGN_OR_RETURN(std::optional<User> stored, users_.Register(u));
  if (!stored)
    return MakeError(ErrorKind::kConflict, kRegistrationFailed, "could not register with these details");
  return *stored;
}

Result<SignedIn> AuthService::Open(const User& u) {
  SignedIn in;
  in.user = u;
  const std::string secret = RandomToken(kSecretBytes);
  in.session.id = NewId(clock_.NowMs());
  in.session.user_id = u.id;
  in.session.secret_hash = Sha256Hex(secret);
  in.session.created_at_ms = clock_.NowMs();
  in.session.expires_at_ms = in.session.created_at_ms + options_.session_ttl_ms;
  VS_TRY(sessions_.Create(in.session));
  in.token = in.session.id + "." + secret;
  return in;
}

Result<SignedIn> AuthService::Register(const std::string& email, const std::string& password,
                                       const std::string& name) {
  if (!options_.registration_open) {
    VS_ASSIGN_OR_RETURN(int64_t count, users_.Count());
    if (count > 0)
      return MakeError(ErrorKind::kForbidden, kRegistrationClosed,
                       "registration is closed; ask an operator for an account");
  }
  VS_ASSIGN_OR_RETURN(User u, Create(email, password, name));
  return Open(u);
}

Result<SignedIn> AuthService::Login(const std::string& email, const std::string& password) {
  const std::string normalized = NormalizeEmail(email);
  std::optional<User> u;
  if (!normalized.empty() && password.size() <= kMaxPasswordBytes) {
    VS_ASSIGN_OR_RETURN(u, users_.FindByEmail(normalized));
  }
  if (!u) {
    VerifyNothing(password.substr(0, kMaxPasswordBytes), options_.cost);
    return InvalidCredentials();
  }
  if (!VerifyPassword(password, u->password_hash)) return InvalidCredentials();
  return Open(*u);
}

Result<std::optional<Identity>> AuthService::Authenticate(const std::string& token) {
  const size_t dot = token.find('.');
  if (dot == std::string::npos) return std::optional<Identity>();
  const std::string id = token.substr(0, dot), secret = token.substr(dot + 1);
  if (!IsValidId(id) || secret.empty() || secret.size() > 128) return std::optional<Identity>();
  VS_ASSIGN_OR_RETURN(std::optional<Session> s, sessions_.Get(id));
  if (!s || s->expires_at_ms <= clock_.NowMs() || !ConstantTimeEquals(Sha256Hex(secret), s->secret_hash))
    return std::optional<Identity>();
  VS_ASSIGN_OR_RETURN(std::optional<User> u, users_.Get(s->user_id));
  if (!u) return std::optional<Identity>();
  return std::optional<Identity>(Identity{std::move(*u), std::move(*s)});
}

Status AuthService::Logout(const std::string& session_id) {
  VS_ASSIGN_OR_RETURN(bool gone, sessions_.Delete(session_id));
  (void)gone;  // already gone is the same outcome
  return {};
}

Result<std::vector<Session>> AuthService::Sessions(const std::string& user_id) {
  return sessions_.ListForUser(user_id, clock_.NowMs());
}

Result<bool> AuthService::Revoke(const std::string& user_id, const std::string& session_id) {
  VS_ASSIGN_OR_RETURN(std::optional<Session> s, sessions_.Get(session_id));
  if (!s || s->user_id != user_id) return false;
  return sessions_.Delete(session_id);
}

Result<std::optional<User>> AuthService::Get(const std::string& user_id) { return users_.Get(user_id); }

Result<User> AuthService::AddUser(const std::string& email, const std::string& password, const std::string& name,
                                  bool admin) {
  VS_ASSIGN_OR_RETURN(User u, Create(email, password, name));
  if (admin && !u.is_admin) {
    VS_TRY(users_.SetAdmin(u.id, true));
    u.is_admin = true;
  }
  return u;
}

Result<bool> AuthService::SetAdmin(const std::string& email, bool admin) {
  VS_ASSIGN_OR_RETURN(std::optional<User> u, users_.FindByEmail(NormalizeEmail(email)));
  if (!u) return false;
  return users_.SetAdmin(u->id, admin);
}

Result<bool> AuthService::ResetPassword(const std::string& email, const std::string& password) {
  VS_TRY(CheckPassword(password));
  VS_ASSIGN_OR_RETURN(std::optional<User> u, users_.FindByEmail(NormalizeEmail(email)));
  if (!u) return false;
  VS_ASSIGN_OR_RETURN(std::string hash, HashPassword(password, options_.cost));
  VS_ASSIGN_OR_RETURN(bool set, users_.SetPasswordHash(u->id, hash, clock_.NowMs()));
  if (!set) return false;
  VS_TRY(sessions_.DeleteForUser(u->id));
  return true;
}

}  // namespace vs::service
