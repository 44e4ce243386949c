#include "base/error.h"

#include <cstring>

namespace bld {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNotFound: return "NotFound";
    case ErrorCode::kAlreadyExists: return "AlreadyExists";
    case ErrorCode::kInvalidArgument: return "InvalidArgument";
    case ErrorCode::kFailedPrecondition: return "FailedPrecondition";
    case ErrorCode::kPermissionDenied: return "PermissionDenied";
    case ErrorCode::kUnauthenticated: return "Unauthenticated";
    case ErrorCode::kUnavailable: return "Unavailable";
    case ErrorCode::kInternal: return "Internal";
  }
  return "Unknown";
}

Error Error::Wrap(std::string_view context) const& {
  Error copy = *this;
  return std::move(copy).Wrap(context);
}

Error Error::Wrap(std::string_view context) && {
  if (!context.empty()) {
    std::string m;
    m.reserve(context.size() + 2 + message_.size());
    m.append(context).append(": ").append(message_);
    message_ = std::move(m);
  }
  return std::move(*this);
}

static ErrorCode CodeForErrno(int err) {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ESRCH:
      return ErrorCode::kNotFound;
    case EEXIST:
    case ENOTEMPTY:
      return ErrorCode::kAlreadyExists;
    case EACCES:
    case EPERM:
    case EROFS:
      return ErrorCode::kPermissionDenied;
    case EINVAL:
    case ENAMETOOLONG:
    case ELOOP:
    case EISDIR:
      return ErrorCode::kInvalidArgument;
    case EAGAIN:
    case EBUSY:
    case ECONNREFUSED:
    case ECONNRESET:
    case ETIMEDOUT:
    case EHOSTUNREACH:
    case ENETUNREACH:
      return ErrorCode::kUnavailable;
    case ENOSPC:
    case EDQUOT:
      return ErrorCode::kFailedPrecondition;
    default:
      return ErrorCode::kInternal;
  }
}

Error PosixError(std::string_view context, int err) {
  std::string m(context);
  if (!m.empty()) m += ": ";
  m += std::strerror(err);
  return Error(CodeForErrno(err), std::move(m), err);
}

Error ErrnoError(std::string_view context) { return PosixError(context, errno); }

}  // namespace bld
