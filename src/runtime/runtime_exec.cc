// Runtime::exec: a new process in every namespace and the cgroup of a running container.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "base/fs.h"
#include "base/log.h"
#include "base/process.h"
#include "base/scope_guard.h"
#include "base/syscalls.h"
#include "runtime/console.h"
#include "runtime/process_setup.h"
#include "runtime/runtime_internal.h"
#include "runtime/seccomp_agent.h"
#include "runtime/sync_protocol.h"

namespace berth::runtime {
namespace {

struct ExecNamespace {
  const char* proc_name;
  int flag;
};

// Join order: user first (it grants the rights for the rest), pid is joined by the parent.
constexpr ExecNamespace kExecNamespaces[] = {
    {"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS},        {"net", CLONE_NEWNET}, {"ipc", CLONE_NEWIPC},
    {"uts", CLONE_NEWUTS},   {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
};

struct JoinFd {
  UniqueFd fd;
  int flag;
};

bool same_namespace(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

[[noreturn]] void exec_child(const std::vector<JoinFd>& joins, const PreparedProcess& proc, int sync_fd,
                             int console_fd, const std::optional<SeccompAgent>& agent) {
  ChildError err;
  SyncMessage msg;
  if (sync_recv(sync_fd, &msg) < 0 || msg.type != SyncType::Go) ::_exit(1);
  AgentHandoff agent_ctx{agent ? &*agent : nullptr, msg.value};
  for (const auto& j : joins) {
    if (::setns(j.fd.get(), j.flag) != 0) {
      child_fail(&err, errno, "join namespace (flag 0x%x)", j.flag);
      sync_send_error(sync_fd, err);
      ::_exit(1);
    }
  }
  if (proc.terminal) {
    if (setup_console(console_fd, proc.console_size ? &*proc.console_size : nullptr, false, &err) < 0) {
      sync_send_error(sync_fd, err);
      ::_exit(1);
    }
    ::close(console_fd);
  }
  sys::reset_signals();
  if (agent) exec_prepared_process(proc, &err, hand_listener_to_agent, &agent_ctx);
  else exec_prepared_process(proc, &err);
  sync_send_error(sync_fd, err);
  ::_exit(127);
}

}  // namespace

Result<int> Runtime::exec(const std::string& id, const ExecOptions& opts) {
  StateStore store(options_.root);
  ContainerRecord record = TRY(store.load(id));
  auto cgroup = TRY(this->cgroup(id, record.cgroups_path));
  std::string status = live_status(record, cgroup.get());
  if (status != "running" && status != "created")
    return Fail(ErrorCode::Conflict, "cannot exec in container \"{}\": it is {}", id, status);
  oci::Spec spec = TRY(config(id));
  std::vector<std::string> warnings;
  std::optional<oci::Seccomp> seccomp = spec.linux ? spec.linux->seccomp : std::nullopt;
  PreparedProcess proc = TRY(prepare_process(opts.process, seccomp, options_.seccomp_cache, &warnings));
  for (const auto& w : warnings) log::warn("{}", w);

  pid_t init = record.state.pid;
  UniqueFd init_pidfd(sys::pidfd_open(init));
  if (!init_pidfd || !process_matches(init, record.init_start_time))
    return Fail(ErrorCode::Conflict, "container \"{}\" is not running", id);

  std::vector<JoinFd> joins;
  for (const auto& ns : kExecNamespaces) {
    std::string theirs = fmt::format("/proc/{}/ns/{}", init, ns.proc_name);
    std::string ours = fmt::format("/proc/self/ns/{}", ns.proc_name);
    if (!path_exists(theirs) || same_namespace(theirs, ours)) continue;
    UniqueFd fd = TRY(open_fd(theirs, O_RDONLY));
    joins.push_back(JoinFd{std::move(fd), ns.flag});
  }
  std::string their_pid = fmt::format("/proc/{}/ns/pid", init);
  UniqueFd pidns, own_pidns;
  if (!same_namespace(their_pid, "/proc/self/ns/pid")) {
    pidns = TRY(open_fd(their_pid, O_RDONLY));
    own_pidns = TRY(open_fd("/proc/self/ns/pid", O_RDONLY));
  }

  std::optional<SeccompAgent> agent;
  if (proc.seccomp && proc.seccomp->use_listener) {
    agent = TRY(connect_seccomp_agent(*seccomp, record.state));
  }

  UniqueFd console;
  if (proc.terminal && opts.console_socket_fd >= 0) {
    console.reset(::fcntl(opts.console_socket_fd, F_DUPFD_CLOEXEC, 3));
    if (!console) return FailErrno(errno, "dup the console socket");
  } else if (proc.terminal) {
    if (opts.console_socket.empty())
      return Fail(ErrorCode::InvalidArgument, "--tty needs a --console-socket to receive the terminal");
    console = TRY(connect_console_socket(opts.console_socket));
  }
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0) return FailErrno(errno, "socketpair");
  UniqueFd parent_end(sp[0]), child_end(sp[1]);

  if (pidns && ::setns(pidns.get(), CLONE_NEWPID) != 0) return FailErrno(errno, "join the pid namespace of {}", id);
  pid_t pid = sys::clone_fork(0);
  int clone_errno = errno;
  if (pid == 0) exec_child(joins, proc, child_end.get(), console.get(), agent);
  if (own_pidns && ::setns(own_pidns.get(), CLONE_NEWPID) != 0) log::warn("return to own pid namespace failed");
  if (pid < 0) return FailErrno(clone_errno, "clone exec process");
  child_end.reset();
  console.reset();
  auto kill_child = defer([&] {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  });
  TRY_CTX("add the process to the container's cgroup", cgroup->add_process(pid));
  TRY(sync_reply(parent_end.get(), SyncType::Go, pid));
  // The sync socket closes on exec: EOF means the process runs, a message says why not.
  SyncMessage msg;
  int r = sync_recv(parent_end.get(), &msg);
  if (r == 0 && msg.type == SyncType::Error) {
    msg.error.text[sizeof(msg.error.text) - 1] = '\0';
    return Err(SysError(msg.error.err, msg.error.text).context("exec in " + id));
  }
  if (!opts.pid_file.empty()) TRY_CTX("--pid-file", write_file_atomic(absolute_path(opts.pid_file), std::to_string(pid)));
  kill_child.dismiss();
  if (opts.pid) *opts.pid = pid;
  if (opts.detach) return 0;
  int wait_status = 0;
  while (::waitpid(pid, &wait_status, 0) < 0) {
    if (errno != EINTR) return FailErrno(errno, "wait for exec process");
  }
  return exit_code_from_status(wait_status);
}

}  // namespace berth::runtime
