// Runtime::create, start and run: the runtime spec's create/start state machine.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/clock.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/process.h"
#include "base/scope_guard.h"
#include "base/syscalls.h"
#include "runtime/console.h"
#include "runtime/hooks.h"
#include "runtime/init_config.h"
#include "runtime/runtime_internal.h"
#include "runtime/sync_protocol.h"
#include "runtime/tty_proxy.h"

namespace berth::runtime {
namespace {

volatile sig_atomic_t g_forward_pid = 0;

void forward_signal(int sig) {
  if (g_forward_pid > 0) ::kill(g_forward_pid, sig);
}

std::string hook_state(const oci::State& base, const char* status) {
  oci::State st = base;
  st.status = status;
  return oci::state_to_json(st, false);
}

// Clones the first setup process: the init itself, or stage 1 when a user namespace is
// involved. Joining a pid namespace by path happens here, for the children to come.
Result<pid_t> clone_first(const InitConfig& cfg) {
  if (cfg.ns.two_stage()) return sys::clone_fork(0);
  UniqueFd own_pidns;
  for (const auto& j : cfg.ns.joins) {
    if (j.type != oci::NamespaceType::Pid) continue;
    own_pidns.reset(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
    if (!own_pidns) return FailErrno(errno, "open /proc/self/ns/pid");
    if (::setns(j.fd.get(), CLONE_NEWPID) != 0) return FailErrno(errno, "join pid namespace");
  }
  pid_t pid = sys::clone_fork(cfg.ns.create_flags);
  int err = errno;
  if (pid == 0) return 0;
  if (own_pidns && ::setns(own_pidns.get(), CLONE_NEWPID) != 0)
    log::warn("return to the runtime's pid namespace: {}", std::strerror(errno));
  if (pid < 0) return FailErrno(err, "clone container init (namespace flags 0x{:x})", cfg.ns.create_flags);
  return pid;
}

// The resources written to the cgroup: the spec's, plus (as runc does) access to the devices
// every container gets and to the devices listed in linux.devices, after the spec's rules.
std::optional<oci::Resources> effective_resources(const oci::Spec& spec) {
  if (!spec.linux) return std::nullopt;
  oci::Resources r = spec.linux->resources.value_or(oci::Resources{});
  auto allow = [&r](const char* type, std::optional<int64_t> major, std::optional<int64_t> minor,
                    const char* access) {
    r.devices.push_back(oci::DeviceRule{true, type, major, minor, access});
  };
  allow("c", std::nullopt, std::nullopt, "m");
  allow("b", std::nullopt, std::nullopt, "m");
  for (auto [major, minor] : {std::pair{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 1}, {5, 2}})
    allow("c", major, minor, "rwm");
  allow("c", 136, std::nullopt, "rwm");  // /dev/pts/*
  for (const auto& d : spec.linux->devices) {
    allow(d.type == "b" ? "b" : "c", d.major, d.minor, "rwm");
  }
  return r;
}

}  // namespace

Runtime::Runtime(RuntimeOptions options) : options_(std::move(options)) {}

Result<oci::State> Runtime::create(const std::string& id, const CreateOptions& opts) {
  TRY(validate_container_id(id));
  std::string bundle = absolute_path(opts.bundle.empty() ? "." : opts.bundle);
  std::optional<oci::Spec> loaded;
  if (!opts.spec) loaded = TRY(oci::load_spec(bundle));
  const oci::Spec& spec = opts.spec ? *opts.spec : *loaded;
  TRY(oci::validate_spec(spec));
  if (!spec.process) return Fail(ErrorCode::InvalidArgument, "config.json: process: required to create a container");
  std::vector<std::string> warnings;
  log::debug("create {}: config read and validated", id);
  InitConfig cfg = TRY(prepare_init(spec, bundle, id, opts.no_pivot, options_.seccomp_cache, &warnings));
  for (const auto& w : warnings) log::warn("{}", w);
  log::debug("create {}: setup planned", id);

  UniqueFd console, console_ours;
  if (spec.process->terminal && opts.console_socket_fd >= 0) {
    console.reset(::fcntl(opts.console_socket_fd, F_DUPFD_CLOEXEC, 3));
    if (!console) return FailErrno(errno, "console socket");
  } else if (spec.process->terminal && !opts.console_socket.empty()) {
    console = TRY(connect_console_socket(opts.console_socket));
  } else if (spec.process->terminal && opts.terminal_master) {
    int sp[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0) return FailErrno(errno, "socketpair");
    console_ours.reset(sp[0]);
    console.reset(sp[1]);
  } else if (spec.process->terminal) {
    return Fail(ErrorCode::InvalidArgument,
                "process.terminal is true: a --console-socket is needed to receive the terminal");
  }

  if (cfg.process.seccomp && cfg.process.seccomp->use_listener) {
    oci::State agent_state;
    agent_state.id = id;
    agent_state.status = "created";
    agent_state.bundle = bundle;
    agent_state.annotations = spec.annotations;
    cfg.seccomp_agent = TRY(connect_seccomp_agent(*spec.linux->seccomp, agent_state));
  }

  StateStore store(options_.root);
  TRY(store.reserve(id));
  auto remove_state = defer([&] { (void)store.remove(id); });

  std::string cgroups_path = spec.linux ? spec.linux->cgroups_path : "";
  auto cgroup = TRY(this->cgroup(id, cgroups_path));
  std::optional<oci::Resources> resources = effective_resources(spec);
  if (auto created = cgroup->create(resources ? &*resources : nullptr); !created) {
    forget_cgroup(id);
    return Err(created.error().context("linux.resources"));
  }
  auto remove_cgroup = defer([&] {
    (void)cgroup->destroy();
    forget_cgroup(id);
  });

  log::debug("create {}: cgroup ready", id);
  UniqueFd exec_listen = TRY(listen_unix(store.dir(id) + "/exec.sock"));
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0) return FailErrno(errno, "socketpair");
  UniqueFd parent_end(sp[0]), child_end(sp[1]);
  cfg.sync_fd = child_end.get();
  cfg.exec_listen_fd = exec_listen.get();
  cfg.console_fd = console.get();

