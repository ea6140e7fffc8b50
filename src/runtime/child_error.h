// How the container's child reports a failed setup step: between clone and exec it allocates
// nothing, so a step fills this fixed-size record, which travels to the parent over the sync
// socket, and the parent turns it into an Error.
#pragma once

#include <cstdarg>
#include <cstdio>

namespace berth::runtime {

struct ChildError {
  int err = 0;         // errno, 0 when the failure is not a syscall's
  char text[512] = {};  // what was tried on what: "mount proc on /proc"
};

// Records a failure and returns -1, so steps can `return child_fail(e, errno, "...", ...)`.
__attribute__((format(printf, 3, 4))) inline int child_fail(ChildError* e, int err,
                                                            const char* fmt, ...) {
  e->err = err;
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(e->text, sizeof(e->text), fmt, ap);
  va_end(ap);
  return -1;
}

}  // namespace berth::runtime
