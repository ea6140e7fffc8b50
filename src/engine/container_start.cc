// ContainerService: the verbs that talk to a container's monitor or its processes — start
// (which spawns the monitor), attach, stop, kill, restart, wait and exec.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "base/fs.h"
#include "base/log.h"
#include "base/process.h"
#include "base/scope_guard.h"
#include "base/strings.h"
#include "engine/container_internal.h"
#include "engine/container_names.h"
#include "engine/container_service.h"
#include "engine/container_spec.h"
#include "engine/container_user.h"
#include "engine/monitor_internal.h"
#include "engine/monitor_protocol.h"
#include "engine/network_service.h"
#include "runtime/console.h"
#include "runtime/runtime.h"
#include "runtime/tty_proxy.h"
#include "store/container_records.h"

namespace berth::engine {
namespace {

// The default stop timeout, as Docker's.
constexpr int kDefaultStopTimeout = 10;

// Starts `berth monitor ROOT RUNROOT ID` in its own session with its end of a new control
// socket as fd 3, and returns ours. It waits for its first client's messages (up to "go")
// before it touches anything, and exits if the socket closes first; it opens the container's
// monitor.log as its stderr itself, as the container may not exist yet.
Result<UniqueFd> spawn_monitor(const std::string& self, const EngineOptions& options,
                               const std::string& id) {
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0)
    return FailErrno(errno, "socketpair");
  UniqueFd ours(sp[0]), theirs(sp[1]);
  TRY(spawn_detached({self, "monitor", options.root, options.runroot, id}, {theirs.get()},
                     "/dev/null"));
  return ours;
}

// Sends the streams to attach and "go".
Result<void> send_streams(int sock, const AttachStreams* streams) {
  if (streams) {
    if (streams->in >= 0) TRY(send_message(sock, "stdin", streams->in));
    if (streams->out >= 0) TRY(send_message(sock, "stdout", streams->out));
    if (streams->err >= 0) TRY(send_message(sock, "stderr", streams->err));
  }
  return send_message(sock, "go");
}

// Reads the monitor's answer to a start: the pid, or the error it reports.
Result<void> read_start_reply(int sock, const std::string& id) {
  auto reply = TRY(receive_message(sock));
  if (!reply) {
    return Fail(ErrorCode::Internal, "the monitor of {} exited before the container started; see {}",
                short_container_id(id), "its monitor.log");
  }
  if (reply->verb() == "started" || reply->verb() == "running") return {};
  if (reply->verb() == "error") {
    std::string errno_text = reply->word(0);
    int err = std::atoi(errno_text.c_str());
    std::string message = reply->text.substr(std::min(reply->text.size(), std::string_view("error ").size() + errno_text.size() + 1));
    return Err(Error(ErrorCode::Internal, message, err));
  }
  return Fail(ErrorCode::Internal, "unexpected message from the monitor: {}", reply->text);
}

}  // namespace

int exit_code_for_start_error(const Error& error) {
  switch (error.sys_errno()) {
    case ENOENT: return 127;
    case EACCES:
    case ENOEXEC:
    case EISDIR:
    case EPERM: return 126;
    default: return 125;
  }
}

Result<int> AttachSession::wait_exit() {
  for (;;) {
    auto m = TRY(receive_message(control_.get()));
    if (!m) return Fail(ErrorCode::Unavailable, "the container's monitor went away");
    if (m->verb() == "exit") return std::atoi(m->word(0).c_str());
  }
}

Result<void> AttachSession::signal(int sig) { return send_message(control_.get(), fmt::format("signal {}", sig)); }

Result<void> AttachSession::resize(unsigned rows, unsigned cols) {
  return send_message(control_.get(), fmt::format("resize {} {}", rows, cols));
}

Result<EarlyMonitor> ContainerService::spawn_early_monitor(const EngineOptions& options,
                                                           std::string self) {
  if (self.empty()) self = TRY_CTX("find the berth binary", read_link("/proc/self/exe"));
  EarlyMonitor early;
  early.id = new_container_id();
  early.control = TRY(spawn_monitor(self, options, early.id));
  return early;
}

