// berth's default seccomp profile, as data. It follows Docker's default policy: everything
// not listed fails with EPERM; the common syscalls are allowed; administrative ones (mount,
// unshare and namespace flags of clone, bpf, perf_event_open, kexec, modules, reboot, swapon,
// keyrings, userfaultfd, ...) are allowed only with the capability that governs them, and
// personality only with the standard personas. Unlike Docker, ptrace and process_vm_* need
// CAP_SYS_PTRACE whatever the kernel version.
#include <sys/utsname.h>

#include "engine/seccomp_profile.h"

namespace berth::engine {

namespace {

constexpr std::string_view kAllow = "SCMP_ACT_ALLOW";

// Allowed for every container.
const char* const kAllowAlways[] = {
    "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "capget", "capset",
    "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres",
    "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat",
    "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
    "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
    "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64",
    "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2",
    "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr",
    "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64",
    "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex",
    "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat",
    "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid",
    "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer", "getpeername",
    "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid",
    "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage",
    "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday",
    "getuid", "getuid32", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
    "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents",
    "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit",
    "io_uring_enter", "io_uring_register", "io_uring_setup", "ipc", "kill",
    "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
    "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "_llseek",
    "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack",
    "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod",
    "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr",
    "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
    "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd",
    "msync", "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep",
    "newfstatat", "_newselect", "open", "openat", "openat2", "pause", "pidfd_open",
    "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll",
    "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64",
    "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2",
    "read", "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg",
    "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat",
    "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending",
    "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr",
    "sched_getparam", "sched_get_priority_max", "sched_get_priority_min",
    "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
    "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler",
    "sched_yield", "seccomp", "select", "semctl", "semget", "semop", "semtimedop",
    "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto",
    "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups",
    "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32",
    "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32",
    "setrlimit", "set_robust_list", "setsid", "setsockopt", "set_thread_area",
    "set_tid_address", "setuid", "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget",
    "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn",
    "socketcall", "socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statx",
    "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill",
    "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
    "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create",
    "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times",
    "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat",
    "utime", "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4",
    "waitid", "waitpid", "write", "writev",
};

// Syscalls allowed only with one capability.
struct CapGated {
  const char* cap;
  std::vector<std::string> names;
};

const CapGated kCapGated[] = {
    {"CAP_DAC_READ_SEARCH", {"open_by_handle_at"}},
    {"CAP_SYS_ADMIN",
     {"bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
      "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open",
      "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog", "umount",
      "umount2", "unshare"}},
    {"CAP_SYS_BOOT", {"reboot"}},
    {"CAP_SYS_CHROOT", {"chroot"}},
    {"CAP_SYS_MODULE", {"delete_module", "init_module", "finit_module"}},
    {"CAP_SYS_PACCT", {"acct"}},
    {"CAP_SYS_PTRACE",
     {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev",
      "ptrace"}},
    {"CAP_SYS_RAWIO", {"iopl", "ioperm"}},
    {"CAP_SYS_TIME", {"settimeofday", "stime", "clock_settime", "clock_settime64"}},
    {"CAP_SYS_TTY_CONFIG", {"vhangup"}},
    {"CAP_SYS_NICE", {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"}},
    {"CAP_SYSLOG", {"syslog"}},
    {"CAP_BPF", {"bpf"}},
    {"CAP_PERFMON", {"perf_event_open"}},
};

// Syscalls of one architecture family.
struct ArchGated {
  std::vector<std::string> arches;
  std::vector<std::string> names;
};

const ArchGated kArchGated[] = {
    {{"ppc64le"}, {"sync_file_range2", "swapcontext"}},
    {{"arm", "arm64"},
     {"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush",
      "set_tls"}},
    {{"amd64", "x32"}, {"arch_prctl"}},
    {{"amd64", "x32", "x86"}, {"modify_ldt"}},
    {{"s390", "s390x"}, {"s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"}},
    {{"riscv64"}, {"riscv_flush_icache"}},
};

// personality(2) personas that are harmless: PER_LINUX, PER_LINUX32, UNAME26,
// PER_LINUX32|UNAME26 and the 0xffffffff query.
constexpr uint64_t kPersonas[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

// CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET: clone may not create namespaces.
constexpr uint64_t kCloneNamespaceFlags = 0x7E020000;
constexpr uint64_t kAfVsock = 40;
constexpr uint32_t kEperm = 1;
constexpr uint32_t kEnosys = 38;

SeccompProfile build_default() {
  SeccompProfile p;
  p.default_action = "SCMP_ACT_ERRNO";
  p.default_errno_ret = kEperm;
  p.arch_map = {
      {"SCMP_ARCH_X86_64", {"SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
      {"SCMP_ARCH_AARCH64", {"SCMP_ARCH_ARM"}},
      {"SCMP_ARCH_MIPS64", {"SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"}},
      {"SCMP_ARCH_MIPSEL64", {"SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"}},
      {"SCMP_ARCH_PPC64LE", {}},
      {"SCMP_ARCH_S390X", {"SCMP_ARCH_S390"}},
      {"SCMP_ARCH_RISCV64", {}},
  };
  SeccompProfileRule always;
  always.names.assign(std::begin(kAllowAlways), std::end(kAllowAlways));
  always.action = kAllow;
  p.rules.push_back(std::move(always));

  SeccompProfileRule sock;
  sock.names = {"socket"};
  sock.action = kAllow;
  sock.args = {oci::SeccompArg{0, kAfVsock, 0, "SCMP_CMP_NE"}};
  p.rules.push_back(std::move(sock));

  for (uint64_t persona : kPersonas) {
    SeccompProfileRule r;
    r.names = {"personality"};
    r.action = kAllow;
    r.args = {oci::SeccompArg{0, persona, 0, "SCMP_CMP_EQ"}};
    p.rules.push_back(std::move(r));
  }
  for (const auto& a : kArchGated) {
    SeccompProfileRule r;
    r.names = a.names;
    r.action = kAllow;
    r.include_arches = a.arches;
    p.rules.push_back(std::move(r));
  }
  for (const auto& c : kCapGated) {
    SeccompProfileRule r;
    r.names = c.names;
    r.action = kAllow;
    r.include_caps = {c.cap};
    p.rules.push_back(std::move(r));
  }
  // Without CAP_SYS_ADMIN: clone without namespace flags (s390 swaps the first two
  // arguments), and clone3, whose flags sit in memory seccomp cannot read, reports ENOSYS
  // so that libc falls back to clone.
  SeccompProfileRule clone;
  clone.names = {"clone"};
  clone.action = kAllow;
  clone.args = {oci::SeccompArg{0, kCloneNamespaceFlags, 0, "SCMP_CMP_MASKED_EQ"}};
  clone.exclude_caps = {"CAP_SYS_ADMIN"};
  clone.exclude_arches = {"s390", "s390x"};
  p.rules.push_back(clone);
  clone.args[0].index = 1;
  clone.exclude_arches.clear();
  clone.include_arches = {"s390", "s390x"};
  p.rules.push_back(std::move(clone));
  SeccompProfileRule clone3;
  clone3.names = {"clone3"};
  clone3.action = "SCMP_ACT_ERRNO";
  clone3.errno_ret = kEnosys;
  clone3.exclude_caps = {"CAP_SYS_ADMIN"};
  p.rules.push_back(std::move(clone3));
  return p;
}

}  // namespace

const SeccompProfile& default_seccomp_profile() {
  static const SeccompProfile profile = build_default();
  return profile;
}

std::string host_go_arch() {
  struct utsname u {};
  if (::uname(&u) != 0) return "amd64";
  std::string_view m = u.machine;
  if (m == "x86_64") return "amd64";
  if (m == "aarch64") return "arm64";
  if (m == "i386" || m == "i686") return "x86";
  if (m.starts_with("arm")) return "arm";
  if (m == "ppc64le") return "ppc64le";
  if (m == "s390x") return "s390x";
  if (m == "riscv64") return "riscv64";
  return std::string(m);
}

}  // namespace berth::engine
