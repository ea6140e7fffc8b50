// An flock(2) held for the lifetime of the object: shared by ordinary commands, exclusive by
// garbage collection, so GC never deletes what a concurrent pull has written but not named.
#pragma once

#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace berth {

class FileLock {
 public:
  enum class Mode { Shared, Exclusive };
  // Blocks until the lock on path (created 0600 when absent) is granted.
  static Result<FileLock> acquire(const std::string& path, Mode mode);
  // Converts the held lock (flock converts in place; another fd of this process would
  // deadlock). With wait=false, Unavailable when another process holds it.
  Result<void> convert(Mode mode, bool wait = true);

 private:
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace berth
