// Expected failures as values: Result<T> holds either a T or an Error.
//
// Error codes are short snake_case strings that travel unchanged to the
// outside world (the transcoder's JSON error line, the API's error envelope),
// so they are part of the public contract: add codes, never rename them.
//
// Each error also carries a kind: the category callers branch on (is this a
// dependency that is down, a bad request, a missing thing?). Code decides by
// kind and maps kinds to outward answers (HTTP statuses) in one place; the
// code string stays for the wire and for the rare check of one specific code.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace vs {

enum class ErrorKind {
  kInvalid,      // the caller's input is wrong; repeating it fails again
  kNotFound,     // the thing asked for does not exist
  kConflict,     // the request clashes with the current state
  kUnavailable,  // a dependency is down or overloaded; retrying later may work
  kTooLarge,     // the input exceeds a size limit
  kForbidden,    // the caller may not do this
  kUnauthenticated,  // the caller must say who it is (sign in) first
  kInternal,     // anything else: a bug or an unexpected failure
  // The storage (disk, database file) is full: not an outage, so it never
  // trips a breaker; writes work again as soon as space is freed.
  kInsufficientStorage,
};

// "invalid", "not_found", ... (for logs and tests, not the wire).
constexpr std::string_view ToString(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalid:
      return "invalid";
    case ErrorKind::kNotFound:
      return "not_found";
    case ErrorKind::kConflict:
      return "conflict";
    case ErrorKind::kUnavailable:
      return "unavailable";
    case ErrorKind::kTooLarge:
      return "too_large";
    case ErrorKind::kForbidden:
      return "forbidden";
    case ErrorKind::kUnauthenticated:
      return "unauthenticated";
    case ErrorKind::kInternal:
      return "internal";
    case ErrorKind::kInsufficientStorage:
      return "insufficient_storage";
  }
  return "internal";
}

struct Error {
  std::string code;     // machine-readable, e.g. "unsupported_container"
  std::string message;  // one human-readable line
  ErrorKind kind = ErrorKind::kInternal;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : ok_(false), error_(std::move(error)) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  bool ok_ = true;
  Error error_;
};

using Status = Result<void>;

inline Error MakeError(ErrorKind kind, std::string code, std::string message) {
  return Error{std::move(code), std::move(message), kind};
}

// An error of kind kInternal.
inline Error MakeError(std::string code, std::string message) {
  return MakeError(ErrorKind::kInternal, std::move(code), std::move(message));
}

}  // namespace vs

// Propagates a failed Status/Result out of the calling function.
#define VS_TRY(expr)                                   \
  do {                                                 \
    auto&& vs_try_result_ = (expr);                    \
    if (!vs_try_result_.ok()) return vs_try_result_.error(); \
  } while (0)

#define VS_CONCAT_INNER_(a, b) a##b
#define VS_CONCAT_(a, b) VS_CONCAT_INNER_(a, b)
// VS_ASSIGN_OR_RETURN(auto x, Compute()): binds the value or propagates the error.
#define VS_ASSIGN_OR_RETURN(decl, expr)                                  \
  auto VS_CONCAT_(vs_aor_, __LINE__) = (expr);                          \
  if (!VS_CONCAT_(vs_aor_, __LINE__).ok())                              \
    return VS_CONCAT_(vs_aor_, __LINE__).error();                       \
  decl = std::move(VS_CONCAT_(vs_aor_, __LINE__)).value()