Result<std::optional<AttachSession>> ContainerService::start(const std::string& ref,
                                                             const AttachStreams* attach,
                                                             EarlyMonitor* early) {
  Container c = TRY(get(ref));
  if (c.running()) {
    if (!attach) return std::optional<AttachSession>{};
    return std::optional<AttachSession>{TRY(this->attach(c.id, *attach))};
  }
  if (c.state.status == ContainerStatus::Removing || c.state.status == ContainerStatus::Dead)
    return Fail(ErrorCode::Conflict, "cannot start container {}: it is {}", c.id,
                to_string(c.state.status));
  ContainerPaths paths(options_, c.id);
  std::string what = fmt::format("start container {}", short_container_id(c.id));
  ContainerNetworking net = TRY_CTX(what, networks_->attach(c, paths.dir));
  auto release = defer([&] { (void)networks_->detach(c.id); });
  TRY(update_state(c.id, [&](ContainerState& s) {
    s.networks = net.endpoints;
    s.ports = net.ports;
  }));
  UniqueFd ours = early && early->id == c.id ? std::move(early->control)
                                             : TRY(spawn_monitor(self_, options_, c.id));
  // The monitor's setup starts from this record rather than reading berth.db first (which it
  // still does if the record is too large for one message).
  if (auto record = records_->get(c.id); record && *record)
    (void)send_message(ours.get(), "container " + encode_record(**record));
  // The sockets holding the published host ports: the monitor keeps them while it lives.
  for (const auto& fd : net.port_reservations) TRY(send_message(ours.get(), "reserve", fd.get()));
  net.port_reservations.clear();
  TRY(send_streams(ours.get(), attach));
  auto started = read_start_reply(ours.get(), c.id);
  if (!started) {
    (void)update_state(c.id, [&](ContainerState& s) {
      s.networks.clear();
      s.ports.clear();
    });
    return Err(started.error().context(what));
  }
  release.dismiss();
  if (!attach) return std::optional<AttachSession>{};
  return std::optional<AttachSession>{AttachSession(std::move(ours))};
}

Result<AttachSession> ContainerService::attach(const std::string& ref, const AttachStreams& streams) {
  Container c = TRY(get(ref));
  if (!c.running()) return Fail(ErrorCode::Conflict, "You cannot attach to a stopped container, start it first");
  if (c.state.status == ContainerStatus::Paused)
    return Fail(ErrorCode::Conflict, "You cannot attach to a paused container, unpause it first");
  UniqueFd sock = TRY(connect_monitor_socket(container_dir(c.id)));
  TRY(send_streams(sock.get(), &streams));
  return AttachSession(std::move(sock));
}

Result<void> ContainerService::wait_monitor_exit(const std::string& id, std::optional<std::chrono::milliseconds> timeout) {
  ContainerPaths paths(options_, id);
  UniqueFd fd(::open(paths.lock.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) return {};
  if (!timeout) {
    while (::flock(fd.get(), LOCK_SH) != 0) {
      if (errno != EINTR) return FailErrno(errno, "wait for the monitor of {}", short_container_id(id));
    }
    return {};
  }
  auto deadline = std::chrono::steady_clock::now() + *timeout;
  auto pause = std::chrono::microseconds(500);
  while (::flock(fd.get(), LOCK_SH | LOCK_NB) != 0) {
    if (std::chrono::steady_clock::now() >= deadline)
      return Fail(ErrorCode::Unavailable, "container {} did not stop in time", short_container_id(id));
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(10000));
  }
  return {};
}

Result<void> ContainerService::kill(const std::string& ref, const std::string& signal) {
  Container c = TRY(get(ref));
  int sig = signal.empty() ? SIGKILL : TRY(runtime::parse_signal(signal));
  if (!c.running() || c.state.status == ContainerStatus::Restarting) {
    return Fail(ErrorCode::Conflict, "cannot kill container: {}: container {} is not running", ref, c.id);
  }
  if (sig == SIGKILL || sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) {
    TRY(update_state(c.id, [](ContainerState& s) { s.manually_stopped = true; }));
    if (auto sock = connect_monitor_socket(container_dir(c.id))) (void)send_message(sock->get(), "stop");
  }
  runtime::Runtime rt = ContainerPaths(options_, c.id).runtime();
  if (c.state.status == ContainerStatus::Paused && sig == SIGKILL) (void)rt.resume(c.id);
  TRY_CTX("kill " + short_container_id(c.id), rt.kill(c.id, sig, false));
  return {};
}

