// The one error model of berth: Result<T> carries a value or an Error with a category,
// the errno of a failed syscall, and context added on the way up.
#pragma once

#include <fmt/core.h>

#include <string>
#include <string_view>
#include <utility>

#if __has_include(<expected>)
#include <expected>
#endif
#if !defined(__cpp_lib_expected)
#include "base/expected_compat.h"
#endif

namespace berth {

enum class ErrorCode {
  NotFound,
  AlreadyExists,
  InvalidArgument,
  Conflict,
  PermissionDenied,
  Unavailable,
  Internal,
};

std::string_view to_string(ErrorCode code);

class Error {
 public:
  Error() = default;
  Error(ErrorCode code, std::string message, int sys_errno = 0)
      : code_(code), message_(std::move(message)), errno_(sys_errno) {}

  ErrorCode code() const { return code_; }
  // errno of the syscall that failed, 0 when the error did not come from one.
  int sys_errno() const { return errno_; }
  // The message without the errno text.
  const std::string& message() const { return message_; }
  // The full text: "context: ...: message: strerror(errno)".
  std::string what() const;

  // Prepends "what: " to the message; used on the way up the layers.
  Error& context(std::string_view what);

 private:
  ErrorCode code_ = ErrorCode::Internal;
  std::string message_;
  int errno_ = 0;
};

#if defined(__cpp_lib_expected)
template <class T = void>
using Result = std::expected<T, Error>;
using Unexpected = std::unexpected<Error>;
#else
template <class T = void>
using Result = compat::expected<T, Error>;
using Unexpected = compat::unexpected<Error>;
#endif

// Maps an errno to the category callers act on (ENOENT is NotFound, EEXIST AlreadyExists...).
ErrorCode code_for_errno(int err);

inline Unexpected Err(Error e) { return Unexpected(std::move(e)); }

template <class... Args>
Unexpected Fail(ErrorCode code, fmt::format_string<Args...> f, Args&&... args) {
  return Unexpected(Error(code, fmt::format(f, std::forward<Args>(args)...)));
}

// An error from a failed syscall: "what: strerror(err)", categorised by errno.
Error SysError(int err, std::string what);

template <class... Args>
Unexpected FailErrno(int err, fmt::format_string<Args...> f, Args&&... args) {
  return Unexpected(SysError(err, fmt::format(f, std::forward<Args>(args)...)));
}

namespace detail {
template <class T>
T unwrap(Result<T>&& r) {
  return std::move(*r);
}
inline void unwrap(Result<void>&&) {}
template <class R>
auto take_error(R&& r) {
  return Unexpected(std::move(r.error()));
}
}  // namespace detail

}  // namespace berth

// Evaluates a Result; on error returns it from the enclosing function, else yields the value.
#define TRY(...)                                                                  \
  ({                                                                              \
    auto _berth_r = (__VA_ARGS__);                                                \
    if (!_berth_r.has_value()) return ::berth::detail::take_error(_berth_r);      \
    ::berth::detail::unwrap(std::move(_berth_r));                                 \
  })

// Like TRY, adding context to the error on the way up.
#define TRY_CTX(ctx, ...)                                                         \
  ({                                                                              \
    auto _berth_r = (__VA_ARGS__);                                                \
    if (!_berth_r.has_value()) {                                                  \
      _berth_r.error().context(ctx);                                              \
      return ::berth::detail::take_error(_berth_r);                               \
    }                                                                             \
    ::berth::detail::unwrap(std::move(_berth_r));                                 \
  })
