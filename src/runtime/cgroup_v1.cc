#include "runtime/cgroup_v1.h"

#include <algorithm>
#include <cerrno>
#include <map>

#include "base/log.h"
#include "base/scope_guard.h"
#include "base/strings.h"
#include "runtime/cgroup_v2.h"

namespace berth::runtime {
namespace {

const std::vector<std::string> kV1Controllers = {
    "memory", "cpu",     "cpuacct", "cpuset",   "pids", "devices",   "freezer",
    "blkio",  "hugetlb", "net_cls", "net_prio", "rdma", "perf_event"};
constexpr int kFreezeTimeoutMs = 5000;
// The kernel's "no limit" for v1 memory files: PAGE_COUNTER_MAX pages, 9223372036854771712.
constexpr uint64_t kV1Unlimited = 0x7FFFFFFFFFFFF000ULL;

bool contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::string device_id(const std::optional<int64_t>& id) { return id ? std::to_string(*id) : "*"; }

// A v1 devices.allow / devices.deny line: "c 1:3 rwm", "a *:* rwm".
std::string device_line(const oci::DeviceRule& rule) {
  return fmt::format("{} {}:{} {}", rule.type.empty() ? "a" : rule.type, device_id(rule.major),
                     device_id(rule.minor), rule.access.empty() ? "rwm" : rule.access);
}

// One mounted v1 hierarchy: its root and the controllers it carries.
struct Hierarchy {
  std::string root;
  std::vector<std::string> controllers;
};

class CgroupV1Manager final : public CgroupManager {
 public:
  CgroupV1Manager(std::shared_ptr<CgroupFs> fs, std::string mount_root, std::string rel,
                  std::vector<Hierarchy> hierarchies, bool hybrid)
      : fs_(std::move(fs)),
        mount_root_(std::move(mount_root)),
        rel_(std::move(rel)),
        hierarchies_(std::move(hierarchies)),
        hybrid_(hybrid),
        unified_root_(mount_root_ + "/unified") {}

  Result<void> create(const oci::Resources* resources) override {
    if (resources) TRY(validate(*resources));
    std::vector<std::string> created;
    auto undo = defer([&] { cgroup::remove_created(*fs_, created); });
    for (auto& h : hierarchies_) {
      std::string dir = h.root + "/" + rel_;
      bool existed = fs_->exists(dir);
      TRY(cgroup::make_dirs(*fs_, h.root, rel_, created));
      if (existed && !TRY(cgroup::read_pids(*fs_, dir)).empty()) {
        return Fail(ErrorCode::Conflict, "create cgroup {}: it exists and has processes", dir);
      }
    }
    if (auto cpuset = root_of("cpuset")) TRY(init_cpuset(*cpuset));
    if (hybrid_) {
      std::string dir = unified_root_ + "/" + rel_;
      bool existed = fs_->exists(dir);
      TRY(prepare_v2_path(*fs_, unified_root_, rel_, {}, unified_controllers(resources), created));
      if (existed && !TRY(cgroup::read_pids(*fs_, dir)).empty()) {
        return Fail(ErrorCode::Conflict, "create cgroup {}: it exists and has processes", dir);
      }
    }
    if (resources) TRY(apply(*resources));
    undo.dismiss();
    return {};
  }

  Result<void> add_process(pid_t pid) override {
    if (pid <= 0) return Fail(ErrorCode::InvalidArgument, "add process {} to cgroup {}", pid, rel_);
    for (auto& dir : paths())
      TRY(cgroup::write_file(*fs_, dir, "cgroup.procs", std::to_string(pid)));
    return {};
  }

  Result<void> update(const oci::Resources& resources) override {
    TRY(validate(resources));
    for (auto& dir : paths()) {
      if (!fs_->exists(dir))
        return Fail(ErrorCode::NotFound, "update cgroup {}: it does not exist", dir);
    }
    if (hybrid_) {
      std::vector<std::string> created;
      TRY(prepare_v2_path(*fs_, unified_root_, rel_, {}, unified_controllers(&resources), created));
    }
    return apply(resources);
  }

