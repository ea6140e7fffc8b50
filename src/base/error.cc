#include "base/error.h"

#include <cerrno>
#include <cstring>

namespace berth {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::NotFound: return "not found";
    case ErrorCode::AlreadyExists: return "already exists";
    case ErrorCode::InvalidArgument: return "invalid argument";
    case ErrorCode::Conflict: return "conflict";
    case ErrorCode::PermissionDenied: return "permission denied";
    case ErrorCode::Unavailable: return "unavailable";
    case ErrorCode::Internal: return "internal";
  }
  return "unknown";
}

std::string Error::what() const {
  if (errno_ == 0) return message_;
  std::string text = message_;
  if (!text.empty()) text += ": ";
  text += std::strerror(errno_);
  return text;
}

Error& Error::context(std::string_view what) {
  if (what.empty()) return *this;
  message_ = message_.empty() ? std::string(what) : fmt::format("{}: {}", what, message_);
  return *this;
}

ErrorCode code_for_errno(int err) {
  switch (err) {
    case ENOENT: case ESRCH: case ENXIO: case ENODEV: return ErrorCode::NotFound;
    case EEXIST: return ErrorCode::AlreadyExists;
    case EINVAL: case ENOTDIR: case EISDIR: case ELOOP: case ENAMETOOLONG: case E2BIG:
    case ERANGE: case EXDEV:
      return ErrorCode::InvalidArgument;
    case EPERM: case EACCES: case EROFS: return ErrorCode::PermissionDenied;
    case EBUSY: case ENOTEMPTY: case EADDRINUSE: return ErrorCode::Conflict;
    case EAGAIN: case ECONNREFUSED: case ETIMEDOUT: case ENOSPC: case ENOMEM: case EMFILE:
    case ENFILE:
      return ErrorCode::Unavailable;
    default: return ErrorCode::Internal;
  }
}

Error SysError(int err, std::string what) { return Error(code_for_errno(err), std::move(what), err); }

}  // namespace berth
