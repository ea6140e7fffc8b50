// cgroup v1: the container's cgroup is one directory in each controller hierarchy mounted under
// the root (joint mounts such as cpu,cpuacct used once). The hybrid layout is v1 plus a
// directory at the same relative path in the cgroup2 hierarchy at <root>/unified, which every
// process joins too (and which takes the hugetlb limits when v1 has no hugetlb hierarchy).
#pragma once

#include <memory>
#include <string>

#include "base/error.h"
#include "runtime/cgroup_manager.h"

namespace berth::runtime {

// The manager for rel in every v1 hierarchy under root; hybrid adds root/unified/rel.
Result<std::unique_ptr<CgroupManager>> make_cgroup_v1_manager(std::shared_ptr<CgroupFs> fs,
                                                              const std::string& root,
                                                              const std::string& rel, bool hybrid);

}  // namespace berth::runtime
