// ContainerService: opening the stores, finding containers, their state and its repair after a
// monitor died, and the verbs that only touch records and files (rename, rm, prune, pause).
#include "engine/container_service.h"

#include <fcntl.h>
#include <regex.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <thread>

#include "base/fs.h"
#include "base/log.h"
#include "base/strings.h"
#include "engine/container_internal.h"
#include "engine/container_json.h"
#include "engine/container_names.h"
#include "engine/image_service.h"
#include "engine/log_file.h"
#include "engine/network_join.h"
#include "engine/network_service.h"
#include "engine/volume_store.h"
#include "runtime/mount_list.h"
#include "runtime/runtime.h"
#include "store/container_records.h"
#include "store/database.h"

namespace berth::engine {

std::string_view to_string(ContainerStatus status) {
  switch (status) {
    case ContainerStatus::Created: return "created";
    case ContainerStatus::Running: return "running";
    case ContainerStatus::Paused: return "paused";
    case ContainerStatus::Restarting: return "restarting";
    case ContainerStatus::Removing: return "removing";
    case ContainerStatus::Exited: return "exited";
    case ContainerStatus::Dead: return "dead";
  }
  return "unknown";
}

std::optional<ContainerStatus> parse_container_status(std::string_view text) {
  for (auto s : {ContainerStatus::Created, ContainerStatus::Running, ContainerStatus::Paused,
                 ContainerStatus::Restarting, ContainerStatus::Removing, ContainerStatus::Exited,
                 ContainerStatus::Dead}) {
    if (to_string(s) == text) return s;
  }
  return std::nullopt;
}

std::string now_rfc3339_nano() {
  return format_time_rfc3339nano(std::chrono::time_point_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now()));
}

std::string snapshot_key(std::string_view id) { return "ctr-" + std::string(id); }

ContainerPaths::ContainerPaths(const EngineOptions& options, const std::string& id)
    : dir(options.root + "/containers/" + id),
      rootfs(dir + "/rootfs"),
      lock(dir + "/monitor.lock"),
      run_dir(options.runroot + "/containers/" + id),
      secrets(run_dir + "/secrets"),
      runtime_root(options.runroot + "/runtime"),
      seccomp_cache(options.runroot + "/seccomp") {}

std::optional<UniqueFd> try_lock_monitor(const std::string& lock_path, int operation) {
  UniqueFd fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return std::nullopt;
  if (::flock(fd.get(), operation | LOCK_NB) != 0) return std::nullopt;
  return fd;
}

Result<void> unmount_container_files(const ContainerPaths& paths) {
  TRY(runtime::unmount_all(paths.rootfs));
  if (path_exists(paths.secrets)) {
    TRY(runtime::unmount_all(paths.secrets));
    ::rmdir(paths.secrets.c_str());
  }
  return {};
}

Result<Container> container_from_record(const store::ContainerRecord& record) {
  Container c = TRY_CTX("container " + record.id, container_from_json(record.config));
  c.id = record.id;
  c.name = record.name;
  c.image_id = record.image_id;
  c.created = record.created;
  c.state = TRY_CTX("container " + record.id, container_state_from_json(record.state));
  return c;
}

Result<Container> load_container(store::ContainerRecords& records, const std::string& id) {
  auto record = TRY(records.get(id));
  if (!record) return Fail(ErrorCode::NotFound, "No such container: {}", id);
  return container_from_record(*record);
}

Result<ContainerState> update_container_state(store::Database& db, store::ContainerRecords& records,
                                              const std::string& id,
                                              const std::function<void(ContainerState&)>& change) {
  ContainerState out;
  TRY(db.transaction([&]() -> Result<void> {
    auto record = TRY(records.get(id));
    if (!record) return Fail(ErrorCode::NotFound, "No such container: {}", id);
    out = TRY(container_state_from_json(record->state));
    change(out);
    return records.set_state(id, container_state_to_json(out));
  }));
  return out;
}

ContainerService::ContainerService(EngineOptions options, std::string self)
    : options_(std::move(options)), self_(std::move(self)) {}

ContainerService::~ContainerService() = default;

Result<std::unique_ptr<ContainerService>> ContainerService::open(const EngineOptions& options, std::string self,
                                                                 std::shared_ptr<store::Database> db) {
  if (self.empty()) self = TRY_CTX("find the berth binary", read_link("/proc/self/exe"));
  std::unique_ptr<ContainerService> s(new ContainerService(options, std::move(self)));
  s->db_ = TRY(store::Database::shared(std::move(db), options.root + "/berth.db"));
  s->images_ = TRY(ImageService::open(options, false, s->db_));
  s->volumes_ = TRY(VolumeStore::open(options, s->db_));
  s->records_ = std::make_unique<store::ContainerRecords>(*s->db_);
  s->networks_ = std::make_unique<NetworkService>(options, *s->db_, s->self_);
  TRY(make_dirs(options.root + "/containers", 0700));
  return s;
}

