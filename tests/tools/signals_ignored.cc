// signals_ignored: runs a command with every signal ignored and blocked, as a careless parent
// may leave them (CI runners have been seen to ignore glibc's internal signals 32 and 33).
// Both survive exec, so this is what berth itself then starts with.
//
//   signals_ignored COMMAND [ARG...]
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/syscalls.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: signals_ignored COMMAND [ARG...]\n");
    return 2;
  }
  for (int sig = 1; sig < _NSIG; ++sig) berth::sys::set_signal_action(sig, SIG_IGN);
  berth::sys::set_signal_mask(~0UL);
  ::execvp(argv[1], argv + 1);
  std::fprintf(stderr, "signals_ignored: %s: %s\n", argv[1], std::strerror(errno));
  return 127;
}
