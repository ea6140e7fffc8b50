// A RUN step's container: the step's root (already mounted) run with berth's secure defaults
// (container_spec.h) as the USER in effect, with the step's cache, bind, tmpfs and secret
// mounts, on the default bridge or no network. Secrets live on a tmpfs under the runroot and
// never touch the snapshot: their mount points are removed from the layer afterwards.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "base/fs.h"
#include "base/process.h"
#include "base/root_path.h"
#include "base/scope_guard.h"
#include "base/strings.h"
#include "build/build_internal.h"
#include "engine/container.h"
#include "engine/container_spec.h"
#include "engine/network_join.h"
#include "engine/network_service.h"
#include "image/snapshot_store.h"
#include "runtime/mount_list.h"
#include "runtime/runtime.h"

namespace berth::build::detail {
namespace {

// Adds to created every component of dest (absolute, in the rootfs) that does not exist yet:
// the runtime makes them as mount points, and they must not reach the layer.
void note_missing(int root_fd, const std::string& dest, std::set<std::string>& created) {
  std::string prefix;
  bool missing = false;
  for (const auto& part : split(dest, '/')) {
    if (part.empty()) continue;
    prefix += (prefix.empty() ? "" : "/") + part;
    if (!missing && !open_in_root(root_fd, "/" + prefix, ResolveCreate::None)) missing = true;
    if (missing) created.insert(prefix);
  }
}

Result<std::string> secret_value(const BuildOptions& options, const std::string& id, bool& found) {
  found = false;
  for (const auto& s : options.secrets) {
    if (s.id != id) continue;
    if (!s.src.empty()) {
      found = true;
      return TRY_CTX("--secret id=" + id, read_file(s.src));
    }
    if (const char* v = std::getenv(s.env.c_str())) {
      found = true;
      return std::string(v);
    }
  }
  return std::string();
}

// Reads the step's output until every writer closed it, handing over whole lines.
class OutputReader {
 public:
  OutputReader(UniqueFd fd, std::function<void(std::string_view)> log)
      : fd_(std::move(fd)), log_(std::move(log)), thread_([this] { loop(); }) {}
  ~OutputReader() { join(); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  void loop() {
    std::string pending;
    char buf[4096];
    while (true) {
      ssize_t n = ::read(fd_.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      pending.append(buf, static_cast<size_t>(n));
      auto nl = pending.rfind('\n');
      if (nl != std::string::npos) {
        log_(std::string_view(pending).substr(0, nl));
        pending.erase(0, nl + 1);
      }
    }
    if (!pending.empty()) log_(pending);
  }
  UniqueFd fd_;
  std::function<void(std::string_view)> log_;
  std::thread thread_;
};

}  // namespace

Result<int> run_container(const RunEnv& env, const oci::ImageConfig& config, const RunPlan& plan,
                          const std::string& rootfs, std::set<std::string>& exclude,
                          const std::function<void(std::string_view)>& log) {
  const engine::EngineOptions& engine = *env.engine;
  std::string id = image::random_hex(32);
  std::string bundle = engine.runroot + "/builds/" + id;
  TRY(make_dirs(bundle, 0700));
  auto remove_bundle = defer([&] { (void)remove_all(bundle); });

  engine::RunOptions opts;
  opts.command = plan.argv;
  opts.entrypoint = "";
  opts.init = false;
  opts.hostname = "buildkitsandbox";
  opts.env = plan.env;
  opts.network.mode = plan.network == RunNetwork::None ? "none" : "bridge";
  engine::ContainerSpecInputs in;
  in.id = id;
  in.rootfs = rootfs;
  in.hosts_path = bundle + "/hosts";
  in.resolv_conf_path = bundle + "/resolv.conf";
  in.hostname_path = bundle + "/hostname";
  TRY(write_file(in.hosts_path, "127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n"));
  TRY(write_file(in.resolv_conf_path, engine::host_resolv_conf()));
  TRY(write_file(in.hostname_path, "buildkitsandbox\n"));

  // Secrets first: a tmpfs holding one file per secret the step mounts.
  std::string secrets_dir = bundle + "/secrets";
  bool secrets_mounted = false;
  auto unmount_secrets = defer([&] {
    if (secrets_mounted) (void)runtime::unmount_all(secrets_dir);
  });
  for (const auto& m : plan.mounts) {
    if (m.type != RunMount::Type::Secret) continue;
    bool found = false;
    std::string value = TRY(secret_value(*env.options, m.id, found));
    if (!found) {
      if (m.required) return Fail(ErrorCode::NotFound, "secret {}: not found (pass --secret id={},src=FILE)", m.id, m.id);
      continue;
    }
    if (!secrets_mounted) {
      TRY(make_dirs(secrets_dir, 0700));
      if (::mount("tmpfs", secrets_dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700,size=16m") != 0)
        return FailErrno(errno, "mount the secrets tmpfs on {}", secrets_dir);
      secrets_mounted = true;
      in.secrets_dir = secrets_dir;
    }
    engine::SecretRef ref;
    ref.name = m.id;
    ref.target = m.target.empty() ? std::string(engine::kSecretsDir) + "/" + m.id : m.target;
    ref.uid = m.uid.value_or(0);
    ref.gid = m.gid.value_or(0);
    ref.mode = m.mode.value_or(0400);
    opts.secrets.push_back(ref);
    std::string path = secrets_dir + "/" + engine::secret_file_name(opts.secrets, opts.secrets.size() - 1);
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) return FailErrno(errno, "create {}", path);
    TRY(write_all(fd.get(), value));
    if (::fchown(fd.get(), ref.uid, ref.gid) != 0) return FailErrno(errno, "chown {}", path);
    if (::fchmod(fd.get(), ref.mode) != 0) return FailErrno(errno, "chmod {}", path);
    if (m.env) opts.env.push_back(*m.env + "=" + value);
  }

  // Cache, bind and tmpfs mounts.
  for (const auto& m : plan.mounts) {
    engine::MountSpec spec;
    spec.target = m.target;
    std::string source;
    switch (m.type) {
      case RunMount::Type::Secret: continue;
      case RunMount::Type::Ssh: return Fail(ErrorCode::InvalidArgument, "RUN --mount=type=ssh is not supported");
      case RunMount::Type::Tmpfs:
        spec.kind = engine::MountKind::Tmpfs;
        if (m.size > 0) spec.tmpfs_size = m.size;
        break;
      case RunMount::Type::Cache: {
        std::string cache_id = m.id.empty() ? m.target : m.id;
        source = engine.root + "/build-cache/" + sha256_of(cache_id).hex.substr(0, 32);
        if (!path_exists(source)) {
          TRY(make_dirs(source, m.mode.value_or(0755)));
          if (::chown(source.c_str(), m.uid.value_or(0), m.gid.value_or(0)) != 0)
            return FailErrno(errno, "chown the cache directory {}", source);
        }
        spec.readonly = false;
        break;
      }
      case RunMount::Type::Bind: {
        std::string base;
        if (m.from.empty()) {
          base = env.context->dir();
        } else {
          base = TRY(env.stage_dir(m.from));
        }
        std::string rel = clean_path("/" + m.source);
        source = base + (rel == "/" ? "" : rel);
        if (m.from.empty() && rel != "/") TRY_CTX("RUN --mount source", env.context->match(m.source));
        if (!path_exists(source)) return Fail(ErrorCode::NotFound, "RUN --mount source {}: not found", m.source);
        spec.readonly = true;  // rw binds are not supported: their writes would reach the context
        break;
      }
    }
    opts.mounts.push_back(spec);
    in.mount_sources.push_back(source);
  }

  oci::ImageConfig image = config;
  image.config.entrypoint.clear();
  image.config.cmd.clear();
  oci::Spec spec = TRY(engine::build_container_spec(opts, image, in));
  {
    UniqueFd root = TRY(open_fd(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC));
    for (const auto& m : spec.mounts) note_missing(root.get(), m.destination, exclude);
    if (!open_in_root(root.get(), spec.process->cwd, ResolveCreate::None)) {
      (void)open_in_root(root.get(), spec.process->cwd, ResolveCreate::Dir);
    }
  }
  TRY(write_file_atomic(bundle + "/config.json", oci::spec_to_json(spec), 0600));

  // Network: the default bridge (an endpoint of a pseudo container) or none.
  engine::Container pseudo;
  pseudo.id = id;
  pseudo.name = "build-" + id.substr(0, 12);
  std::optional<engine::NetworkService> networks;
  std::optional<engine::EndpointState> endpoint;
  auto detach = defer([&] {
    if (endpoint) {
      (void)engine::leave_endpoint(*endpoint);
      (void)networks->detach_endpoint(endpoint->network_id, pseudo.id);
    }
  });
  if (plan.network == RunNetwork::Default) {
    std::string self = env.options->self.empty() ? TRY(read_link("/proc/self/exe")) : env.options->self;
    networks.emplace(engine, *env.db, self);
    engine::Network n = TRY_CTX("RUN network", networks->get(engine::kDefaultNetwork));
    endpoint = TRY_CTX("RUN network", networks->attach_endpoint(pseudo, engine::NetworkAttachment{n.id, n.name, {}, ""}, 0));
  }

  runtime::Runtime rt(runtime::RuntimeOptions{engine.runroot + "/runtime", "/sys/fs/cgroup", engine.runroot + "/seccomp"});
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return FailErrno(errno, "pipe");
  UniqueFd out_r(pipefd[0]), out_w(pipefd[1]);
  runtime::CreateOptions create;
  create.bundle = bundle;
  Result<oci::State> created = [&] {
    std::lock_guard lock(stdio_mutex());
    StdioRedirect redirect(-1, out_w.get(), out_w.get());
    return rt.create(id, create);
  }();
  out_w.reset();
  OutputReader reader(std::move(out_r), log);
  if (!created) return Err(created.error());
  auto remove = defer([&] { (void)rt.remove(id, true); });
  if (endpoint) {
    pseudo.state.networks = {*endpoint};
    TRY_CTX("RUN network", engine::join_networks(pseudo, created->pid));
  }
  TRY(rt.start(id));
  int status = 0;
  while (::waitpid(created->pid, &status, 0) < 0) {
    if (errno != EINTR) return FailErrno(errno, "wait for the RUN step's process");
  }
  remove.dismiss();
  TRY(rt.remove(id, true));
  reader.join();
  return exit_code_from_status(status);
}

}  // namespace berth::build::detail
