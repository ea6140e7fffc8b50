// berth's init: fork the command, then wait for signals with every signal blocked (a
// blocked signal reaches PID 1 of a pid namespace even without a handler), forwarding them
// to the command and reaping children on SIGCHLD.
#include "init/reaper_init.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

namespace berth::init {

namespace {

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

// Signals the init handles itself: SIGCHLD drives the reaping; the others are synchronous
// faults of the init process, not requests for the command.
bool forwarded(int sig) {
  return sig != SIGCHLD && sig != SIGSEGV && sig != SIGBUS && sig != SIGFPE && sig != SIGILL &&
         sig != SIGABRT && sig != SIGTRAP && sig != SIGSYS;
}

}  // namespace

int run_reaper_init(char** argv) {
  if (argv == nullptr || argv[0] == nullptr) {
    std::fprintf(stderr, "berth-init: no command given\n");
    return 127;
  }
  if (::getpid() != 1) ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

  sigset_t all, old;
  ::sigfillset(&all);
  ::sigprocmask(SIG_BLOCK, &all, &old);

  pid_t child = ::fork();
  if (child < 0) {
    std::fprintf(stderr, "berth-init: fork: %s\n", ::strerror(errno));
    return 126;
  }
  if (child == 0) {
    for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    ::execvp(argv[0], argv);
    int err = errno;
    std::fprintf(stderr, "berth-init: exec %s: %s\n", argv[0], ::strerror(err));
    ::_exit(err == ENOENT ? 127 : 126);
  }

  for (;;) {
    siginfo_t info{};
    int sig = ::sigwaitinfo(&all, &info);
    if (sig < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "berth-init: sigwaitinfo: %s\n", ::strerror(errno));
      return 1;
    }
    if (sig != SIGCHLD) {
      if (forwarded(sig)) ::kill(child, sig);
      continue;
    }
    for (;;) {
      int status = 0;
      pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid < 0 && errno == EINTR) continue;
      if (pid <= 0) break;
      if (pid == child) return exit_code(status);
    }
  }
}

}  // namespace berth::init