  Result<void> freeze() override {
    std::string dir = TRY(dir_of("freezer", "freeze"));
    TRY(cgroup::write_file(*fs_, dir, "freezer.state", "FROZEN"));
    auto frozen = cgroup::poll_until(
        [&]() -> Result<bool> {
          std::string state(trim(TRY(fs_->read(dir + "/freezer.state"))));
          if (state == "FROZEN") return true;
          // A task that was busy when the freeze began can leave the cgroup FREEZING: ask again.
          TRY(cgroup::write_file(*fs_, dir, "freezer.state", "FROZEN"));
          return false;
        },
        kFreezeTimeoutMs, "freeze " + dir);
    if (!frozen) {
      if (auto thawed = cgroup::write_file(*fs_, dir, "freezer.state", "THAWED"); !thawed) {
        log::warn("thaw {} after a failed freeze: {}", dir, thawed.error().what());
      }
      return frozen;
    }
    return {};
  }

  Result<void> thaw() override {
    std::string dir = TRY(dir_of("freezer", "thaw"));
    TRY(cgroup::write_file(*fs_, dir, "freezer.state", "THAWED"));
    return cgroup::poll_until([&]() -> Result<bool> { return !TRY(is_frozen()); }, kFreezeTimeoutMs,
                              "thaw " + dir);
  }

  Result<bool> is_frozen() override {
    auto root = root_of("freezer");
    if (!root) return false;  // without a freezer nothing can be frozen
    std::string state(trim(TRY(fs_->read(*root + "/" + rel_ + "/freezer.state"))));
    return state == "FROZEN";
  }

  Result<std::vector<pid_t>> pids() override { return cgroup::read_pids(*fs_, primary_dir()); }

  Result<void> kill_all(int signal) override {
    // Frozen, the processes can neither fork nor exit between listing and signalling.
    bool frozen = false;
    if (root_of("freezer")) {
      auto f = freeze();
      if (f)
        frozen = true;
      else
        log::warn("kill processes of {} without freezing: {}", rel_, f.error().what());
    }
    auto sent = [&]() -> Result<void> { return cgroup::signal_pids(TRY(pids()), signal); }();
    if (frozen) TRY(thaw());
    return sent;
  }

  Result<CgroupStats> stats() override {
    CgroupStats s;
    if (auto root = root_of("memory")) {
      std::string dir = *root + "/" + rel_;
      s.memory_usage = TRY(cgroup::read_counter(*fs_, dir + "/memory.usage_in_bytes"));
      s.memory_limit = TRY(cgroup::read_counter(*fs_, dir + "/memory.limit_in_bytes"));
      if (s.memory_limit >= kV1Unlimited) s.memory_limit = UINT64_MAX;
      if (auto oom = fs_->read(dir + "/memory.oom_control")) {
        s.oom_kills = cgroup::keyed_value(*oom, "oom_kill").value_or(0);
      }
    }
    if (auto root = root_of("cpuacct")) {
      s.cpu_usage_ns = TRY(cgroup::read_counter(*fs_, *root + "/" + rel_ + "/cpuacct.usage"));
    }
    if (auto root = root_of("pids")) {
      s.pids_current = TRY(cgroup::read_counter(*fs_, *root + "/" + rel_ + "/pids.current"));
    }
    return s;
  }

  Result<void> destroy() override {
    Result<void> first_error;
    for (auto& dir : paths()) {
      auto removed = cgroup::remove_tree(*fs_, dir);
      if (!removed && first_error) first_error = Err(removed.error());
    }
    return first_error;
  }

  std::vector<std::string> paths() const override {
    std::vector<std::string> out;
    for (auto& h : hierarchies_) out.push_back(h.root + "/" + rel_);
    if (hybrid_) out.push_back(unified_root_ + "/" + rel_);
    return out;
  }

 private:
  std::optional<std::string> root_of(std::string_view controller) const {
    for (auto& h : hierarchies_) {
      if (contains(h.controllers, controller)) return h.root;
    }
    return std::nullopt;
  }

  // The leaf directory in the controller's hierarchy, or an error saying what needed it.
  Result<std::string> dir_of(std::string_view controller, std::string_view what) const {
    auto root = root_of(controller);
    if (!root) {
      return Fail(ErrorCode::NotFound, "{}: no {} cgroup hierarchy is mounted under {}", what,
                  controller, mount_root_);
    }
    return *root + "/" + rel_;
  }

