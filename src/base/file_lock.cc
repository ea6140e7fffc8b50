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
  return FileLock(std::move(fd), mode);
}

Result<void> FileLock::convert(Mode mode, bool wait) {
  auto op = [](Mode m) { return m == Mode::Exclusive ? LOCK_EX : LOCK_SH; };
  while (::flock(fd_.get(), op(mode) | (wait ? 0 : LOCK_NB)) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    // flock(2) releases the old lock before taking the new one: take the old one back.
    while (::flock(fd_.get(), op(mode_)) != 0 && errno == EINTR) {
    }
    if (err == EWOULDBLOCK) return Fail(ErrorCode::Unavailable, "the store is in use by another berth command");
    return FailErrno(err, "lock the store");
  }
  mode_ = mode;
  return {};
}

}  // namespace berth
