#include "runtime/cgroup_v2.h"

#include <signal.h>

#include <algorithm>
#include <cerrno>

#include "base/log.h"
#include "base/scope_guard.h"
#include "base/strings.h"
#include "runtime/cgroup_device_bpf.h"

namespace berth::runtime {
namespace {

// The controllers berth enables for its cgroups where the parent offers them, so stats and
// later updates work even when create() asked for no limit.
const std::vector<std::string> kV2Controllers = {"cpuset",  "cpu",  "io",   "memory",
                                                 "hugetlb", "pids", "rdma", "misc"};
constexpr int kFreezeTimeoutMs = 5000;

bool contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  for (auto& line : split(text, '\n')) {
    for (auto& word : split(line, ' ')) {
      if (!word.empty()) out.push_back(word);
    }
  }
  return out;
}

// An OCI byte count where -1 means unlimited.
std::string bytes_or_max(int64_t value) { return value < 0 ? "max" : std::to_string(value); }

Result<void> enable_controllers(CgroupFs& fs, const std::string& dir,
                                const std::vector<std::string>& wanted,
                                const std::vector<std::string>& required) {
  if (wanted.empty() && required.empty()) return {};
  auto available = words(TRY(fs.read(dir + "/cgroup.controllers")));
  for (auto& name : required) {
    if (!contains(available, name)) {
      return Fail(ErrorCode::NotFound,
                  "enable the {} controller in {}/cgroup.subtree_control: {}/cgroup.controllers "
                  "offers only \"{}\"",
                  name, dir, dir, join(available, " "));
    }
  }
  auto enabled = words(TRY(fs.read(dir + "/cgroup.subtree_control")));
  std::vector<std::string> to_enable;
  for (auto* list : {&wanted, &required}) {
    for (auto& name : *list) {
      if (contains(available, name) && !contains(enabled, name) && !contains(to_enable, name)) {
        to_enable.push_back(name);
      }
    }
  }
  if (to_enable.empty()) return {};
  std::vector<std::string> plus;
  for (auto& name : to_enable) plus.push_back("+" + name);
  std::string control = dir + "/cgroup.subtree_control";
  if (fs.write(control, join(plus, " "))) return {};
  // The kernel refused the batch: enable one at a time, leaving out wanted ones it refuses.
  for (auto& name : to_enable) {
    auto one = fs.write(control, "+" + name);
    if (one) continue;
    if (contains(required, name)) return Err(one.error());
    log::debug("cgroup: leaving {} disabled: {}", name, one.error().what());
  }
  return {};
}

class CgroupV2Manager final : public CgroupManager {
 public:
  CgroupV2Manager(std::shared_ptr<CgroupFs> fs, std::string root, std::string rel)
      : fs_(std::move(fs)),
        root_(std::move(root)),
        rel_(std::move(rel)),
        dir_(root_ + "/" + rel_) {}

  Result<void> create(const oci::Resources* resources) override {
    if (resources) TRY(validate(*resources));
    bool existed = fs_->exists(dir_);
    std::vector<std::string> created;
    auto undo = defer([&] { cgroup::remove_created(*fs_, created); });
    auto required = resources ? v2_controllers_for(*resources) : std::vector<std::string>{};
    TRY(prepare_v2_path(*fs_, root_, rel_, kV2Controllers, required, created));
    if (existed && !TRY(cgroup::read_pids(*fs_, dir_)).empty()) {
      return Fail(ErrorCode::Conflict, "create cgroup {}: it exists and has processes", dir_);
    }
    if (resources) TRY(apply(*resources));
    undo.dismiss();
    return {};
  }

  Result<void> add_process(pid_t pid) override {
    if (pid <= 0) return Fail(ErrorCode::InvalidArgument, "add process {} to {}", pid, dir_);
    return cgroup::write_file(*fs_, dir_, "cgroup.procs", std::to_string(pid));
  }

  Result<void> update(const oci::Resources& resources) override {
    TRY(validate(resources));
    if (!fs_->exists(dir_)) {
      return Fail(ErrorCode::NotFound, "update cgroup {}: it does not exist", dir_);
    }
    std::vector<std::string> created;
    TRY(prepare_v2_path(*fs_, root_, rel_, {}, v2_controllers_for(resources), created));
    return apply(resources);
  }

  Result<void> freeze() override { return set_frozen(true); }
  Result<void> thaw() override { return set_frozen(false); }

