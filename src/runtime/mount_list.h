// Mounting the mount list a snapshotter returns (an overlay, or a bind of a plain directory)
// onto a target directory: how the engine turns a snapshot into a container's rootfs.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "oci/runtime_spec.h"

namespace berth::runtime {

// Mounts each entry on target in order; on failure unmounts what it mounted.
Result<void> mount_list(const std::vector<oci::Mount>& mounts, const std::string& target);
// Detaches whatever is mounted on target (lazily, MNT_DETACH); not mounted is not an error.
Result<void> unmount_all(const std::string& target);

}  // namespace berth::runtime
