// compile_seccomp and apply_seccomp: profiles are compiled here and installed in forked
// children, which report what the kernel then does to their syscalls.
#include "runtime/seccomp.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>

namespace berth::runtime {
namespace {

struct Forked {
  int status = 0;      // wait status
  std::string report;  // what the child wrote: empty when all its checks passed
};

// Child side: writes a failure description to fd (no allocation) and returns exit code 1.
__attribute__((format(printf, 2, 3))) int report(int fd, const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = std::vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (n > 0) (void)!::write(fd, buf, std::min(static_cast<size_t>(n), sizeof(buf) - 1));
  return 1;
}

// Runs body(report_fd) in a forked child, which exits with its result.
template <class F>
Forked run_forked(F body) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return {-1, "pipe failed"};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    ::_exit(body(fds[1]));
  }
  ::close(fds[1]);
  Forked out;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) out.report.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  ::waitpid(pid, &out.status, 0);
  return out;
}

// Child side: installs prog, reporting a failure.
int install(const SeccompProgram& prog, int fd) {
  ChildError err;
  int rc = apply_seccomp(prog, &err);
  if (rc < 0) return report(fd, "apply_seccomp: %s: %s", err.text, std::strerror(err.err));
  return 0;
}

oci::SeccompSyscall rule(std::vector<std::string> names, std::string action,
                         std::optional<uint32_t> errno_ret = std::nullopt,
                         std::vector<oci::SeccompArg> args = {}) {
  oci::SeccompSyscall s;
  s.names = std::move(names);
  s.action = std::move(action);
  s.errno_ret = errno_ret;
  s.args = std::move(args);
  return s;
}

oci::Seccomp allow_by_default(std::vector<oci::SeccompSyscall> rules) {
  oci::Seccomp s;
  s.default_action = "SCMP_ACT_ALLOW";
  s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  s.syscalls = std::move(rules);
  return s;
}

SeccompProgram compile_ok(const oci::Seccomp& config) {
  auto prog = compile_seccomp(config);
  EXPECT_TRUE(prog.has_value()) << prog.error().what();
  return prog ? *prog : SeccompProgram{};
}

std::string compile_error(const oci::Seccomp& config) {
  auto prog = compile_seccomp(config);
  if (prog) return "(compiled)";
  return prog.error().what();
}

void expect_clean_exit(const Forked& f) {
  EXPECT_TRUE(WIFEXITED(f.status)) << "child status " << f.status << " " << f.report;
  EXPECT_EQ(WEXITSTATUS(f.status), 0) << f.report;
  EXPECT_EQ(f.report, "");
}

TEST(SeccompTest, DeniedSyscallFailsWithErrnoRetAndOthersWork) {
  SeccompProgram prog = compile_ok(allow_by_default({rule({"uname"}, "SCMP_ACT_ERRNO", 42)}));
  ASSERT_FALSE(prog.filter.empty());
  EXPECT_FALSE(prog.use_listener);
  expect_clean_exit(run_forked([&](int fd) {
    if (install(prog, fd)) return 1;
    utsname u;
    if (::uname(&u) == 0) return report(fd, "uname succeeded");
    if (errno != 42) return report(fd, "uname failed with errno %d, want 42", errno);
    if (::getpid() <= 0) return report(fd, "getpid failed");
    char cwd[256];
    if (::getcwd(cwd, sizeof(cwd)) == nullptr) return report(fd, "getcwd failed: %d", errno);
    return 0;
  }));
}

TEST(SeccompTest, ArgumentConditionDeniesOnlyMatchingCalls) {
  oci::SeccompArg query{0, 0xffffffff, 0, "SCMP_CMP_EQ"};
  SeccompProgram prog =
      compile_ok(allow_by_default({rule({"personality"}, "SCMP_ACT_ERRNO", 43, {query})}));
  expect_clean_exit(run_forked([&](int fd) {
    if (install(prog, fd)) return 1;
    long rc = ::syscall(SYS_personality, 0xffffffffUL);
    if (rc != -1 || errno != 43)
      return report(fd, "personality(0xffffffff) = %ld errno %d", rc, errno);
    rc = ::syscall(SYS_personality, 0UL);  // PER_LINUX: what the process already is
    if (rc < 0) return report(fd, "personality(0) failed with errno %d", errno);
    return 0;
  }));
}

