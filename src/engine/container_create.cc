// ContainerService::create: a record, a writable snapshot, a directory and the volumes a new
// container needs, all or nothing.
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "base/fs.h"
#include "base/log.h"
#include "base/scope_guard.h"
#include "base/strings.h"
#include "engine/container_internal.h"
#include "engine/container_json.h"
#include "engine/container_names.h"
#include "engine/container_service.h"
#include "engine/container_spec.h"
#include "engine/image_service.h"
#include "engine/secret_store.h"
#include "engine/network_service.h"
#include "engine/volume_store.h"
#include "store/container_records.h"

namespace berth::engine {
namespace {

}  // namespace

Result<void> ContainerService::resolve_networks(NetworkOptions& net) {
  std::string mode = net.mode.empty() ? kDefaultNetwork : net.mode;
  bool own_namespace = mode == "none" || mode == "host" || mode.starts_with("container:");
  if (own_namespace && (!net.publish.empty() || net.publish_all) && mode != "host")
    return Fail(ErrorCode::InvalidArgument, "conflicting options: port publishing and the container type network mode");
  if (mode.starts_with("container:")) {
    Container other = TRY_CTX("--network " + mode, get(mode.substr(10)));
    net.mode = "container:" + other.id;
  }
  if (own_namespace) {
    if (!net.attachments.empty() &&
        (!net.attachments[0].aliases.empty() || !net.attachments[0].ipv4.empty()))
      return Fail(ErrorCode::InvalidArgument, "--network-alias and --ip need a user-defined network, not {}", mode);
    net.attachments.clear();
    return {};
  }
  Network n = TRY_CTX("--network", networks_->get(mode));
  if (net.attachments.empty()) net.attachments.emplace_back();
  NetworkAttachment& first = net.attachments[0];
  first.network = n.id;
  first.name = n.name;
  if (n.is_default() && !first.ipv4.empty())
    return Fail(ErrorCode::InvalidArgument, "user specified IP address is supported on user defined networks only");
  if (n.is_default() && !first.aliases.empty())
    return Fail(ErrorCode::InvalidArgument, "network-scoped alias is supported only for containers in user defined networks");
  net.mode = n.name;
  return {};
}

Result<Container> ContainerService::create(const RunOptions& options, const EarlyMonitor* early) {
  TRY(validate_run_options(options));
  if (!options.secrets.empty()) {
    auto secrets = TRY(SecretStore::open(options_));
    for (const auto& ref : options.secrets) TRY_CTX("--secret " + ref.name, secrets->inspect(ref.name));
  }
  ImageDetail image = TRY(images_->inspect(options.image));
  if (options.security_profile == SecurityProfile::Strict) {
    // The full check resolves the name in the container's passwd at start; root is plain now.
    std::string user = options.user.value_or(image.config.config.user);
    std::string name = user.substr(0, user.find(':'));
    if (name.empty() || name == "0" || name == "root") {
      return Fail(ErrorCode::InvalidArgument,
                  "strict profile: the container would run as root; add USER to the image or pass --user");
    }
  }
  Container c;
  c.image = options.image;
  c.image_id = image.record.id;
  c.image_config = image.config;
  c.config = options;
  c.config.name.clear();
  std::vector<std::string> argv = TRY(command_line(options, image.config.config));
  c.path = argv[0];
  c.args.assign(argv.begin() + 1, argv.end());
  if (!options.name.empty()) c.name = TRY(validate_container_name(options.name));
  TRY(resolve_networks(c.config.network));
  c.id = early ? early->id : new_container_id();
  c.created = now_rfc3339_nano();
  c.state.status = ContainerStatus::Created;

  // Everything made below is undone unless the record lands.
  ContainerPaths paths(options_, c.id);
  std::vector<std::string> made_volumes;
  bool made_snapshot = false;
  auto undo = defer([&] {
    if (made_snapshot) (void)images_->snapshots().remove(snapshot_key(c.id));
    (void)remove_all(paths.dir);
    for (const auto& v : made_volumes) (void)volumes_->remove(v, true);
  });
  TRY(make_dirs(paths.dir, 0700));
  // Held until the record exists, so that a concurrent sweep never takes this directory.
  auto lock = try_lock_monitor(paths.lock, LOCK_EX);
  if (!lock) return Fail(ErrorCode::Internal, "lock {}", paths.lock);

  // Mounts: bind sources must exist (berth does not make host directories); volumes are
  // made when missing; the image's VOLUMEs not covered by a mount get anonymous volumes.
  std::set<std::string> targets;
  auto add_volume = [&](const MountSpec& spec) -> Result<void> {
    bool existed = !spec.source.empty() && volumes_->get(spec.source).has_value();
    Volume v = TRY(volumes_->ensure(spec.source));
    if (!existed) made_volumes.push_back(v.name);
    c.mounts.push_back(ResolvedMount{spec, v.mountpoint, v.name});
    c.mounts.back().spec.source = v.name;
    return {};
  };
  for (const auto& m : options.mounts) {
    targets.insert(clean_path(m.target));
    if (m.kind == MountKind::Bind) {
      struct stat st;
      if (::stat(m.source.c_str(), &st) != 0) {
        return Fail(ErrorCode::InvalidArgument, "invalid mount config for type \"bind\": bind source path does not exist: {}",
                    m.source);
      }
      c.mounts.push_back(ResolvedMount{m, m.source, ""});
    } else if (m.kind == MountKind::Volume) {
      TRY(add_volume(m));
    } else {
      c.mounts.push_back(ResolvedMount{m, "", ""});
    }
  }
  for (const auto& path : image.config.config.volumes) {
    if (targets.contains(clean_path(path))) continue;
    MountSpec spec;
    spec.kind = MountKind::Volume;
    spec.target = clean_path(path);
    TRY(add_volume(spec));
  }

  TRY_CTX("prepare the container's filesystem",
          images_->snapshots().prepare(snapshot_key(c.id), image.record.snapshot, {{"container", c.id}}));
  made_snapshot = true;
  std::string hostname = options.hostname.empty() ? c.id.substr(0, 12) : options.hostname;
  TRY(write_file_atomic(paths.dir + "/hostname", hostname + "\n", 0644));

  store::ContainerRecord record;
  record.id = c.id;
  record.image_id = c.image_id;
  record.created = c.created;
  record.config = container_to_json(c);
  record.state = container_state_to_json(c.state);
  for (const auto& m : c.mounts) {
    if (!m.volume.empty()) record.volumes.push_back(m.volume);
  }
  bool named = !c.name.empty();
  for (int attempt = 0;; ++attempt) {
    if (!named) c.name = generate_container_name(attempt);
    record.name = c.name;
    auto inserted = records_->insert(record);
    if (inserted) break;
    if (inserted.error().code() != ErrorCode::AlreadyExists) return Err(inserted.error());
    auto other = TRY(records_->find_by_name(c.name));
    if (named || attempt >= 20) {
      return Fail(ErrorCode::Conflict,
                  "Conflict. The container name \"/{}\" is already in use by container \"{}\". You have to "
                  "remove (or rename) that container to be able to reuse that name.",
                  c.name, other.value_or("?"));
    }
  }
  undo.dismiss();
  return c;
}

}  // namespace berth::engine
