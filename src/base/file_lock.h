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
  // Converts the held lock (on the same fd: a second fd of this process would deadlock).
  // With wait=false, Unavailable when another process holds it; the lock held before is
  // then taken again (flock drops it while converting).
  Result<void> convert(Mode mode, bool wait = true);

 private:
  FileLock(UniqueFd fd, Mode mode) : fd_(std::move(fd)), mode_(mode) {}
  UniqueFd fd_;
  Mode mode_;
};

}  // namespace berth
