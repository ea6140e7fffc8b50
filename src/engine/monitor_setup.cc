// The monitor's forked work: setting a container up and starting it, recording its state,
// tearing it down after it exits, and removing a --rm container.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/fs.h"
#include "base/log.h"
#include "base/process.h"
#include "base/root_path.h"
#include "base/scope_guard.h"
#include "base/strings.h"
#include "engine/container_internal.h"
#include "engine/container_json.h"
#include "engine/container_service.h"
#include "engine/container_spec.h"
#include "engine/health.h"
#include "engine/init_binary.h"
#include "engine/monitor_internal.h"
#include "engine/network_join.h"
#include "engine/network_service.h"
#include "engine/secret_store.h"
#include "image/snapshotter.h"
#include "image/tree_copy.h"
#include "runtime/mount_list.h"
#include "runtime/runtime.h"
#include "store/container_records.h"
#include "store/database.h"

namespace berth::engine {
namespace {

constexpr std::string_view kDefaultSearchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// 0 when path (inside root) is an executable file, else the errno exec would give.
int executable_in_root(int root_fd, const std::string& path) {
  auto fd = open_in_root(root_fd, path);
  if (!fd) return fd.error().sys_errno() ? fd.error().sys_errno() : ENOENT;
  struct stat st;
  if (::fstat(fd->get(), &st) != 0) return errno;
  if (S_ISDIR(st.st_mode)) return EACCES;
  if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0) return EACCES;
  return 0;
}

// Finds the command the way execvp in the container will, so that a missing or
// non-executable command fails the start with 127 or 126 as with Docker, instead of a
// container that exits at once.
Result<void> check_command(const std::string& rootfs, const std::string& cmd, const std::string& cwd,
                           const std::vector<std::string>& env) {
  UniqueFd root = TRY(open_fd(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (cmd.find('/') != std::string::npos) {
    std::string path = cmd.front() == '/' ? cmd : cwd + "/" + cmd;
    int err = executable_in_root(root.get(), path);
    if (err == ENOENT) return FailErrno(ENOENT, "exec: \"{}\": stat {}", cmd, cmd);
    if (err) return FailErrno(err, "exec: \"{}\"", cmd);
    return {};
  }
  std::string search(kDefaultSearchPath);
  for (const auto& e : env) {
    if (e.starts_with("PATH=")) search = e.substr(5);
  }
  int found_err = ENOENT;
  for (const auto& dir : split(search, ':')) {
    int err = executable_in_root(root.get(), (dir.empty() ? "." : dir) + "/" + cmd);
    if (err == 0) return {};
    if (err == EACCES) found_err = EACCES;
  }
  if (found_err == EACCES) return FailErrno(EACCES, "exec: \"{}\"", cmd);
  return Err(Error(ErrorCode::NotFound, fmt::format("exec: \"{}\": executable file not found in $PATH", cmd), ENOENT));
}

// The cgroup file that counts the init's OOM kills (v2 unified, or v1's memory controller).
std::string oom_events_path(pid_t pid) {
  auto text = read_file(fmt::format("/proc/{}/cgroup", pid));
  if (!text) return "";
  std::string v2;
  for (const auto& line : split(*text, '\n')) {
    auto parts = split(line, ':');
    if (parts.size() < 3) continue;
    std::string path = line.substr(parts[0].size() + parts[1].size() + 2);
    for (const auto& controller : split(parts[1], ',')) {
      if (controller == "memory") return "/sys/fs/cgroup/memory" + path + "/memory.oom_control";
    }
    if (parts[0] == "0" && parts[1].empty()) v2 = "/sys/fs/cgroup" + path + "/memory.events";
  }
  return v2;
}

// Mounts a tmpfs at dir and writes each secret's value into it, owned and moded as asked.
Result<void> mount_secrets(const EngineOptions& options, const Container& c, const std::string& dir) {
  TRY(make_dirs(dir, 0700));
  if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700,size=16m") != 0)
    return FailErrno(errno, "mount the secrets tmpfs on {}", dir);
  auto secrets = TRY(SecretStore::open(options));
  for (size_t i = 0; i < c.config.secrets.size(); ++i) {
    const SecretRef& ref = c.config.secrets[i];
    SecretBytes value = TRY_CTX("--secret " + ref.name, secrets->reveal(ref.name));
    std::string path = dir + "/" + secret_file_name(c.config.secrets, i);
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) return FailErrno(errno, "create {}", path);
    TRY(write_all(fd.get(), value.view()));
    if (::fchown(fd.get(), ref.uid, ref.gid) != 0) return FailErrno(errno, "chown {}", path);
    if (::fchmod(fd.get(), ref.mode) != 0) return FailErrno(errno, "chmod {}", path);
  }
  return {};
}

// Docker's copy-up: a volume that is still empty gets what the image holds at its target
// (unless the mount said nocopy), so VOLUME directories keep the files the image put there.
Result<void> populate_volumes(const Container& c, const std::string& rootfs) {
  UniqueFd root = TRY(open_fd(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC));
  for (const auto& m : c.mounts) {
    if (m.spec.kind != MountKind::Volume || m.spec.volume_nocopy || m.host_path.empty()) continue;
    auto entries = list_dir(m.host_path);
    if (!entries || !entries->empty()) continue;
    auto src = open_in_root(root.get(), m.spec.target);
    struct stat st;
    if (!src || ::fstat(src->get(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;  // no directory there in the image
    TRY_CTX(fmt::format("copy the image's {} into volume {}", m.spec.target, m.volume),
            image::copy_tree(fmt::format("/proc/self/fd/{}", src->get()), m.host_path));
  }
  return {};
}

// --network container:ID: the other container's network namespace, while it runs.
Result<std::string> shared_netns(const EngineOptions& options, const std::string& id) {
  auto db = TRY(store::Database::open(options.root + "/berth.db"));
  store::ContainerRecords records(*db);
  Container other = TRY(load_container(records, id));
  if (!other.running() || other.state.pid <= 0)
    return Fail(ErrorCode::Conflict, "cannot join network of a non running container: {}", other.name);
  return fmt::format("/proc/{}/ns/net", other.state.pid);
}

// Everything but the state writes: returns the plan of a running container.
Result<MonitorPlan> start_container(const EngineOptions& options, const Container& c, const ContainerStdio& stdio,
                                    UniqueFd* terminal) {
  ContainerPaths paths(options, c.id);
  auto snapshots = TRY(image::open_default_snapshotter(options.root));
  auto mounts = TRY(snapshots->mounts(snapshot_key(c.id)));
  TRY(make_dirs(paths.rootfs, 0755));
  TRY_CTX("mount the container's filesystem", runtime::mount_list(mounts, paths.rootfs));
  auto unmount = defer([&] { (void)unmount_container_files(paths); });
  TRY(populate_volumes(c, paths.rootfs));
  TRY(make_dirs(paths.run_dir, 0700));
  if (!c.config.secrets.empty()) TRY(mount_secrets(options, c, paths.secrets));

  RunOptions run = c.config;
  ContainerSpecInputs in;
  in.id = c.id;
  in.rootfs = paths.rootfs;
  run.mounts.clear();
  for (const auto& m : c.mounts) {
    run.mounts.push_back(m.spec);
    in.mount_sources.push_back(m.host_path);
  }
  in.hosts_path = paths.dir + "/hosts";
  in.resolv_conf_path = paths.dir + "/resolv.conf";
  in.hostname_path = paths.dir + "/hostname";
  in.secrets_dir = paths.secrets;
  if (c.config.init) in.init_binary = TRY(init_binary(options.runroot));
  if (run.network.mode.starts_with("container:")) in.netns_path = TRY(shared_netns(options, run.network.mode.substr(10)));
  oci::Spec spec = TRY(build_container_spec(run, c.image_config, in));
  auto argv = TRY(command_line(run, c.image_config.config));
  TRY(check_command(paths.rootfs, argv[0], spec.process->cwd, spec.process->env));

  runtime::Runtime rt = paths.runtime();
  if (rt.state(c.id)) (void)rt.remove(c.id, true);
  runtime::CreateOptions create;
  create.bundle = paths.dir;
  create.spec = &spec;
  create.terminal_master = terminal;
  // The container inherits fds 0-2 of this process while it is created.
  StdioRedirect redirect(c.config.interactive ? stdio.in : -1, stdio.out, stdio.err);
  auto created = rt.create(c.id, create);
  redirect.restore();
  if (!created) return Err(created.error());
  auto remove = defer([&] { (void)rt.remove(c.id, true); });
  TRY(join_networks(c, created->pid));
  auto leave = defer([&] { (void)leave_networks(c); });
  TRY(rt.start(c.id));

  MonitorPlan plan;
  plan.pid = created->pid;
  plan.tty = c.config.tty;
  plan.interactive = c.config.interactive;
  plan.auto_remove = c.config.rm;
  plan.restart = c.config.restart;
  plan.log_max_size = c.config.log.max_size;
  plan.log_max_file = c.config.log.max_file;
  if (auto health = TRY(resolve_healthcheck(c.image_config, c.config.health))) {
    plan.health_argv = health->argv;
    plan.health_interval = health->interval.count();
    plan.health_timeout = health->timeout.count();
    plan.health_start_period = health->start_period.count();
    plan.health_start_interval = health->start_interval.count();
    plan.health_retries = health->retries;
  }
  plan.oom_events = oom_events_path(plan.pid);
  plan.oom_before = read_oom_kills(plan.oom_events);
  leave.dismiss();
  remove.dismiss();
  unmount.dismiss();
  return plan;
}

}  // namespace

int64_t read_oom_kills(const std::string& path) {
  if (path.empty()) return 0;
  auto text = read_file(path);
  if (!text) return 0;
  for (const auto& line : split(*text, '\n')) {
    if (line.starts_with("oom_kill ")) {
      auto n = parse_int(trim(line.substr(9)), "oom_kill");
      return n ? *n : 0;
    }
  }
  return 0;
}

Result<void> write_container_state(const EngineOptions& options, const std::string& id,
                                   const std::function<void(ContainerState&)>& change) {
  auto db = TRY(store::Database::open(options.root + "/berth.db"));
  store::ContainerRecords records(*db);
  TRY(update_container_state(*db, records, id, change));
  return {};
}

Result<MonitorPlan> setup_container(const EngineOptions& options, const std::string& id,
                                    const ContainerStdio& stdio, int restart_count,
                                    UniqueFd* terminal, const std::string* record,
                                    std::shared_ptr<store::Database>& db) {
  std::optional<Container> given;
  if (record) {
    auto r = decode_record(*record);
    if (!r) log::warn("container {}: {}", short_container_id(id), r.error().what());
    else if (r->id == id) {
      if (auto c = container_from_record(*r)) given = std::move(*c);
    }
  }
  // With the record given, berth.db is opened once the container runs: off its start's path.
  std::string path = options.root + "/berth.db";
  if (!given) {
    db = TRY(store::Database::shared(db, path));
    store::ContainerRecords records(*db);
    given = TRY(load_container(records, id));
  }
  const Container& c = *given;
  auto plan = start_container(options, c, stdio, terminal);
  db = TRY(store::Database::shared(db, path));
  store::ContainerRecords records(*db);
  std::string now = now_rfc3339_nano();
  if (!plan) {
    Error e = plan.error();
    TRY(update_container_state(*db, records, id, [&](ContainerState& s) {
      s.error = e.what();
      s.pid = 0;
      if (restart_count > 0) {
        s.status = ContainerStatus::Exited;
        s.exit_code = exit_code_for_start_error(e);
        s.finished_at = now;
      } else if (s.status != ContainerStatus::Created) {
        s.exit_code = exit_code_for_start_error(e);
      }
    }));
    return Err(e);
  }
  pid_t monitor = ::getpid();
  TRY(update_container_state(*db, records, id, [&](ContainerState& s) {
    s.status = ContainerStatus::Running;
    s.pid = plan->pid;
    s.monitor_pid = monitor;
    s.exit_code = 0;
    s.oom_killed = false;
    s.error.clear();
    s.started_at = now;
    s.restart_count = restart_count;
    if (restart_count == 0) s.manually_stopped = false;
    if (!plan->health_argv.empty()) reset_health(s.health);
    else s.health = HealthState{};
  }));
  return plan;
}

void release_container_files(const EngineOptions& options, const std::string& id) {
  ContainerPaths paths(options, id);
  runtime::Runtime rt = paths.runtime();
  if (auto r = rt.remove(id, true); !r && r.error().code() != ErrorCode::NotFound)
    log::warn("container {}: {}", short_container_id(id), r.error().what());
  if (auto r = unmount_container_files(paths); !r) log::warn("container {}: {}", short_container_id(id), r.error().what());
}

Result<bool> teardown_container(const EngineOptions& options, store::Database& db, const std::string& id, int exit_code,
                                bool oom_killed, bool stop_requested, int restart_count) {
  store::ContainerRecords records(db);
  Container c = TRY(load_container(records, id));
  if (auto r = leave_networks(c); !r)
    log::warn("container {}: {}", short_container_id(id), r.error().what());
  const RestartPolicy& policy = c.config.restart;
  bool restart = false;
  if (!stop_requested && !c.state.manually_stopped) {
    switch (policy.name) {
      case RestartName::No: break;
      case RestartName::Always:
      case RestartName::UnlessStopped: restart = true; break;
      case RestartName::OnFailure:
        restart = exit_code != 0 && (policy.max_retries == 0 || restart_count < policy.max_retries);
        break;
    }
  }
  std::string now = now_rfc3339_nano();
  if (!restart) TRY(NetworkService(options, db, "").detach(id));
  TRY(update_container_state(db, records, id, [&](ContainerState& s) {
    if (!restart) {
      s.networks.clear();
      s.ports.clear();
    }
    s.status = restart ? ContainerStatus::Restarting : ContainerStatus::Exited;
    s.exit_code = exit_code;
    s.oom_killed = oom_killed;
    s.pid = 0;
    s.finished_at = now;
    if (!restart) s.monitor_pid = 0;
  }));
  return restart;
}

Result<std::unique_ptr<ContainerService>> forget_container(const EngineOptions& options,
                                                           std::shared_ptr<store::Database> db, const std::string& id) {
  auto service = TRY(ContainerService::open(options, "", std::move(db)));
  Container c = TRY(service->get(id));
  TRY(service->forget(c, true));
  return service;
}

}  // namespace berth::engine