  // Where processes are listed: the freezer's hierarchy, which kill_all freezes.
  std::string primary_dir() const {
    for (std::string_view c : {"freezer", "pids", "memory"}) {
      if (auto root = root_of(c)) return *root + "/" + rel_;
    }
    return hierarchies_.front().root + "/" + rel_;
  }

  // Hybrid: the unified hierarchy takes hugetlb when v1 has no hugetlb hierarchy.
  bool hugetlb_on_unified() const { return hybrid_ && !root_of("hugetlb"); }

  // The controllers the unified directory needs: hugetlb's when it takes the hugepage limits,
  // and those the unified keys name.
  std::vector<std::string> unified_controllers(const oci::Resources* r) const {
    if (!r) return {};
    oci::Resources v2_part;
    v2_part.unified = r->unified;
    if (hugetlb_on_unified()) v2_part.hugepage_limits = r->hugepage_limits;
    return v2_controllers_for(v2_part);
  }

  // A new cpuset cgroup has no CPUs or memory nodes, and adding a task to it fails: copy the
  // parent's into every level that is still empty.
  Result<void> init_cpuset(const std::string& root) {
    std::string parent = root;
    for (auto& part : split(rel_, '/')) {
      std::string dir = parent + "/" + part;
      for (std::string_view file : {"cpuset.cpus", "cpuset.mems"}) {
        std::string mine(trim(TRY(fs_->read(fmt::format("{}/{}", dir, file)))));
        if (!mine.empty()) continue;
        std::string inherited(trim(TRY(fs_->read(fmt::format("{}/{}", parent, file)))));
        TRY(cgroup::write_file(*fs_, dir, file, inherited));
      }
      parent = dir;
    }
    return {};
  }

  Result<void> validate(const oci::Resources& r) const {
    for (size_t i = 0; i < r.devices.size(); ++i) {
      auto& d = r.devices[i];
      TRY(cgroup::validate_device_rule(d, i));
      // The v1 kernel reads any "a" line as all devices with all access: a narrower "a" rule
      // would silently widen to everything, so it is refused.
      bool all_access = d.access.empty() || (d.access.find('r') != std::string::npos &&
                                             d.access.find('w') != std::string::npos &&
                                             d.access.find('m') != std::string::npos);
      if ((d.type.empty() || d.type == "a") && (d.major || d.minor || !all_access)) {
        return Fail(ErrorCode::InvalidArgument,
                    "linux.resources.devices[{}]: cgroup v1 cannot narrow a type \"a\" rule by "
                    "number or access; use separate \"b\" and \"c\" rules",
                    i);
      }
    }
    for (auto& limit : r.hugepage_limits) TRY(cgroup::validate_page_size(limit.page_size));
    for (auto& [device, limit] : r.rdma) TRY(cgroup::validate_word(device, "linux.resources.rdma"));
    if (r.network) {
      for (auto& p : r.network->priorities) {
        TRY(cgroup::validate_word(p.name, "linux.resources.network.priorities"));
      }
    }
    if (!r.unified.empty() && !hybrid_) {
      return Fail(ErrorCode::InvalidArgument,
                  "linux.resources.unified: needs cgroup v2, and {} has cgroup v1 only",
                  mount_root_);
    }
    for (auto& [key, value] : r.unified) TRY(cgroup::validate_unified_key(key));
    if (r.memory) {
      auto& m = *r.memory;
      if (m.swappiness && *m.swappiness > 100) {
        return Fail(ErrorCode::InvalidArgument,
                    "linux.resources.memory.swappiness: {} is above 100", *m.swappiness);
      }
      int64_t swap = m.swap.value_or(0);
      if (swap > 0 && m.limit.value_or(0) > 0 && swap < *m.limit) {
        return Fail(
            ErrorCode::InvalidArgument,
            "linux.resources.memory.swap: {} (memory plus swap) is below the memory limit {}", swap,
            *m.limit);
      }
    }
    // Every controller a resource needs must be mounted, checked before anything is created.
    auto need = [&](bool wanted, std::string_view controller,
                    std::string_view field) -> Result<void> {
      if (wanted) TRY(dir_of(controller, fmt::format("linux.resources.{}", field)));
      return {};
    };
    TRY(need(r.memory.has_value(), "memory", "memory"));
    if (r.cpu) {
      auto& c = *r.cpu;
      TRY(need(c.shares || c.quota || c.period || c.burst || c.realtime_runtime ||
                   c.realtime_period || c.idle,
               "cpu", "cpu"));
      TRY(need(!c.cpus.empty() || !c.mems.empty(), "cpuset", "cpu.cpus"));
    }
    TRY(need(r.pids.has_value(), "pids", "pids"));
    TRY(need(!r.devices.empty(), "devices", "devices"));
    TRY(need(r.block_io.has_value(), "blkio", "blockIO"));
    TRY(need(!r.hugepage_limits.empty() && !hugetlb_on_unified(), "hugetlb", "hugepageLimits"));
    TRY(need(r.network && r.network->class_id, "net_cls", "network.classID"));
    TRY(need(r.network && !r.network->priorities.empty(), "net_prio", "network.priorities"));
    TRY(need(!r.rdma.empty(), "rdma", "rdma"));
    return {};
  }