TEST(SeccompTest, ConditionsOnDifferentArgumentsMustAllHold) {
  // Deny openat(AT_FDCWD, ..., flags with O_CREAT).
  // The filter compares all 64 bits: the calls below pass AT_FDCWD sign-extended (glibc's
  // own wrappers may leave the upper half zero, which a 64-bit comparison would not match).
  oci::SeccompArg dirfd{0, static_cast<uint64_t>(int64_t{AT_FDCWD}), 0, "SCMP_CMP_EQ"};
  oci::SeccompArg creat{2, O_CREAT, O_CREAT, "SCMP_CMP_MASKED_EQ"};
  SeccompProgram prog =
      compile_ok(allow_by_default({rule({"mkdirat"}, "SCMP_ACT_ERRNO", 45, {dirfd}),
                                   rule({"openat"}, "SCMP_ACT_ERRNO", 46, {dirfd, creat})}));
  expect_clean_exit(run_forked([&](int fd) {
    if (install(prog, fd)) return 1;
    if (::syscall(SYS_mkdirat, long{AT_FDCWD}, "/nonexistent-dir/x", 0755) == 0 || errno != 45)
      return report(fd, "mkdirat(AT_FDCWD) errno %d, want 45", errno);
    int dir = ::open("/", O_PATH | O_DIRECTORY);
    if (dir < 0) return report(fd, "open / failed: %d", errno);
    if (::mkdirat(dir, "nonexistent-dir/x", 0755) == 0 || errno != ENOENT)
      return report(fd, "mkdirat(dirfd) errno %d, want ENOENT", errno);
    long rc = ::syscall(SYS_openat, long{AT_FDCWD}, "/nonexistent-dir/x", O_CREAT | O_WRONLY, 0600);
    if (rc != -1 || errno != 46) return report(fd, "openat O_CREAT errno %d, want 46", errno);
    rc = ::syscall(SYS_openat, long{AT_FDCWD}, "/", O_RDONLY | O_DIRECTORY, 0);
    if (rc < 0) return report(fd, "openat without O_CREAT failed: %d", errno);
    return 0;
  }));
}

TEST(SeccompTest, ConditionsOnTheSameArgumentMatchAny) {
  // libseccomp refuses two comparisons of one argument in a rule; like runc they become
  // separate rules, so either value is denied.
  oci::SeccompArg a{0, 022, 0, "SCMP_CMP_EQ"};
  oci::SeccompArg b{0, 077, 0, "SCMP_CMP_EQ"};
  SeccompProgram prog =
      compile_ok(allow_by_default({rule({"umask"}, "SCMP_ACT_ERRNO", 44, {a, b})}));
  expect_clean_exit(run_forked([&](int fd) {
    if (install(prog, fd)) return 1;
    if (::syscall(SYS_umask, 022) != -1 || errno != 44) return report(fd, "umask(022) allowed");
    if (::syscall(SYS_umask, 077) != -1 || errno != 44) return report(fd, "umask(077) allowed");
    if (::syscall(SYS_umask, 027) < 0) return report(fd, "umask(027) denied: %d", errno);
    return 0;
  }));
}

// A deny-by-default profile allowing only what the child needs to report and exit.
oci::Seccomp deny_by_default(std::optional<uint32_t> default_errno) {
  oci::Seccomp s;
  s.default_action = "SCMP_ACT_ERRNO";
  s.default_errno_ret = default_errno;
  // Memory and signal-stack calls too, for sanitizer runtimes acting inside the child.
  s.syscalls = {rule({"write", "exit_group", "exit", "getpid", "mmap", "munmap", "madvise",
                      "sigaltstack", "rt_sigprocmask", "brk"},
                     "SCMP_ACT_ALLOW")};
  return s;
}

