// The credential calls of a clone_fork child: they must not wait for threads the child does
// not have (glibc's setxid broadcast did, when a thread was being created at the clone). And
// reset_signals, which must clear what a parent left ignored, glibc's own signals included.
#include "base/syscalls.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>

namespace berth::sys {
namespace {

// Clones a child that changes its credentials the way a container's init does, while another
// thread keeps creating threads; fails if a child is not done within two seconds.
void clone_children_while_threads_are_born(int (*change)()) {
  std::atomic<bool> stop{false};
  std::thread births([&] {
    while (!stop) std::thread([] {}).join();
  });
  int hung = 0;
  for (int i = 0; i < 300 && hung == 0; ++i) {
    pid_t pid = clone_fork(0);
    ASSERT_GE(pid, 0);
    if (pid == 0) ::_exit(change());
    int pidfd = pidfd_open(pid);
    pollfd p{pidfd, POLLIN, 0};
    if (::poll(&p, 1, 2000) != 1) {
      ++hung;
      ::kill(pid, SIGKILL);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(pidfd);
    if (!hung) {
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child " << i;
    }
  }
  stop = true;
  births.join();
  EXPECT_EQ(hung, 0) << "a child hung in its credential change";
}

TEST(SyscallsTest, ACloneChildChangesCredentialsWhileItsParentCreatesThreads) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to set groups";
  clone_children_while_threads_are_born([] {
    gid_t none[1] = {0};
    if (setgroups_this_thread(1, none) != 0) return 1;
    if (setresgid_this_thread(0, 0, 0) != 0) return 2;
    if (setresuid_this_thread(0, 0, 0) != 0) return 3;
    return 0;
  });
}

// The hex mask of a /proc/self/status line ("SigIgn:", "SigBlk:").
unsigned long long status_mask(const std::string& field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with(field)) return std::stoull(line.substr(field.size()), nullptr, 16);
  }
  return ~0ULL;
}

TEST(SyscallsTest, ResetSignalsClearsEveryIgnoredAndBlockedSignal) {
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // What CI's runner does to its children: 32 and 33 ignored (glibc refuses to), plus more.
    for (int sig : {SIGHUP, SIGPIPE, 32, 33, 40}) set_signal_action(sig, SIG_IGN);
    set_signal_mask(~0UL);
    if (status_mask("SigIgn:") == 0 || status_mask("SigBlk:") == 0) ::_exit(2);  // not set up
    reset_signals();
    ::_exit(status_mask("SigIgn:") == 0 && status_mask("SigBlk:") == 0 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: a signal is still ignored or blocked; 2: setup failed";
}

}  // namespace
}  // namespace berth::sys
