// signals_ignored: runs a command with every signal ignored and blocked, as a careless parent
// may leave them (CI runners have been seen to ignore glibc's internal signals 32 and 33).
// Both survive exec, so this is what berth itself then starts with.
//
//   signals_ignored COMMAND [ARG...]
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: signals_ignored COMMAND [ARG...]\n");
    return 2;
  }
  // The raw call: glibc's sigaction refuses 32 and 33.
  struct {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)();
    unsigned long mask;
  } ignore{SIG_IGN, 0, nullptr, 0};
  for (int sig = 1; sig < _NSIG; ++sig)
    ::syscall(SYS_rt_sigaction, sig, &ignore, nullptr, sizeof(ignore.mask));
  unsigned long all = ~0UL;
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, nullptr, sizeof(all));
  ::execvp(argv[1], argv + 1);
  std::fprintf(stderr, "signals_ignored: %s: %s\n", argv[1], std::strerror(errno));
  return 127;
}
