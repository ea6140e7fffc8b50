#include "base/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>

namespace berth {

Result<FileLock> FileLock::acquire(const std::string& path, Mode mode) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return FailErrno(errno, "open lock {}", path);
  int op = mode == Mode::Exclusive ? LOCK_EX : LOCK_SH;
  while (::flock(fd.get(), op) != 0) {
    if (errno != EINTR) return FailErrno(errno, "lock {}", path);
  }
  return FileLock(std::move(fd));
}

Result<void> FileLock::convert(Mode mode, bool wait) {
  int op = (mode == Mode::Exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);
  while (::flock(fd_.get(), op) != 0) {
    if (errno == EWOULDBLOCK) return Fail(ErrorCode::Unavailable, "the store is in use by another berth command");
    if (errno != EINTR) return FailErrno(errno, "lock the store");
  }
  return {};
}

}  // namespace berth