  Result<void> apply(const oci::Resources& r) {
    if (r.memory) TRY(apply_memory(*r.memory));
    if (r.cpu) TRY(apply_cpu(*r.cpu));
    if (r.pids) {
      TRY(cgroup::write_file(*fs_, TRY(dir_of("pids", "pids")), "pids.max",
                             r.pids->limit > 0 ? std::to_string(r.pids->limit) : "max"));
    }
    if (!r.devices.empty()) {
      // Replayed in order: the kernel keeps v1 device rules as a default plus exceptions, and
      // an "a" rule resets both, exactly the semantics of the list.
      std::string dir = TRY(dir_of("devices", "devices"));
      for (auto& rule : r.devices) {
        TRY(cgroup::write_file(*fs_, dir, rule.allow ? "devices.allow" : "devices.deny",
                               device_line(rule)));
      }
    }
    if (r.block_io) TRY(apply_blkio(*r.block_io));
    if (!r.hugepage_limits.empty()) {
      if (hugetlb_on_unified()) {
        TRY(apply_v2_hugetlb(*fs_, unified_root_ + "/" + rel_, r.hugepage_limits));
      } else {
        std::string dir = TRY(dir_of("hugetlb", "hugepageLimits"));
        for (auto& limit : r.hugepage_limits) {
          TRY(cgroup::write_file(*fs_, dir,
                                 fmt::format("hugetlb.{}.limit_in_bytes", limit.page_size),
                                 std::to_string(limit.limit)));
        }
      }
    }
    if (r.network && r.network->class_id) {
      TRY(cgroup::write_file(*fs_, TRY(dir_of("net_cls", "network")), "net_cls.classid",
                             std::to_string(*r.network->class_id)));
    }
    if (r.network) {
      for (auto& p : r.network->priorities) {
        TRY(cgroup::write_file(*fs_, TRY(dir_of("net_prio", "network")), "net_prio.ifpriomap",
                               fmt::format("{} {}", p.name, p.priority)));
      }
    }
    for (auto& [device, limit] : r.rdma) {
      TRY(cgroup::write_file(*fs_, TRY(dir_of("rdma", "rdma")), "rdma.max",
                             cgroup::rdma_limit_line(device, limit)));
    }
    if (hybrid_) TRY(apply_v2_unified(*fs_, unified_root_ + "/" + rel_, r.unified));
    return {};
  }

