// Raw wrappers for the syscalls glibc 2.36 lacks, or whose glibc wrappers a clone_fork child
// cannot use. They return -1 and set errno like libc.
#pragma once

#include <linux/mount.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdint>

namespace berth::sys {

inline int pidfd_open(pid_t pid, unsigned flags = 0) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, flags));
}
inline int pidfd_send_signal(int pidfd, int sig, unsigned flags = 0) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, flags));
}
inline int openat2(int dirfd, const char* path, const open_how* how) {
  return static_cast<int>(::syscall(SYS_openat2, dirfd, path, how, sizeof(*how)));
}
inline int pivot_root(const char* new_root, const char* put_old) {
  return static_cast<int>(::syscall(SYS_pivot_root, new_root, put_old));
}
inline int mount_setattr(int dirfd, const char* path, unsigned flags, mount_attr* attr) {
  return static_cast<int>(::syscall(SYS_mount_setattr, dirfd, path, flags, attr, sizeof(*attr)));
}
inline int open_tree(int dirfd, const char* path, unsigned flags) {
  return static_cast<int>(::syscall(SYS_open_tree, dirfd, path, flags));
}
inline int move_mount(int from_dirfd, const char* from, int to_dirfd, const char* to,
                      unsigned flags) {
  return static_cast<int>(::syscall(SYS_move_mount, from_dirfd, from, to_dirfd, to, flags));
}
// fork-like clone: the child continues on a copy of the caller's stack.
inline pid_t clone_fork(unsigned long flags) {
  return static_cast<pid_t>(::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, 0));
}
// The credential changes of a clone_fork child. glibc's setgroups/setresuid/setresgid apply
// the change to every thread glibc knows of (setxid), and a child cloned from a multithreaded
// process (a parallel build) inherits that list without the threads: it waits for them
// forever. The kernel keeps credentials per thread, and the child has only the one.
inline int setgroups_this_thread(size_t n, const gid_t* groups) {
  return static_cast<int>(::syscall(SYS_setgroups, n, groups));
}
inline int setresgid_this_thread(gid_t r, gid_t e, gid_t s) {
  return static_cast<int>(::syscall(SYS_setresgid, r, e, s));
}
inline int setresuid_this_thread(uid_t r, uid_t e, uid_t s) {
  return static_cast<int>(::syscall(SYS_setresuid, r, e, s));
}
inline int seccomp(unsigned op, unsigned flags, void* args) {
  return static_cast<int>(::syscall(SYS_seccomp, op, flags, args));
}
inline pid_t gettid() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

// Sets sig's action to handler, SIG_DFL or SIG_IGN (no flags, no mask). The raw call, because
// glibc's sigaction refuses its two internal signals (32 and 33), which a parent may leave
// ignored.
inline int set_signal_action(int sig, void (*handler)(int)) {
  struct {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)();
    unsigned long mask;
  } action{handler, 0, nullptr, 0};  // the kernel's struct sigaction
  return static_cast<int>(::syscall(SYS_rt_sigaction, sig, &action, nullptr, sizeof(action.mask)));
}

// Sets the whole signal mask (one bit per signal, signal n at bit n - 1).
inline int set_signal_mask(unsigned long mask) {
  return static_cast<int>(::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &mask, nullptr, sizeof(mask)));
}

// Every signal back to its default action, and none blocked: what a child about to exec
// should pass on, since an ignored signal and the mask survive exec. SIGKILL and SIGSTOP fail
// with EINVAL and are already default.
inline void reset_signals() {
  for (int sig = 1; sig < _NSIG; ++sig) set_signal_action(sig, SIG_DFL);
  set_signal_mask(0);
}

}  // namespace berth::sys