TEST(SeccompTest, DefaultErrnoIsEpermWithoutErrnoRet) {
  SeccompProgram prog = compile_ok(deny_by_default(std::nullopt));
  expect_clean_exit(run_forked([&](int fd) {
    if (install(prog, fd)) return 1;
    if (::syscall(SYS_getpid) <= 0) return report(fd, "getpid denied");
    if (::syscall(SYS_getppid) != -1 || errno != EPERM)
      return report(fd, "getppid errno %d, want EPERM", errno);
    return 0;
  }));
}

TEST(SeccompTest, DefaultErrnoRetIsUsed) {
  SeccompProgram prog = compile_ok(deny_by_default(42));
  expect_clean_exit(run_forked([&](int fd) {
    if (install(prog, fd)) return 1;
    if (::syscall(SYS_getppid) != -1 || errno != 42) return report(fd, "getppid errno %d", errno);
    return 0;
  }));
}

TEST(SeccompTest, KillProcessAndTrapDeliverSigsys) {
  for (const char* action : {"SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL", "SCMP_ACT_TRAP"}) {
    SeccompProgram prog = compile_ok(allow_by_default({rule({"uname"}, action)}));
    Forked f = run_forked([&](int fd) {
      if (install(prog, fd)) return 1;
      utsname u;
      ::uname(&u);
      return report(fd, "survived uname");
    });
    EXPECT_TRUE(WIFSIGNALED(f.status)) << action << ": " << f.report;
    if (WIFSIGNALED(f.status)) {
      EXPECT_EQ(WTERMSIG(f.status), SIGSYS) << action;
    }
  }
}

TEST(SeccompTest, UnknownSyscallNamesAreSkipped) {
  SeccompProgram prog = compile_ok(allow_by_default(
      {rule({"berth_no_such_syscall", "uname", "another_future_syscall"}, "SCMP_ACT_ERRNO", 42)}));
  expect_clean_exit(run_forked([&](int fd) {
    if (install(prog, fd)) return 1;
    utsname u;
    if (::uname(&u) == 0 || errno != 42) return report(fd, "uname not denied");
    return 0;
  }));
}

TEST(SeccompTest, RulesWithTheDefaultActionAreSkipped) {
  oci::Seccomp config = allow_by_default({rule({"getpid"}, "SCMP_ACT_ALLOW")});
  compile_ok(config);
  oci::Seccomp deny = deny_by_default(std::nullopt);
  deny.syscalls.push_back(rule({"getppid"}, "SCMP_ACT_ERRNO", EPERM));  // same as the default
  compile_ok(deny);
}