  Result<void> apply_memory(const oci::Memory& m) {
    std::string dir = TRY(dir_of("memory", "memory"));
    auto write = [&](std::string_view file, int64_t value) {
      return cgroup::write_file(*fs_, dir, file, std::to_string(value));
    };
    std::string memsw = dir + "/memory.memsw.limit_in_bytes";
    bool has_memsw = fs_->exists(memsw);
    bool set_limit = m.limit.has_value();
    int64_t limit = m.limit.value_or(0);
    int64_t swap = m.swap.value_or(0);  // 0 is "not set", as in runc and Docker
    if (set_limit && limit == -1 && swap == 0 && has_memsw) swap = -1;  // unlimited, swap too
    bool set_swap = swap != 0;
    if (set_swap && !has_memsw) {
      return Fail(ErrorCode::NotFound,
                  "set memory+swap limit {}: {} does not exist (the kernel does not account "
                  "swap; boot it with swapaccount=1)",
                  swap, memsw);
    }
    if (m.check_before_update.value_or(false) && limit > 0) {
      uint64_t usage = TRY(cgroup::read_counter(*fs_, dir + "/memory.usage_in_bytes"));
      if (static_cast<uint64_t>(limit) < usage) {
        return Fail(ErrorCode::Conflict, "set memory limit {} on {}: below current usage {}", limit,
                    dir, usage);
      }
    }
    // The kernel keeps limit <= memsw at every step: raising, memsw goes first; lowering, last.
    bool swap_first = false;
    if (set_limit && set_swap) {
      uint64_t current = TRY(cgroup::read_counter(*fs_, dir + "/memory.limit_in_bytes"));
      swap_first = swap == -1 || current < static_cast<uint64_t>(swap);
    }
    if (set_swap && swap_first) TRY(write("memory.memsw.limit_in_bytes", swap));
    if (set_limit) TRY(write("memory.limit_in_bytes", limit));
    if (set_swap && !swap_first) TRY(write("memory.memsw.limit_in_bytes", swap));
    if (m.reservation) TRY(write("memory.soft_limit_in_bytes", *m.reservation));
    if (m.kernel_tcp) TRY(write("memory.kmem.tcp.limit_in_bytes", *m.kernel_tcp));
    if (m.kernel) log::warn("linux.resources.memory.kernel is ignored: the kernel deprecated it");
    if (m.swappiness) {
      TRY(cgroup::write_file(*fs_, dir, "memory.swappiness", std::to_string(*m.swappiness)));
    }
    if (m.disable_oom_killer) {
      TRY(cgroup::write_file(*fs_, dir, "memory.oom_control", *m.disable_oom_killer ? "1" : "0"));
    }
    if (m.use_hierarchy) {
      TRY(cgroup::write_file(*fs_, dir, "memory.use_hierarchy", *m.use_hierarchy ? "1" : "0"));
    }
    return {};
  }

  Result<void> apply_cpu(const oci::Cpu& c) {
    if (c.shares || c.quota || c.period || c.burst || c.realtime_runtime || c.realtime_period ||
        c.idle) {
      std::string dir = TRY(dir_of("cpu", "cpu"));
      auto write = [&](std::string_view file, auto value) {
        return cgroup::write_file(*fs_, dir, file, fmt::format("{}", value));
      };
      if (c.shares && *c.shares != 0) TRY(write("cpu.shares", *c.shares));
      int64_t quota = c.quota.value_or(0);  // 0 is "not set"
      bool quota_done = false;
      if (c.period && *c.period != 0) {
        auto period = write("cpu.cfs_period_us", *c.period);
        if (!period && period.error().sys_errno() == EINVAL && quota != 0) {
          // The new period only fits the new quota: set the quota first.
          TRY(write("cpu.cfs_quota_us", quota));
          quota_done = true;
          TRY(write("cpu.cfs_period_us", *c.period));
        } else if (!period) {
          return Err(period.error());
        }
      }
      if (quota != 0 && !quota_done) TRY(write("cpu.cfs_quota_us", quota));
      if (c.burst) TRY(write("cpu.cfs_burst_us", *c.burst));
      // The runtime must fit the period, so the period goes first.
      if (c.realtime_period) TRY(write("cpu.rt_period_us", *c.realtime_period));
      if (c.realtime_runtime) TRY(write("cpu.rt_runtime_us", *c.realtime_runtime));
      if (c.idle) TRY(write("cpu.idle", *c.idle ? 1 : 0));
    }
    if (!c.cpus.empty()) {
      TRY(cgroup::write_file(*fs_, TRY(dir_of("cpuset", "cpu.cpus")), "cpuset.cpus", c.cpus));
    }
    if (!c.mems.empty()) {
      TRY(cgroup::write_file(*fs_, TRY(dir_of("cpuset", "cpu.mems")), "cpuset.mems", c.mems));
    }
    return {};
  }