  pid_t first = TRY(clone_first(cfg));
  if (first == 0) {
    parent_end.reset();
    if (cfg.ns.two_stage()) stage1_main(cfg);
    init_main(cfg);
  }
  child_end.reset();
  console.reset();
  pid_t init = first;
  auto kill_children = defer([&] {
    ::kill(first, SIGKILL);
    ::waitpid(first, nullptr, 0);
    if (init != first) {
      ::kill(init, SIGKILL);
      ::waitpid(init, nullptr, 0);
    }
  });

  TRY_CTX("add the container to its cgroup", cgroup->add_process(first));
  TRY(sync_reply(parent_end.get(), SyncType::Go, first));
  // The config `exec` and the hooks of later commands read; written while the child works.
  TRY(write_file_atomic(store.dir(id) + "/config.json", oci::spec_to_json(spec), 0600));
  if (cfg.ns.two_stage()) {
    if (cfg.ns.create_user) {
      TRY(sync_expect(parent_end.get(), SyncType::MapRequest));
      TRY(write_id_maps(first, cfg.ns));
      TRY(sync_reply(parent_end.get(), SyncType::MapsWritten));
    }
    auto msg = TRY(sync_expect(parent_end.get(), SyncType::InitPid));
    init = msg.value;
    int status;
    ::waitpid(first, &status, 0);
    TRY(sync_reply(parent_end.get(), SyncType::Go, init));
  }

