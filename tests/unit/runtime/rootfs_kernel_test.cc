// prepare_rootfs + enter_rootfs + finalize_rootfs with the real kernel, as root, in a forked
// child with its own mount and PID namespaces over a busybox rootfs. The container's pid 1
// checks what it sees and reports through its exit code and a pipe.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "base/fs.h"
#include "runtime/mount_ops.h"
#include "runtime/rootfs_setup.h"

namespace berth::runtime {
namespace {

constexpr const char* kBusybox = "/bin/busybox";

// Writes a line to fd (the report pipe) and returns code, for `return fail(...)`.
__attribute__((format(printf, 3, 4))) int report(int fd, int code, const char* fmt, ...) {
  char buf[600];
  va_list ap;
  va_start(ap, fmt);
  int n = std::vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (n > 0) (void)!::write(fd, buf, std::min(static_cast<size_t>(n), sizeof(buf) - 1));
  return code;
}

bool is_null_device(const char* path) {
  struct stat st;
  return ::stat(path, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 &&
         minor(st.st_rdev) == 3;
}

bool readonly_fs(const char* path) {
  struct statvfs st;
  return ::statvfs(path, &st) == 0 && (st.f_flag & ST_RDONLY);
}

// What the container's pid 1 checks after setup; 0, or the number of the first failed check.
int check_inside(int out) {
  char buf[256];
  ssize_t n;
  if (::getpid() != 1) return report(out, 10, "pid is %d, not 1", ::getpid());
  n = ::readlink("/proc/self", buf, sizeof(buf) - 1);
  if (n < 0 || (buf[n] = '\0', std::strcmp(buf, "1") != 0))
    return report(out, 11, "/proc/self is not 1");
  if (::access("/bin/busybox", X_OK) != 0) return report(out, 12, "no /bin/busybox");
  if (::access("/usr", F_OK) == 0 || ::access("/work", F_OK) == 0)
    return report(out, 13, "the host's tree is visible");
  if (!is_null_device("/dev/null")) return report(out, 14, "/dev/null is not the null device");
  n = ::readlink("/dev/fd", buf, sizeof(buf) - 1);
  if (n < 0 || (buf[n] = '\0', std::strcmp(buf, "/proc/self/fd") != 0))
    return report(out, 15, "/dev/fd link");
  n = ::readlink("/dev/ptmx", buf, sizeof(buf) - 1);
  if (n < 0 || (buf[n] = '\0', std::strcmp(buf, "pts/ptmx") != 0))
    return report(out, 16, "/dev/ptmx link");
  if (::access("/dev/pts/ptmx", F_OK) != 0) return report(out, 17, "no devpts");
  if (!readonly_fs("/sys")) return report(out, 18, "/sys is writable");
  if (!readonly_fs("/proc/sys")) return report(out, 19, "/proc/sys (readonlyPaths) is writable");
  if (::access("/proc/kcore", F_OK) == 0 && !is_null_device("/proc/kcore"))
    return report(out, 20, "/proc/kcore is not masked");
  if (::mkdir("/newdir", 0755) == 0 || errno != EROFS)
    return report(out, 21, "the root is writable (errno %d)", errno);
  int fd = ::open("/data/hello", O_RDONLY);
  n = fd >= 0 ? ::read(fd, buf, sizeof(buf)) : -1;
  if (fd >= 0) ::close(fd);
  if (n != 6) return report(out, 22, "/data/hello not readable");
  if (::open("/data/new", O_CREAT | O_WRONLY, 0644) >= 0 || errno != EROFS)
    return report(out, 23, "ro bind is writable");
  if (::access("/etc/hostname", F_OK) != 0) return report(out, 24, "tmpcopyup lost /etc/hostname");
  fd = ::open("/etc/new", O_CREAT | O_WRONLY, 0644);
  if (fd < 0) return report(out, 25, "tmpfs /etc not writable: %s", std::strerror(errno));
  ::close(fd);
  if (::access("/sys/fs/cgroup/memory", F_OK) != 0 &&
      ::access("/sys/fs/cgroup/cgroup.controllers", F_OK) != 0)
    return report(out, 26, "no cgroup filesystem");
  if (!readonly_fs("/sys/fs/cgroup")) return report(out, 27, "/sys/fs/cgroup is writable");
  if (::access("/.oldroot", F_OK) == 0) return report(out, 28, "old root left behind");
  return 0;
}

[[noreturn]] void container_init(const RootfsPlan& plan, int out) {
  KernelMountOps ops;
  ChildError err;
  if (prepare_rootfs(plan, ops, &err) < 0 || enter_rootfs(plan, ops, &err) < 0 ||
      finalize_rootfs(plan, ops, &err) < 0) {
    ::_exit(report(out, 2, "setup: %s: %s", err.text, std::strerror(err.err)));
  }
  int rc = check_inside(out);
  if (rc != 0) ::_exit(rc);
  // Finally the rootfs must run a program: busybox's shell, looking around.
  ::execl("/bin/busybox", "sh", "-c", "test -c /dev/null && test -d /proc/1 && ls / >/dev/null",
          nullptr);
  ::_exit(report(out, 3, "exec busybox: %s", std::strerror(errno)));
}

class RootfsKernelTest : public testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: creates mount and PID namespaces and mounts";
    if (::access(kBusybox, X_OK) != 0)
      GTEST_SKIP() << "needs /bin/busybox (Debian's busybox-static)";
    char tmpl[] = "/tmp/berth-kernel-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    bundle_ = tmpl;
    ASSERT_TRUE(make_dirs(bundle_ + "/rootfs/bin").has_value());
    ASSERT_TRUE(make_dirs(bundle_ + "/rootfs/etc").has_value());
    ASSERT_TRUE(make_dirs(bundle_ + "/data").has_value());
    ASSERT_TRUE(write_file(bundle_ + "/data/hello", "hello\n").has_value());
    ASSERT_TRUE(write_file(bundle_ + "/rootfs/etc/hostname", "box\n").has_value());
    auto bin = read_file(kBusybox);
    ASSERT_TRUE(bin.has_value());
    ASSERT_TRUE(write_file(bundle_ + "/rootfs/bin/busybox", *bin, 0755).has_value());
  }
  void TearDown() override {
    if (!bundle_.empty()) (void)remove_all(bundle_);
  }
  void run_container(bool cgroupns);
  std::string bundle_;
};

// Plans a container over the busybox rootfs, runs its setup as pid 1 of new mount and PID
// (and with cgroupns, cgroup) namespaces, and expects every check inside to pass.
void RootfsKernelTest::run_container(bool cgroupns) {
  oci::Spec spec;
  spec.root = oci::Root{"rootfs", true};
  spec.mounts = {
      {"/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}, {}, {}},
      {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}, {}, {}},
      {"/dev/pts",
       "devpts",
       "devpts",
       {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"},
       {},
       {}},
      {"/dev/shm",
       "tmpfs",
       "shm",
       {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"},
       {},
       {}},
      {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}, {}, {}},
      {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}, {}, {}},
      {"/sys/fs/cgroup",
       "cgroup",
       "cgroup",
       {"nosuid", "noexec", "nodev", "relatime", "ro"},
       {},
       {}},
      {"/data", "bind", bundle_ + "/data", {"rbind", "ro", "nosuid", "rprivate"}, {}, {}},
      {"/etc", "tmpfs", "tmpfs", {"tmpcopyup", "nosuid", "nodev"}, {}, {}},
  };
  spec.linux.emplace();
  spec.linux->namespaces = {{oci::NamespaceType::Pid, ""}, {oci::NamespaceType::Mount, ""}};
  if (cgroupns) spec.linux->namespaces.push_back({oci::NamespaceType::Cgroup, ""});
  spec.linux->masked_paths = {"/proc/kcore", "/proc/acpi", "/sys/firmware", "/proc/nonexistent"};
  spec.linux->readonly_paths = {"/proc/sys", "/proc/sysrq-trigger"};
  auto plan = plan_rootfs(spec, bundle_, PlanOptions{});
  ASSERT_TRUE(plan.has_value()) << plan.error().what();

  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(pipe_fds[0]);
    if (::unshare(CLONE_NEWNS | CLONE_NEWPID | (cgroupns ? CLONE_NEWCGROUP : 0)) != 0)
      ::_exit(report(pipe_fds[1], 4, "unshare: %s", std::strerror(errno)));
    pid_t init = ::fork();
    if (init < 0) ::_exit(5);
    if (init == 0) container_init(*plan, pipe_fds[1]);
    int status;
    while (::waitpid(init, &status, 0) < 0 && errno == EINTR) {
    }
    ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  }
  ::close(pipe_fds[1]);
  std::string text;
  char buf[512];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buf, sizeof(buf))) > 0) text.append(buf, static_cast<size_t>(n));
  ::close(pipe_fds[0]);
  int status;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << text;

  // Nothing leaked into the host's mount namespace.
  auto mounts = read_file("/proc/self/mountinfo");
  ASSERT_TRUE(mounts.has_value());
  EXPECT_EQ(mounts->find(bundle_), std::string::npos);
}

TEST_F(RootfsKernelTest, ContainerSeesItsRootfs) { run_container(false); }

// Fresh cgroup mounts (v1 hierarchies or cgroup2) rooted at the container's own cgroup.
TEST_F(RootfsKernelTest, ContainerSeesItsRootfsWithCgroupNamespace) { run_container(true); }

}  // namespace
}  // namespace berth::runtime