std::string ContainerService::container_dir(const std::string& id) const { return ContainerPaths(options_, id).dir; }
std::string ContainerService::log_path(const std::string& id) const { return container_log_path(options_.root, id); }

bool ContainerService::monitor_alive(const std::string& id) const {
  // The monitor holds the lock exclusively for its life; getting it shared means it is gone.
  return !try_lock_monitor(ContainerPaths(options_, id).lock, LOCK_SH).has_value();
}

Result<Container> ContainerService::load(const std::string& id) { return load_container(*records_, id); }

Result<Container> ContainerService::get(const std::string& ref) {
  std::string name = ref.starts_with("/") ? ref.substr(1) : ref;
  std::optional<std::string> id;
  if (ref.size() == 64 && TRY(records_->get(ref))) id = ref;
  if (!id) id = TRY(records_->find_by_name(name));
  if (!id && is_lower_hex(ref)) {
    auto ids = TRY(records_->find_by_id_prefix(ref));
    if (ids.size() > 1) return Fail(ErrorCode::Conflict, "multiple IDs found with provided prefix: {}", ref);
    if (ids.size() == 1) id = ids[0];
  }
  if (!id) return Fail(ErrorCode::NotFound, "No such container: {}", ref);
  Container c = TRY(load(*id));
  TRY(reconcile(c));
  return c;
}

Result<ContainerState> ContainerService::update_state(const std::string& id,
                                                      const std::function<void(ContainerState&)>& change) {
  return update_container_state(*db_, *records_, id, change);
}

Result<void> ContainerService::reconcile(Container& c) {
  if (!c.running()) return {};
  ContainerPaths paths(options_, c.id);
  // Holding the lock shared keeps a new monitor from starting while this cleans up.
  auto lock = try_lock_monitor(paths.lock, LOCK_SH);
  if (!lock) return {};
  log::debug("container {}: its monitor is gone; recording it as exited", c.id);
  runtime::Runtime rt = paths.runtime();
  if (auto r = rt.remove(c.id, true); !r && r.error().code() != ErrorCode::NotFound)
    log::warn("container {}: remove its leftover processes: {}", short_container_id(c.id), r.error().what());
  if (auto r = unmount_container_files(paths); !r) log::warn("container {}: {}", short_container_id(c.id), r.error().what());
  if (auto r = leave_networks(c); !r) log::warn("container {}: {}", short_container_id(c.id), r.error().what());
  TRY(networks_->detach(c.id));
  c.state = TRY(update_state(c.id, [&](ContainerState& s) {
    if (s.status != ContainerStatus::Running && s.status != ContainerStatus::Paused &&
        s.status != ContainerStatus::Restarting)
      return;
    s.status = ContainerStatus::Exited;
    s.exit_code = 255;
    s.error = "the container's monitor exited unexpectedly";
    s.pid = 0;
    s.monitor_pid = 0;
    s.finished_at = now_rfc3339_nano();
    s.networks.clear();
    s.ports.clear();
    if (!s.health.status.empty()) s.health.status = "unhealthy";
  }));
  return {};
}

namespace {

// Docker's ps filters over one container. before/since are resolved to creation times.
struct FilterSet {
  std::vector<std::pair<std::string, std::string>> items;
  std::optional<std::string> before_created, since_created;
};

bool regex_search(const std::string& pattern, const std::string& text) {
  regex_t re;
  if (::regcomp(&re, pattern.c_str(), REG_EXTENDED | REG_NOSUB) != 0) return text.find(pattern) != std::string::npos;
  bool m = ::regexec(&re, text.c_str(), 0, nullptr, 0) == 0;
  ::regfree(&re);
  return m;
}

}  // namespace

