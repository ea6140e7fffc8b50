// Child side of container setup: one step per subsystem in a fixed order, allocating nothing.
// Every failure travels to the runtime as a ChildError over the sync socket.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/syscalls.h"
#include "runtime/console.h"
#include "runtime/init_config.h"
#include "runtime/mount_ops.h"
#include "runtime/rootfs_setup.h"
#include "runtime/sync_protocol.h"

namespace berth::runtime {
namespace {

[[noreturn]] void die(int sync_fd, const ChildError& err) {
  sync_send_error(sync_fd, err);
  ::_exit(1);
}

int expect(int sync_fd, SyncType type, int32_t* value, ChildError* err) {
  SyncMessage msg;
  int r = sync_recv(sync_fd, &msg);
  if (r < 0) return child_fail(err, -r, "read from runtime");
  if (msg.type != type) return child_fail(err, EPROTO, "unexpected message %u from runtime", static_cast<unsigned>(msg.type));
  if (value) *value = msg.value;
  return 0;
}

int write_proc_file(const char* path, const char* value, ChildError* err, const char* what) {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return child_fail(err, errno, "%s: open %s", what, path);
  size_t len = std::strlen(value);
  ssize_t n = ::write(fd, value, len);
  int e = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(len)) return child_fail(err, n < 0 ? e : EIO, "%s: write \"%s\" to %s", what, value, path);
  return 0;
}

int run_container_hooks(const std::vector<PreparedHook>& hooks, const char* phase,
                        const std::string& fmt, int host_pid, ChildError* err) {
  if (hooks.empty()) return 0;
  char state[8192];
  std::snprintf(state, sizeof(state), fmt.c_str(), host_pid);
  for (size_t i = 0; i < hooks.size(); ++i) {
    if (run_hook_in_child(hooks[i], phase, static_cast<int>(i), state, err) < 0) return -1;
  }
  return 0;
}

// Sets up the container up to the point where it waits for `start`.
int setup_container(const InitConfig& c, int* host_pid, ChildError* err) {
  if (expect(c.sync_fd, SyncType::Go, host_pid, err) < 0) return -1;
  if (!c.ns.two_stage() && join_namespaces(c.ns, CLONE_NEWPID, err) < 0) return -1;
  if (c.ns.create_cgroup && ::unshare(CLONE_NEWCGROUP) != 0)
    return child_fail(err, errno, "create cgroup namespace");
  if (c.ns.create_time) {
    if (::unshare(CLONE_NEWTIME) != 0) return child_fail(err, errno, "create time namespace");
    if (!c.ns.time_offsets.empty() &&
        write_proc_file("/proc/self/timens_offsets", c.ns.time_offsets.c_str(), err, "linux.timeOffsets") < 0)
      return -1;
  }

  KernelMountOps ops;
  if (c.ns.has_mount_ns && prepare_rootfs(c.rootfs, ops, err) < 0) return -1;
  if (c.parent_hooks) {
    if (sync_send(c.sync_fd, SyncType::HooksPoint) < 0) return child_fail(err, errno, "write to runtime");
    if (expect(c.sync_fd, SyncType::HooksDone, nullptr, err) < 0) return -1;
  }
  if (run_container_hooks(c.create_container_hooks, "createContainer", c.state_creating_fmt, *host_pid, err) < 0)
    return -1;
  if (c.set_hostname && ::sethostname(c.hostname.c_str(), c.hostname.size()) != 0)
    return child_fail(err, errno, "hostname: sethostname(%s)", c.hostname.c_str());
  if (c.set_domainname && ::setdomainname(c.domainname.c_str(), c.domainname.size()) != 0)
    return child_fail(err, errno, "domainname: setdomainname(%s)", c.domainname.c_str());
  if (c.ns.has_mount_ns && enter_rootfs(c.rootfs, ops, err) < 0) return -1;

  if (c.process.terminal) {
    if (c.console_fd < 0) return child_fail(err, EINVAL, "process.terminal is true but there is no console socket");
    if (setup_console(c.console_fd, c.process.console_size ? &*c.process.console_size : nullptr,
                      c.ns.has_mount_ns, err) < 0)
      return -1;
    ::close(c.console_fd);
  }
  for (const auto& [path, value] : c.sysctls) {
    if (write_proc_file(path.c_str(), value.c_str(), err, "linux.sysctl") < 0) return -1;
  }
  if (c.ns.has_mount_ns && finalize_rootfs(c.rootfs, ops, err) < 0) return -1;
  if (c.personality >= 0 && ::personality(static_cast<unsigned long>(c.personality)) < 0)
    return child_fail(err, errno, "linux.personality: personality");

  char exe[4096];
  if (find_executable(c.process, exe, sizeof(exe), err) < 0) return -1;
  return 0;
}

}  // namespace