Result<void> ContainerService::stop(const std::string& ref, std::optional<int> timeout_seconds,
                                    const std::string& signal_flag) {
  Container c = TRY(get(ref));
  if (!c.running()) return {};
  int timeout = timeout_seconds.value_or(c.config.stop_timeout.value_or(kDefaultStopTimeout));
  std::string signal = !signal_flag.empty()          ? signal_flag
                       : !c.config.stop_signal.empty() ? c.config.stop_signal
                                                       : c.image_config.config.stop_signal;
  int sig = signal.empty() ? SIGTERM : TRY(runtime::parse_signal(signal));
  TRY(update_state(c.id, [](ContainerState& s) { s.manually_stopped = true; }));
  // A monitor waiting to restart the container hears "stop" and exits.
  if (auto sock = connect_monitor_socket(container_dir(c.id))) (void)send_message(sock->get(), "stop");
  runtime::Runtime rt = ContainerPaths(options_, c.id).runtime();
  if (c.state.status == ContainerStatus::Paused) (void)rt.resume(c.id);
  if (c.state.status != ContainerStatus::Restarting) (void)rt.kill(c.id, sig, false);
  if (timeout < 0) return wait_monitor_exit(c.id, std::nullopt);
  if (sig == SIGKILL) return wait_monitor_exit(c.id, std::chrono::seconds(30));
  if (wait_monitor_exit(c.id, std::chrono::seconds(timeout))) return {};
  log::debug("container {} did not stop within {} s; killing it", c.id, timeout);
  (void)rt.kill(c.id, SIGKILL, true);
  return wait_monitor_exit(c.id, std::chrono::seconds(30));
}

Result<void> ContainerService::restart(const std::string& ref, std::optional<int> timeout_seconds) {
  Container c = TRY(get(ref));
  TRY(stop(c.id, timeout_seconds));
  TRY(start(c.id));
  return {};
}

Result<int> ContainerService::wait(const std::string& ref) {
  Container c = TRY(get(ref));
  if (c.running()) TRY(wait_monitor_exit(c.id, std::nullopt));
  auto record = TRY(load(c.id));
  TRY(reconcile(record));
  return record.state.exit_code;
}

Result<int> ContainerService::exec(const std::string& ref, const ExecRequest& request, const AttachStreams& streams) {
  Container c = TRY(get(ref));
  if (c.state.status == ContainerStatus::Paused)
    return Fail(ErrorCode::Conflict, "Container {} is paused, unpause the container before exec", c.id);
  if (c.state.status != ContainerStatus::Running) return Fail(ErrorCode::Conflict, "Container {} is not running", c.id);
  if (request.cmd.empty()) return Fail(ErrorCode::InvalidArgument, "exec: no command given");
  ContainerPaths paths(options_, c.id);
  runtime::Runtime rt = paths.runtime();
  oci::Spec spec = TRY(rt.config(c.id));
  runtime::ExecOptions opts;
  opts.process = *spec.process;
  oci::Process& p = opts.process;
  p.args = request.cmd;
  p.terminal = request.tty;
  if (!request.workdir.empty()) p.cwd = request.workdir;
  if (request.user) {
    UniqueFd root = TRY(open_fd(fmt::format("/proc/{}/root", c.state.pid), O_PATH | O_DIRECTORY | O_CLOEXEC));
    auto user = TRY(resolve_container_user(root.get(), *request.user, c.config.group_add));
    p.user.uid = user.uid;
    p.user.gid = user.gid;
    p.user.additional_gids = user.additional_gids;
  }
  for (const auto& kv : request.env) {
    std::string key = kv.substr(0, kv.find('='));
    std::erase_if(p.env, [&](const std::string& e) { return e.substr(0, e.find('=')) == key; });
    p.env.push_back(kv);
  }
  if (request.tty && std::none_of(p.env.begin(), p.env.end(), [](auto& e) { return e.starts_with("TERM="); }))
    p.env.push_back("TERM=xterm");
  if (request.privileged && p.capabilities) {
    auto all = TRY(resolve_capability_flags({"ALL"}, {}));
    p.capabilities->bounding = p.capabilities->effective = p.capabilities->permitted = all;
  }
  // The process inherits this one's stdio: the given streams, /dev/null when detached.
  StdioRedirect redirect(request.interactive && !request.detach ? streams.in : -1,
                         request.detach ? -1 : (streams.out >= 0 ? streams.out : STDOUT_FILENO),
                         request.detach ? -1 : (streams.err >= 0 ? streams.err : STDERR_FILENO));
  if (!request.tty) {
    opts.detach = request.detach;
    return rt.exec(c.id, opts);
  }
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0) return FailErrno(errno, "socketpair");
  UniqueFd console_ours(sp[0]), console_theirs(sp[1]);
  opts.console_socket_fd = console_theirs.get();
  opts.detach = true;
  pid_t pid = -1;
  opts.pid = &pid;
  TRY(rt.exec(c.id, opts));
  console_theirs.reset();
  int master_fd = runtime::recv_fd(console_ours.get());
  if (master_fd < 0) return FailErrno(-master_fd, "exec: receive the terminal from the runtime");
  UniqueFd master(master_fd);
  redirect.restore();
  if (request.detach) return 0;
  runtime::copy_window_size(master.get());
  if (auto r = runtime::proxy_terminal(master.get()); !r) log::warn("{}", r.error().what());
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return FailErrno(errno, "wait for the exec'd process");
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace berth::engine