Result<std::vector<Container>> ContainerService::list(const ListFilter& filter) {
  static const std::set<std::string> kKeys = {"id", "name", "label", "status", "exited", "ancestor",
                                              "health", "volume", "before", "since", "is-task"};
  FilterSet fs;
  for (const auto& f : filter.filters) {
    auto eq = f.find('=');
    if (eq == std::string::npos) return Fail(ErrorCode::InvalidArgument, "bad format of filter (expected name=value)");
    std::string key = f.substr(0, eq), value = f.substr(eq + 1);
    if (!kKeys.contains(key)) return Fail(ErrorCode::InvalidArgument, "invalid filter '{}'", key);
    if (key == "status" && !parse_container_status(value))
      return Fail(ErrorCode::InvalidArgument, "invalid filter 'status={}'", value);
    if (key == "health" && value != "starting" && value != "healthy" && value != "unhealthy" && value != "none")
      return Fail(ErrorCode::InvalidArgument, "Unrecognised filter value for health: {}", value);
    if (key == "before" || key == "since") {
      Container ref = TRY(get(value));
      (key == "before" ? fs.before_created : fs.since_created) = ref.created;
      continue;
    }
    fs.items.emplace_back(key, value);
  }
  bool has_status_filter = std::any_of(fs.items.begin(), fs.items.end(), [](auto& kv) { return kv.first == "status"; });
  std::vector<Container> out;
  for (const auto& record : TRY(records_->list())) {
    auto loaded = container_from_record(record);
    if (!loaded) {
      log::warn("{}", loaded.error().what());
      continue;
    }
    Container c = std::move(*loaded);
    TRY(reconcile(c));
    if (!filter.all && !has_status_filter && !c.running()) continue;
    if (fs.before_created && !(c.created < *fs.before_created)) continue;
    if (fs.since_created && !(c.created > *fs.since_created)) continue;
    // Values of one key are OR'ed, different keys AND'ed, as in Docker.
    std::map<std::string, bool> matched;
    for (const auto& [key, value] : fs.items) {
      bool m = false;
      if (key == "id") m = c.id.starts_with(value);
      else if (key == "name") m = regex_search(value, c.name);
      else if (key == "label") {
        auto labels = c.image_config.config.labels;
        for (const auto& [k, v] : c.config.labels) labels[k] = v;
        m = label_filter_matches(labels, value);
      } else if (key == "status") m = to_string(c.state.status) == value;
      else if (key == "exited") m = c.state.status == ContainerStatus::Exited && std::to_string(c.state.exit_code) == value;
      else if (key == "ancestor") {
        m = c.image == value || c.image_id == value || c.image_id.substr(7).starts_with(value) ||
            (value.find(':') == std::string::npos && c.image == value + ":latest");
      } else if (key == "health") m = (c.state.health.status.empty() ? "none" : c.state.health.status) == value;
      else if (key == "volume") {
        m = std::any_of(c.mounts.begin(), c.mounts.end(), [&](const ResolvedMount& rm) {
          return rm.volume == value || rm.spec.target == value;
        });
      } else if (key == "is-task") m = value == "false";
      matched[key] = matched[key] || m;
    }
    if (std::any_of(matched.begin(), matched.end(), [](auto& kv) { return !kv.second; })) continue;
    out.push_back(std::move(c));
  }
  // Newest first, as `docker ps`.
  std::reverse(out.begin(), out.end());
  if (filter.last >= 0 && out.size() > static_cast<size_t>(filter.last)) out.resize(filter.last);
  return out;
}

Result<void> ContainerService::rename(const std::string& ref, const std::string& new_name) {
  Container c = TRY(get(ref));
  std::string name = TRY(validate_container_name(new_name));
  if (name == c.name) return Fail(ErrorCode::InvalidArgument, "Renaming a container with the same name as its current name");
  auto r = records_->rename(c.id, name);
  if (!r && r.error().code() == ErrorCode::AlreadyExists) {
    auto other = TRY(records_->find_by_name(name));
    return Fail(ErrorCode::Conflict, "Error when allocating new name: Conflict. The container name \"/{}\" is already in use by container \"{}\". You have to remove (or rename) that container to be able to reuse that name.",
                name, other.value_or(""));
  }
  return r;
}

Result<void> ContainerService::pause(const std::string& ref) {
  Container c = TRY(get(ref));
  if (c.state.status == ContainerStatus::Paused) return Fail(ErrorCode::Conflict, "Container {} is already paused", c.id);
  if (c.state.status != ContainerStatus::Running) return Fail(ErrorCode::Conflict, "Container {} is not running", c.id);
  runtime::Runtime rt = ContainerPaths(options_, c.id).runtime();
  TRY_CTX("pause " + short_container_id(c.id), rt.pause(c.id));
  TRY(update_state(c.id, [](ContainerState& s) {
    if (s.status == ContainerStatus::Running) s.status = ContainerStatus::Paused;
  }));
  return {};
}

Result<void> ContainerService::unpause(const std::string& ref) {
  Container c = TRY(get(ref));
  if (c.state.status != ContainerStatus::Paused) return Fail(ErrorCode::Conflict, "Container {} is not paused", c.id);
  runtime::Runtime rt = ContainerPaths(options_, c.id).runtime();
  TRY_CTX("unpause " + short_container_id(c.id), rt.resume(c.id));
  TRY(update_state(c.id, [](ContainerState& s) {
    if (s.status == ContainerStatus::Paused) s.status = ContainerStatus::Running;
  }));
  return {};
}