TEST(SeccompTest, ListenerIsReturnedForNotify) {
  oci::Seccomp config = allow_by_default({rule({"getppid"}, "SCMP_ACT_NOTIFY")});
  config.listener_path = "/run/berth-test.sock";
  config.flags = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
  SeccompProgram prog = compile_ok(config);
  EXPECT_TRUE(prog.use_listener);
  EXPECT_TRUE(prog.flags & SECCOMP_FILTER_FLAG_TSYNC);
  EXPECT_TRUE(prog.flags & SECCOMP_FILTER_FLAG_TSYNC_ESRCH);
  EXPECT_TRUE(prog.flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
  expect_clean_exit(run_forked([&](int fd) {
    ChildError err;
    int listener = apply_seccomp(prog, &err);
    if (listener <= 0) return report(fd, "apply_seccomp returned %d: %s", listener, err.text);
    if (::fcntl(listener, F_GETFD) < 0) return report(fd, "listener %d is not open", listener);
    return 0;
  }));
}

TEST(SeccompTest, FlagsAreCarriedToTheChild) {
  oci::Seccomp config = allow_by_default({rule({"uname"}, "SCMP_ACT_ERRNO", 42)});
  config.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                  "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
  SeccompProgram prog = compile_ok(config);
  EXPECT_EQ(prog.flags, SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW |
                            SECCOMP_FILTER_FLAG_TSYNC);  // WAIT_KILLABLE_RECV needs a listener
  expect_clean_exit(run_forked([&](int fd) {
    if (install(prog, fd)) return 1;
    utsname u;
    if (::uname(&u) == 0 || errno != 42) return report(fd, "uname not denied");
    return 0;
  }));
}

TEST(SeccompTest, MoreArchitecturesMeanALargerProgram) {
  oci::Seccomp native = allow_by_default({rule({"uname", "socketcall"}, "SCMP_ACT_ERRNO", 1)});
  native.architectures.clear();
  oci::Seccomp multi = native;
  multi.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"};
  EXPECT_LT(compile_ok(native).filter.size(), compile_ok(multi).filter.size());
}

TEST(SeccompTest, ErrorsNameTheField) {
  oci::Seccomp c =
      allow_by_default({rule({"uname"}, "SCMP_ACT_ERRNO"), rule({""}, "SCMP_ACT_ERRNO")});
  EXPECT_EQ(compile_error(c), "linux.seccomp.syscalls[1].names[0]: empty syscall name");

  c = allow_by_default({rule({"uname"}, "SCMP_ACT_FOO")});
  EXPECT_EQ(compile_error(c), "linux.seccomp.syscalls[0].action: unknown action \"SCMP_ACT_FOO\"");

  c = allow_by_default({rule({}, "SCMP_ACT_ERRNO")});
  EXPECT_EQ(compile_error(c), "linux.seccomp.syscalls[0].names: needs at least one syscall");

  c = allow_by_default({});
  c.architectures.push_back("SCMP_ARCH_VAX");
  EXPECT_EQ(compile_error(c),
            "linux.seccomp.architectures[3]: unknown architecture \"SCMP_ARCH_VAX\"");

  c = allow_by_default({rule({"uname"}, "SCMP_ACT_ERRNO", 1, {{0, 1, 0, "SCMP_CMP_SOMETIMES"}})});
  EXPECT_EQ(compile_error(c),
            "linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_SOMETIMES\"");

  c = allow_by_default({rule({"uname"}, "SCMP_ACT_ERRNO", 1, {{6, 1, 0, "SCMP_CMP_EQ"}})});
  EXPECT_EQ(compile_error(c), "linux.seccomp.syscalls[0].args[0].index: 6 is not below 6");

  c = allow_by_default({});
  c.flags = {"SECCOMP_FILTER_FLAG_FAST"};
  EXPECT_EQ(compile_error(c),
            "linux.seccomp.flags[0]: unknown seccomp flag \"SECCOMP_FILTER_FLAG_FAST\"");

  c = allow_by_default({});
  c.default_action = "SCMP_ACT_NOTIFY";
  EXPECT_EQ(compile_error(c),
            "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");

  c = allow_by_default({});
  c.default_action = "";
  EXPECT_EQ(compile_error(c), "linux.seccomp.defaultAction: missing");

  c = allow_by_default({rule({"uname"}, "SCMP_ACT_LOG", 1)});
  EXPECT_EQ(compile_error(c),
            "linux.seccomp.syscalls[0].errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an "
            "errno, not SCMP_ACT_LOG");

  c = allow_by_default({rule({"uname"}, "SCMP_ACT_ERRNO", 5000)});
  EXPECT_EQ(compile_error(c),
            "linux.seccomp.syscalls[0].errnoRet: 5000 is above the largest errno 4095");

  c = allow_by_default({rule({"getppid"}, "SCMP_ACT_NOTIFY")});
  EXPECT_EQ(compile_error(c),
            "linux.seccomp.listenerPath: required when an action is SCMP_ACT_NOTIFY");
}

TEST(SeccompTest, ApplyRefusesAnEmptyProgram) {
  ChildError err;
  EXPECT_EQ(apply_seccomp(SeccompProgram{}, &err), -1);
  EXPECT_EQ(err.err, EINVAL);
  EXPECT_STREQ(err.text, "install seccomp filter: empty program");
}

}  // namespace
}  // namespace berth::runtime
