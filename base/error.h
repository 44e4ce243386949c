// The one error type of bld, and Result<T>.
//
// Every fallible function returns Result<T> (or Status = Result<void>). An Error
// carries a code, the errno where there is one, and a message that gains context
// as it travels up: `return err.Wrap("apply layer " + digest)` reads as
// "apply layer sha256:...: open /x: No such file or directory".
// Exceptions never cross module boundaries.
#pragma once

#include <cerrno>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace bld {

enum class ErrorCode {
  kNotFound,
  kAlreadyExists,
  kInvalidArgument,
  kFailedPrecondition,
  kPermissionDenied,
  kUnauthenticated,
  kUnavailable,
  kInternal,
};

std::string_view ErrorCodeName(ErrorCode code);

class [[nodiscard]] Error final {
 public:
  Error(ErrorCode code, std::string message, int sys_errno = 0)
      : code_(code), sys_errno_(sys_errno), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  // The errno that caused this error, or 0.
  int sys_errno() const { return sys_errno_; }
  const std::string& message() const { return message_; }

  // Returns this error with "context: " prepended to the message.
  Error Wrap(std::string_view context) const&;
  Error Wrap(std::string_view context) &&;

  bool Is(ErrorCode code) const { return code_ == code; }

 private:
  ErrorCode code_;
  int sys_errno_;
  std::string message_;
};

// "context: strerror(err)" with the code derived from errno (ENOENT -> kNotFound, ...).
Error PosixError(std::string_view context, int err);
// PosixError(context, errno).
Error ErrnoError(std::string_view context);

inline Error NotFoundError(std::string m) { return Error(ErrorCode::kNotFound, std::move(m)); }
inline Error AlreadyExistsError(std::string m) {
  return Error(ErrorCode::kAlreadyExists, std::move(m));
}
inline Error InvalidArgumentError(std::string m) {
  return Error(ErrorCode::kInvalidArgument, std::move(m));
}
inline Error FailedPreconditionError(std::string m) {
  return Error(ErrorCode::kFailedPrecondition, std::move(m));
}
inline Error PermissionDeniedError(std::string m) {
  return Error(ErrorCode::kPermissionDenied, std::move(m));
}
inline Error UnauthenticatedError(std::string m) {
  return Error(ErrorCode::kUnauthenticated, std::move(m));
}
inline Error UnavailableError(std::string m) {
  return Error(ErrorCode::kUnavailable, std::move(m));
}
inline Error InternalError(std::string m) { return Error(ErrorCode::kInternal, std::move(m)); }

template <typename T>
class [[nodiscard]] Result final {
 public:
  Result(const T& value) : v_(value) {}
  Result(T&& value) : v_(std::move(value)) {}
  Result(const Error& error) : v_(error) {}
  Result(Error&& error) : v_(std::move(error)) {}
  template <typename U>
    requires(std::is_constructible_v<T, U &&> && !std::is_same_v<std::decay_t<U>, T> &&
             !std::is_same_v<std::decay_t<U>, Error> &&
             !std::is_same_v<std::decay_t<U>, Result<T>>)
  Result(U&& value) : v_(std::in_place_index<0>, std::forward<U>(value)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> final {
 public:
  Result() = default;
  Result(const Error& error) : error_(error) {}
  Result(Error&& error) : error_(std::move(error)) {}

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const& { return *error_; }
  Error&& error() && { return std::move(*error_); }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;
inline Status Ok() { return Status(); }

}  // namespace bld

#define BLD_CONCAT_INNER_(a, b) a##b
#define BLD_CONCAT_(a, b) BLD_CONCAT_INNER_(a, b)

// Evaluates a Status/Result expression; returns its error from the enclosing function.
#define BLD_TRY(expr)                                          \
  do {                                                         \
    auto&& bld_try_result_ = (expr);                           \
    if (!bld_try_result_.ok()) return std::move(bld_try_result_).error(); \
  } while (0)

// Like BLD_TRY, wrapping the error with context first.
#define BLD_TRY_WRAP(expr, context)                            \
  do {                                                         \
    auto&& bld_try_result_ = (expr);                           \
    if (!bld_try_result_.ok()) return std::move(bld_try_result_).error().Wrap(context); \
  } while (0)

// BLD_ASSIGN_OR_RETURN(auto x, Foo()); declares/assigns the value or returns the error.
#define BLD_ASSIGN_OR_RETURN(lhs, expr) \
  BLD_ASSIGN_OR_RETURN_IMPL_(BLD_CONCAT_(bld_result_, __LINE__), lhs, expr)
#define BLD_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return std::move(tmp).error();    \
  lhs = std::move(tmp).value()