Result<std::vector<pid_t>> ContainerService::pids(const std::string& ref) {
  Container c = TRY(get(ref));
  if (!c.running()) return Fail(ErrorCode::Conflict, "Container {} is not running", c.id);
  runtime::Runtime rt = ContainerPaths(options_, c.id).runtime();
  return rt.pids(c.id);
}

Result<void> ContainerService::remove(const std::string& ref, bool force, bool remove_volumes) {
  Container c = TRY(get(ref));
  if (c.running()) {
    if (!force) {
      return Fail(ErrorCode::Conflict,
                  "You cannot remove a {} container {}. Stop the container before attempting removal or force remove",
                  to_string(c.state.status), c.id);
    }
    TRY(stop(c.id, 0, "KILL"));
    c = TRY(load(c.id));
  }
  // A monitor that just failed to start the container may still be on its way out.
  ContainerPaths paths(options_, c.id);
  std::optional<UniqueFd> lock;
  for (int i = 0; i < 500 && !(lock = try_lock_monitor(paths.lock, LOCK_EX)); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (!lock) return Fail(ErrorCode::Conflict, "container {} is starting; try again", short_container_id(c.id));
  return discard(c, remove_volumes);
}

Result<void> ContainerService::discard(const Container& c, bool remove_volumes) {
  // The row goes first: a crash after it leaves files without a row, which prune sweeps.
  TRY(forget(c, remove_volumes));
  return remove_files(c.id);
}

Result<void> ContainerService::forget(const Container& c, bool remove_volumes) {
  TRY(records_->remove(c.id));
  if (!remove_volumes) return {};
  // Mounted only in the container's own mount namespace, which died with it.
  for (const auto& m : c.mounts) {
    if (m.volume.empty()) continue;
    auto v = volumes_->get(m.volume);
    if (!v || !v->anonymous()) continue;
    if (auto r = volumes_->remove(m.volume, true); !r) log::warn("remove volume {}: {}", m.volume, r.error().what());
  }
  return {};
}

Result<void> ContainerService::remove_files(const std::string& id) {
  ContainerPaths paths(options_, id);
  runtime::Runtime rt = paths.runtime();
  if (auto r = rt.remove(id, true); !r && r.error().code() != ErrorCode::NotFound)
    log::warn("container {}: {}", short_container_id(id), r.error().what());
  TRY(unmount_container_files(paths));
  ::rmdir(paths.run_dir.c_str());
  if (auto r = images_->snapshots().remove(snapshot_key(id)); !r && r.error().code() != ErrorCode::NotFound)
    return Err(r.error().context("remove the container's filesystem"));
  return remove_all(paths.dir);
}

Result<PruneResult> ContainerService::prune() {
  sweep_orphans();
  PruneResult out;
  ListFilter all;
  all.all = true;
  for (const auto& c : TRY(list(all))) {
    if (c.running()) continue;
    ContainerPaths paths(options_, c.id);
    auto lock = try_lock_monitor(paths.lock, LOCK_EX);
    if (!lock) continue;
    int64_t size = 0;
    if (auto usage = images_->snapshots().usage(snapshot_key(c.id))) size = usage->size;
    TRY(discard(c, false));
    out.deleted.push_back(c.id);
    out.reclaimed += size;
  }
  return out;
}

Result<std::pair<std::string, std::function<void()>>> ContainerService::filesystem(const std::string& ref) {
  Container c = TRY(get(ref));
  // A running container's root as its processes see it, volumes included.
  if (c.running() && c.state.pid > 0) return std::pair<std::string, std::function<void()>>{fmt::format("/proc/{}/root", c.state.pid), [] {}};
  ContainerPaths paths(options_, c.id);
  auto mounts = TRY(images_->snapshots().mounts(snapshot_key(c.id)));
  TRY(make_dirs(paths.rootfs, 0755));
  TRY_CTX("mount the container's filesystem", runtime::mount_list(mounts, paths.rootfs));
  std::string rootfs = paths.rootfs;
  return std::pair<std::string, std::function<void()>>{rootfs, [rootfs] { (void)runtime::unmount_all(rootfs); }};
}

void ContainerService::sweep_orphans() {
  auto names = list_dir(options_.root + "/containers");
  if (!names) return;
  for (const auto& id : *names) {
    auto record = records_->get(id);
    if (!record || *record) continue;
    ContainerPaths paths(options_, id);
    auto lock = try_lock_monitor(paths.lock, LOCK_EX);
    if (!lock) continue;
    if (auto r = remove_files(id); !r) log::warn("container {}: {}", short_container_id(id), r.error().what());
  }
}

}  // namespace berth::engine