  Result<bool> is_frozen() override {
    std::string events = TRY(fs_->read(dir_ + "/cgroup.events"));
    return cgroup::keyed_value(events, "frozen").value_or(0) == 1;
  }

  Result<std::vector<pid_t>> pids() override { return cgroup::read_pids(*fs_, dir_); }

  Result<void> kill_all(int signal) override {
    if (signal == SIGKILL && fs_->exists(dir_ + "/cgroup.kill")) {
      return cgroup::write_file(*fs_, dir_, "cgroup.kill", "1");
    }
    // Frozen, the processes can neither fork nor exit between listing and signalling.
    auto frozen = freeze();
    if (!frozen)
      log::warn("kill processes of {} without freezing: {}", dir_, frozen.error().what());
    auto sent = [&]() -> Result<void> { return cgroup::signal_pids(TRY(pids()), signal); }();
    if (frozen) TRY(thaw());
    return sent;
  }

  Result<CgroupStats> stats() override {
    CgroupStats s;
    s.memory_usage = TRY(cgroup::read_counter(*fs_, dir_ + "/memory.current"));
    s.memory_limit = TRY(cgroup::read_counter(*fs_, dir_ + "/memory.max"));
    s.pids_current = TRY(cgroup::read_counter(*fs_, dir_ + "/pids.current"));
    if (auto cpu = fs_->read(dir_ + "/cpu.stat")) {
      s.cpu_usage_ns = cgroup::keyed_value(*cpu, "usage_usec").value_or(0) * 1000;
    }
    if (auto events = fs_->read(dir_ + "/memory.events")) {
      s.oom_kills = cgroup::keyed_value(*events, "oom_kill").value_or(0);
    }
    return s;
  }

  Result<void> destroy() override { return cgroup::remove_tree(*fs_, dir_); }

  std::vector<std::string> paths() const override { return {dir_}; }

 private:
  Result<void> set_frozen(bool frozen) {
    TRY(cgroup::write_file(*fs_, dir_, "cgroup.freeze", frozen ? "1" : "0"));
    return cgroup::poll_until([&]() -> Result<bool> { return TRY(is_frozen()) == frozen; },
                              kFreezeTimeoutMs,
                              fmt::format("{} {}", frozen ? "freeze" : "thaw", dir_));
  }

  Result<void> validate(const oci::Resources& r) {
    for (size_t i = 0; i < r.devices.size(); ++i)
      TRY(cgroup::validate_device_rule(r.devices[i], i));
    if (r.memory) TRY(v2_swap_max(*r.memory));
    if (r.cpu &&
        (r.cpu->realtime_runtime.value_or(0) != 0 || r.cpu->realtime_period.value_or(0) != 0)) {
      return Fail(ErrorCode::InvalidArgument,
                  "linux.resources.cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no "
                  "real-time CPU limits");
    }
    if (r.network && (r.network->class_id || !r.network->priorities.empty())) {
      return Fail(ErrorCode::InvalidArgument,
                  "linux.resources.network: cgroup v2 has no net_cls or net_prio controller");
    }
    for (auto& limit : r.hugepage_limits) TRY(cgroup::validate_page_size(limit.page_size));
    for (auto& [device, limit] : r.rdma) TRY(cgroup::validate_word(device, "linux.resources.rdma"));
    for (auto& [key, value] : r.unified) TRY(cgroup::validate_unified_key(key));
    return {};
  }

  Result<void> apply(const oci::Resources& r) {
    if (r.memory) TRY(apply_memory(*r.memory));
    if (r.cpu) TRY(apply_cpu(*r.cpu));
    if (r.pids) {
      TRY(cgroup::write_file(*fs_, dir_, "pids.max",
                             r.pids->limit > 0 ? std::to_string(r.pids->limit) : "max"));
    }
    if (r.block_io) TRY(apply_io(*r.block_io));
    TRY(apply_v2_hugetlb(*fs_, dir_, r.hugepage_limits));
    for (auto& [device, limit] : r.rdma) {
      TRY(cgroup::write_file(*fs_, dir_, "rdma.max", cgroup::rdma_limit_line(device, limit)));
    }
    if (!r.devices.empty()) {
      auto program = TRY(compile_device_filter(r.devices));
      TRY_CTX("set device rules of " + dir_, fs_->set_device_program(dir_, program));
    }
    return apply_v2_unified(*fs_, dir_, r.unified);
  }