  oci::State st;
  st.id = id;
  st.pid = init;
  st.bundle = bundle;
  st.rootfs = spec.root ? absolute_path(spec.root->path[0] == '/' ? spec.root->path : bundle + "/" + spec.root->path) : "";
  st.created = now_rfc3339();
  st.annotations = spec.annotations;
  if (cfg.parent_hooks) {
    TRY(sync_expect(parent_end.get(), SyncType::HooksPoint));
    std::string creating = hook_state(st, "creating");
    TRY(run_hooks(prepare_hooks(spec.hooks->prestart), "prestart", creating));
    TRY(run_hooks(prepare_hooks(spec.hooks->create_runtime), "createRuntime", creating));
    TRY(sync_reply(parent_end.get(), SyncType::HooksDone));
  }
  TRY(sync_expect(parent_end.get(), SyncType::Ready));
  log::debug("create {}: init {} is ready", id, init);
  if (console_ours) {
    int master = recv_fd(console_ours.get());
    if (master < 0) return FailErrno(-master, "receive the container's terminal");
    opts.terminal_master->reset(master);
  }

  ContainerRecord record;
  record.state = st;
  record.state.status = "created";
  record.init_start_time = TRY_CTX("container init", process_start_time(init));
  record.cgroups_path = cgroups_path;
  record.has_hooks = spec.hooks && (!spec.hooks->poststart.empty() || !spec.hooks->poststop.empty());
  TRY(store.save(record));
  if (!opts.pid_file.empty()) TRY_CTX("--pid-file", write_file_atomic(absolute_path(opts.pid_file), std::to_string(init), 0644));

  kill_children.dismiss();
  remove_cgroup.dismiss();
  remove_state.dismiss();
  return record.state;
}

Result<void> Runtime::start(const std::string& id) {
  StateStore store(options_.root);
  ContainerRecord record = TRY(store.load(id));
  auto cgroup = TRY(this->cgroup(id, record.cgroups_path));
  std::string status = live_status(record, cgroup.get());
  if (status != "created")
    return Fail(ErrorCode::Conflict, "cannot start container \"{}\": it is {}, not created", id, status);
  std::string sock = store.dir(id) + "/exec.sock";
  UniqueFd conn = TRY_CTX("start " + id, connect_unix(sock));
  TRY_CTX("start " + id, write_all(conn.get(), "1"));
  ChildError err;
  ssize_t n;
  do n = ::recv(conn.get(), &err, sizeof(err), MSG_WAITALL);
  while (n < 0 && errno == EINTR);
  ::unlink(sock.c_str());
  if (n == static_cast<ssize_t>(sizeof(err))) {
    err.text[sizeof(err.text) - 1] = '\0';
    return Err(SysError(err.err, err.text).context("start " + id));
  }
  record.state.status = "running";
  TRY(store.save(record));
  if (!record.has_hooks) return {};
  auto spec = config(id);
  if (spec && spec->hooks && !spec->hooks->poststart.empty()) {
    auto r = run_hooks(prepare_hooks(spec->hooks->poststart), "poststart", hook_state(record.state, "running"));
    if (!r) log::warn("{}", r.error().what());
  }
  return {};
}

Result<int> Runtime::run(const std::string& id, const CreateOptions& opts, bool detach, bool keep) {
  // Signals that arrive while the container runs go to it, as with runc.
  const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
  if (!detach) {
    struct sigaction sa{};
    sa.sa_handler = forward_signal;
    sa.sa_flags = SA_RESTART;
    for (int sig : forwarded) ::sigaction(sig, &sa, nullptr);
  }
  // runc's foreground terminal: without a console socket, keep the pty master and proxy it.
  CreateOptions create_opts = opts;
  UniqueFd master;
  if (!detach) create_opts.terminal_master = &master;
  oci::State st = TRY(create(id, create_opts));
  auto cleanup = defer([&] {
    if (!keep) (void)remove(id, true);
  });
  g_forward_pid = st.pid;
  TRY(start(id));
  if (detach) {
    cleanup.dismiss();
    return 0;
  }
  if (master) {
    auto proxied = proxy_terminal(master.get());
    if (!proxied) log::warn("{}", proxied.error().what());
  }
  int status = 0;
  while (::waitpid(st.pid, &status, 0) < 0) {
    if (errno != EINTR) return FailErrno(errno, "wait for container {}", id);
  }
  g_forward_pid = 0;
  return exit_code_from_status(status);
}

}  // namespace berth::runtime
