// cgroup v2: the container's cgroup is one directory of the unified hierarchy. Also the pieces
// the hybrid layout reuses for its directory in <root>/unified, and the OCI (v1-shaped) to v2
// value conversions.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "oci/runtime_spec.h"
#include "runtime/cgroup_manager.h"

namespace berth::runtime {

// The manager for root/rel on a pure cgroup v2 host.
Result<std::unique_ptr<CgroupManager>> make_cgroup_v2_manager(std::shared_ptr<CgroupFs> fs,
                                                              const std::string& root,
                                                              const std::string& rel);

// cpu.shares (v1, 2..262144) to cpu.weight (1..10000): 1 + ((shares - 2) * 9999) / 262142, the
// conversion runc and crun use, so 1024 shares are weight 39 everywhere.
uint64_t cpu_shares_to_weight(uint64_t shares);

// A blkio weight (10..1000) to io.weight (1..10000): 1 + ((weight - 10) * 9999) / 990.
uint64_t blkio_weight_to_io_weight(uint64_t weight);

// What to write to memory.swap.max for OCI memory, whose swap counts memory plus swap:
// swap - limit, "max" for swap -1. implicit marks the "max" that an unlimited memory limit
// implies when swap is not given (written only where the file exists). nullopt: leave it.
struct SwapMax {
  std::string value;
  bool implicit = false;
};
Result<std::optional<SwapMax>> v2_swap_max(const oci::Memory& memory);

// The controllers resources need ("memory", "pids", ...), for cgroup.subtree_control.
std::vector<std::string> v2_controllers_for(const oci::Resources& resources);

// Makes root/rel and its missing parents (appending each to created) and enables controllers
// in the cgroup.subtree_control of every ancestor of the leaf: each wanted one the ancestor's
// cgroup.controllers offers, and each required one or an error naming it and the ancestor.
Result<void> prepare_v2_path(CgroupFs& fs, const std::string& root, const std::string& rel,
                             const std::vector<std::string>& wanted,
                             const std::vector<std::string>& required,
                             std::vector<std::string>& created);

// Writes hugetlb.<size>.max for each limit into dir.
Result<void> apply_v2_hugetlb(CgroupFs& fs, const std::string& dir,
                              const std::vector<oci::HugepageLimit>& limits);

// Writes linux.resources.unified verbatim, each key a file of dir (keys validated).
Result<void> apply_v2_unified(CgroupFs& fs, const std::string& dir,
                              const std::map<std::string, std::string>& unified);

}  // namespace berth::runtime