  Result<void> apply_memory(const oci::Memory& m) {
    if (m.check_before_update.value_or(false) && m.limit && *m.limit > 0) {
      uint64_t usage = TRY(cgroup::read_counter(*fs_, dir_ + "/memory.current"));
      if (static_cast<uint64_t>(*m.limit) < usage) {
        return Fail(ErrorCode::Conflict, "set memory limit {} on {}: below current usage {}",
                    *m.limit, dir_, usage);
      }
    }
    if (m.limit) TRY(cgroup::write_file(*fs_, dir_, "memory.max", bytes_or_max(*m.limit)));
    if (m.reservation) {
      TRY(cgroup::write_file(*fs_, dir_, "memory.low", bytes_or_max(*m.reservation)));
    }
    if (auto swap = TRY(v2_swap_max(m))) {
      if (!swap->implicit || fs_->exists(dir_ + "/memory.swap.max")) {
        TRY(cgroup::write_file(*fs_, dir_, "memory.swap.max", swap->value));
      }
    }
    if (m.swappiness) log::warn("linux.resources.memory.swappiness is ignored on cgroup v2");
    if (m.disable_oom_killer.value_or(false)) {
      log::warn("linux.resources.memory.disableOOMKiller is ignored on cgroup v2");
    }
    if (m.kernel || m.kernel_tcp) {
      log::warn("linux.resources.memory.kernel/kernelTCP are ignored on cgroup v2");
    }
    return {};
  }

  Result<void> apply_cpu(const oci::Cpu& c) {
    if (c.shares && *c.shares != 0) {
      TRY(cgroup::write_file(*fs_, dir_, "cpu.weight",
                             std::to_string(cpu_shares_to_weight(*c.shares))));
    }
    int64_t quota = c.quota.value_or(0);
    uint64_t period = c.period.value_or(0);
    if (quota != 0 || period != 0) {
      std::string value = quota > 0 ? std::to_string(quota) : "max";
      if (period != 0) value += " " + std::to_string(period);
      TRY(cgroup::write_file(*fs_, dir_, "cpu.max", value));
    }
    if (c.burst) TRY(cgroup::write_file(*fs_, dir_, "cpu.max.burst", std::to_string(*c.burst)));
    if (c.idle) TRY(cgroup::write_file(*fs_, dir_, "cpu.idle", *c.idle ? "1" : "0"));
    if (!c.cpus.empty()) TRY(cgroup::write_file(*fs_, dir_, "cpuset.cpus", c.cpus));
    if (!c.mems.empty()) TRY(cgroup::write_file(*fs_, dir_, "cpuset.mems", c.mems));
    return {};
  }

  Result<void> apply_io(const oci::BlockIo& b) {
    // With BFQ the weight keeps the blkio scale (1..1000); io.weight has its own.
    bool bfq = fs_->exists(dir_ + "/io.bfq.weight");
    if (b.weight) {
      if (bfq) {
        TRY(cgroup::write_file(*fs_, dir_, "io.bfq.weight", std::to_string(*b.weight)));
      } else {
        TRY(cgroup::write_file(*fs_, dir_, "io.weight",
                               fmt::format("default {}", blkio_weight_to_io_weight(*b.weight))));
      }
    }
    if (b.leaf_weight) log::warn("linux.resources.blockIO.leafWeight is ignored on cgroup v2");
    for (auto& d : b.weight_device) {
      if (!d.weight) continue;
      if (bfq) {
        TRY(cgroup::write_file(*fs_, dir_, "io.bfq.weight",
                               fmt::format("{}:{} {}", d.major, d.minor, *d.weight)));
      } else {
        TRY(cgroup::write_file(
            *fs_, dir_, "io.weight",
            fmt::format("{}:{} {}", d.major, d.minor, blkio_weight_to_io_weight(*d.weight))));
      }
    }
    auto throttle = [&](const std::vector<oci::ThrottleDevice>& list,
                        std::string_view key) -> Result<void> {
      for (auto& d : list) {
        TRY(cgroup::write_file(*fs_, dir_, "io.max",
                               fmt::format("{}:{} {}={}", d.major, d.minor, key, d.rate)));
      }
      return {};
    };
    TRY(throttle(b.throttle_read_bps_device, "rbps"));
    TRY(throttle(b.throttle_write_bps_device, "wbps"));
    TRY(throttle(b.throttle_read_iops_device, "riops"));
    TRY(throttle(b.throttle_write_iops_device, "wiops"));
    return {};
  }

  std::shared_ptr<CgroupFs> fs_;
  std::string root_, rel_, dir_;
};

}  // namespace