void init_main(const InitConfig& c) {
  ChildError err;
  int host_pid = 0;
  if (setup_container(c, &host_pid, &err) < 0) die(c.sync_fd, err);
  if (sync_send(c.sync_fd, SyncType::Ready) < 0) ::_exit(1);
  ::close(c.sync_fd);

  // Wait for `start`: it connects to the exec socket. What goes wrong from here on is written
  // to that connection, since the runtime that created us may be gone.
  int conn;
  do conn = ::accept4(c.exec_listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  while (conn < 0 && errno == EINTR);
  if (conn < 0) ::_exit(1);
  char go;
  if (::read(conn, &go, 1) != 1) ::_exit(1);
  ::close(c.exec_listen_fd);

  if (run_container_hooks(c.start_container_hooks, "startContainer", c.state_created_fmt, host_pid, &err) == 0) {
    sys::reset_signals();
    if (c.seccomp_agent) {
      AgentHandoff agent{&*c.seccomp_agent, host_pid};
      exec_prepared_process(c.process, &err, hand_listener_to_agent, &agent);
    } else {
      exec_prepared_process(c.process, &err);
    }
  }
  (void)!::write(conn, &err, sizeof(err));
  ::_exit(127);
}

void stage1_main(const InitConfig& c) {
  ChildError err;
  int unused;
  if (expect(c.sync_fd, SyncType::Go, &unused, &err) < 0) die(c.sync_fd, err);
  if (join_namespaces(c.ns, 0, &err) < 0) die(c.sync_fd, err);
  if (c.ns.create_user) {
    if (::unshare(CLONE_NEWUSER) != 0) die(c.sync_fd, (child_fail(&err, errno, "create user namespace"), err));
    if (sync_send(c.sync_fd, SyncType::MapRequest) < 0) ::_exit(1);
    if (expect(c.sync_fd, SyncType::MapsWritten, nullptr, &err) < 0) die(c.sync_fd, err);
  }
  // Become root of the (new or joined) user namespace, when root is mapped there.
  if (sys::setresgid_this_thread(0, 0, 0) != 0 && errno != EINVAL)
    die(c.sync_fd, (child_fail(&err, errno, "setresgid(0)"), err));
  if (sys::setresuid_this_thread(0, 0, 0) != 0 && errno != EINVAL)
    die(c.sync_fd, (child_fail(&err, errno, "setresuid(0)"), err));
  if (c.ns.create_flags && ::unshare(static_cast<int>(c.ns.create_flags)) != 0)
    die(c.sync_fd, (child_fail(&err, errno, "create namespaces (flags 0x%lx)", c.ns.create_flags), err));
  pid_t init = sys::clone_fork(CLONE_PARENT);
  if (init < 0) die(c.sync_fd, (child_fail(&err, errno, "clone container init"), err));
  if (init == 0) init_main(c);
  sync_send(c.sync_fd, SyncType::InitPid, init);
  ::_exit(0);
}

}  // namespace berth::runtime