  Result<void> apply_blkio(const oci::BlockIo& b) {
    std::string dir = TRY(dir_of("blkio", "blockIO"));
    // Kernels with BFQ name the weight files blkio.bfq.*.
    bool bfq = !fs_->exists(dir + "/blkio.weight") && fs_->exists(dir + "/blkio.bfq.weight");
    std::string weight_file = bfq ? "blkio.bfq.weight" : "blkio.weight";
    std::string weight_device_file = bfq ? "blkio.bfq.weight_device" : "blkio.weight_device";
    if (b.weight) TRY(cgroup::write_file(*fs_, dir, weight_file, std::to_string(*b.weight)));
    if (b.leaf_weight) {
      TRY(cgroup::write_file(*fs_, dir, "blkio.leaf_weight", std::to_string(*b.leaf_weight)));
    }
    for (auto& d : b.weight_device) {
      if (d.weight) {
        TRY(cgroup::write_file(*fs_, dir, weight_device_file,
                               fmt::format("{}:{} {}", d.major, d.minor, *d.weight)));
      }
      if (d.leaf_weight) {
        TRY(cgroup::write_file(*fs_, dir, "blkio.leaf_weight_device",
                               fmt::format("{}:{} {}", d.major, d.minor, *d.leaf_weight)));
      }
    }
    auto throttle = [&](const std::vector<oci::ThrottleDevice>& list,
                        std::string_view file) -> Result<void> {
      for (auto& d : list) {
        TRY(cgroup::write_file(*fs_, dir, file, fmt::format("{}:{} {}", d.major, d.minor, d.rate)));
      }
      return {};
    };
    TRY(throttle(b.throttle_read_bps_device, "blkio.throttle.read_bps_device"));
    TRY(throttle(b.throttle_write_bps_device, "blkio.throttle.write_bps_device"));
    TRY(throttle(b.throttle_read_iops_device, "blkio.throttle.read_iops_device"));
    TRY(throttle(b.throttle_write_iops_device, "blkio.throttle.write_iops_device"));
    return {};
  }

  std::shared_ptr<CgroupFs> fs_;
  std::string mount_root_, rel_;
  std::vector<Hierarchy> hierarchies_;
  bool hybrid_;
  std::string unified_root_;
};

// The v1 hierarchies mounted under root: one per real directory, so the symlinks a joint
// mount comes with (cpu -> cpu,cpuacct) do not make it count twice.
Result<std::vector<Hierarchy>> find_hierarchies(CgroupFs& fs, const std::string& root) {
  std::vector<std::string> names = kV1Controllers;
  if (auto dirs = fs.child_dirs(root)) {
    for (auto& name : *dirs) {
      if (name.find(',') != std::string::npos) names.push_back(name);
    }
  }
  std::string real_root = TRY(fs.real_path(root));
  std::map<std::string, Hierarchy> by_real;
  for (auto& name : names) {
    std::string path = root + "/" + name;
    if (!fs.exists(path + "/cgroup.procs")) continue;
    std::string real = TRY(fs.real_path(path));
    std::string base = real.substr(real.rfind('/') + 1);
    Hierarchy& h = by_real[real];
    // Name it under root when it is there (cpu,cpuacct), else by where the symlink points.
    h.root = real.substr(0, real.rfind('/')) == real_root ? root + "/" + base : real;
    for (auto& c : split(base, ',')) {
      if (contains(kV1Controllers, c) && !contains(h.controllers, c)) h.controllers.push_back(c);
    }
    if (contains(kV1Controllers, name) && !contains(h.controllers, name)) {
      h.controllers.push_back(name);
    }
  }
  std::vector<Hierarchy> out;
  for (auto& [real, h] : by_real) {
    if (!h.controllers.empty()) out.push_back(std::move(h));
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<CgroupManager>> make_cgroup_v1_manager(std::shared_ptr<CgroupFs> fs,
                                                              const std::string& root,
                                                              const std::string& rel, bool hybrid) {
  auto hierarchies = TRY(find_hierarchies(*fs, root));
  if (hierarchies.empty()) {
    return Fail(ErrorCode::NotFound, "cgroup v1: no controller hierarchy is mounted under {}",
                root);
  }
  if (hybrid && !fs->exists(root + "/unified/cgroup.controllers")) {
    return Fail(ErrorCode::NotFound, "cgroup hybrid: {}/unified is not a cgroup2 mount", root);
  }
  return std::unique_ptr<CgroupManager>(
      std::make_unique<CgroupV1Manager>(std::move(fs), root, rel, std::move(hierarchies), hybrid));
}

}  // namespace berth::runtime