uint64_t cpu_shares_to_weight(uint64_t shares) {
  shares = std::clamp<uint64_t>(shares, 2, 262144);
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t blkio_weight_to_io_weight(uint64_t weight) {
  weight = std::clamp<uint64_t>(weight, 10, 1000);
  return 1 + ((weight - 10) * 9999) / 990;
}

Result<std::optional<SwapMax>> v2_swap_max(const oci::Memory& memory) {
  int64_t limit = memory.limit.value_or(0);
  int64_t swap = memory.swap.value_or(0);  // 0 is "not set", as in runc and Docker
  if (swap == 0) {
    if (limit == -1) return SwapMax{"max", true};
    return std::nullopt;
  }
  if (swap == -1) return SwapMax{"max", false};
  if (swap < 0) {
    return Fail(ErrorCode::InvalidArgument, "linux.resources.memory.swap: {} is not a size", swap);
  }
  if (limit <= 0) {
    return Fail(ErrorCode::InvalidArgument,
                "linux.resources.memory.swap: a swap limit needs a memory limit on cgroup v2");
  }
  if (swap < limit) {
    return Fail(ErrorCode::InvalidArgument,
                "linux.resources.memory.swap: {} (memory plus swap) is below the memory limit {}",
                swap, limit);
  }
  return SwapMax{std::to_string(swap - limit), false};
}

std::vector<std::string> v2_controllers_for(const oci::Resources& r) {
  std::vector<std::string> out;
  auto need = [&](std::string_view name) {
    if (!contains(out, name)) out.emplace_back(name);
  };
  if (r.memory && (r.memory->limit || r.memory->reservation || r.memory->swap.value_or(0) != 0)) {
    need("memory");
  }
  if (r.cpu) {
    auto& c = *r.cpu;
    if (c.shares.value_or(0) || c.quota.value_or(0) || c.period.value_or(0) || c.burst || c.idle) {
      need("cpu");
    }
    if (!c.cpus.empty() || !c.mems.empty()) need("cpuset");
  }
  if (r.pids) need("pids");
  if (r.block_io) need("io");
  if (!r.hugepage_limits.empty()) need("hugetlb");
  if (!r.rdma.empty()) need("rdma");
  for (auto& [key, value] : r.unified) {
    std::string prefix = key.substr(0, key.find('.'));
    if (contains(kV2Controllers, prefix)) need(prefix);
  }
  return out;
}

Result<void> prepare_v2_path(CgroupFs& fs, const std::string& root, const std::string& rel,
                             const std::vector<std::string>& wanted,
                             const std::vector<std::string>& required,
                             std::vector<std::string>& created) {
  std::string dir = root;
  for (auto& part : split(rel, '/')) {
    TRY(enable_controllers(fs, dir, wanted, required));
    std::string child = dir + "/" + part;
    if (!fs.exists(child)) {
      auto made = fs.make_dir(child);
      if (made) {
        created.push_back(child);
      } else if (made.error().sys_errno() != EEXIST) {
        return Err(made.error());
      }
    }
    dir = child;
  }
  return {};
}

Result<void> apply_v2_hugetlb(CgroupFs& fs, const std::string& dir,
                              const std::vector<oci::HugepageLimit>& limits) {
  for (auto& limit : limits) {
    TRY(cgroup::validate_page_size(limit.page_size));
    TRY(cgroup::write_file(fs, dir, fmt::format("hugetlb.{}.max", limit.page_size),
                           std::to_string(limit.limit)));
  }
  return {};
}

Result<void> apply_v2_unified(CgroupFs& fs, const std::string& dir,
                              const std::map<std::string, std::string>& unified) {
  for (auto& [key, value] : unified) {
    TRY(cgroup::validate_unified_key(key));
    TRY_CTX("linux.resources.unified." + key, cgroup::write_file(fs, dir, key, value));
  }
  return {};
}

Result<std::unique_ptr<CgroupManager>> make_cgroup_v2_manager(std::shared_ptr<CgroupFs> fs,
                                                              const std::string& root,
                                                              const std::string& rel) {
  if (!fs->exists(root + "/cgroup.controllers")) {
    return Fail(ErrorCode::NotFound, "cgroup v2: {} is not a cgroup2 mount (no cgroup.controllers)",
                root);
  }
  return std::unique_ptr<CgroupManager>(
      std::make_unique<CgroupV2Manager>(std::move(fs), root, rel));
}

}  // namespace berth::runtime
