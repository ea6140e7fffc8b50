// Child side of the container's filesystem: executes a RootfsPlan inside the new mount
// namespace, between clone and exec. Nothing here allocates; every step goes through
// MountOps, every path inside the rootfs is resolved with resolve_in_root (a destination
// whose symlinks lead out of the rootfs is refused with EXDEV) and mounted on through its
// descriptor. Each function returns 0, or -1 with err filled ("mounts[3]: mount proc on
// /proc", "mounts[2].destination: /x: symlink \"x\" -> \"../..\" escapes the root").
//
// The container init calls the three phases in order, with other steps between them:
//   prepare_rootfs   (hooks may run here, seeing the prepared rootfs from the host side)
//   enter_rootfs     (then console, sysctls: /proc/sys is still writable)
//   finalize_rootfs
#pragma once

#include "runtime/child_error.h"
#include "runtime/mount_ops.h"
#include "runtime/rootfs_plan.h"

namespace berth::runtime {

// Makes "/" rslave (or the asked rootfsPropagation) recursively, makes the mount holding the
// rootfs private, binds the rootfs onto itself, mounts each of plan.mounts in order, then
// (plan.setup_dev) creates the device nodes and /dev symlinks, and process.cwd.
// Precondition: the caller is in its new mount namespace and in the container's cgroups
// (cgroup binds read the own cgroup from plan.self_cgroup_path).
int prepare_rootfs(const RootfsPlan& plan, MountOps& ops, ChildError* err);

// Makes the rootfs the root: pivot_root(".", ".") then detaches the old root stacked on
// top; with plan.no_pivot (a ramfs root) moves the rootfs over "/" and chroots instead,
// which leaves the host's mounts below, so use it only where pivot_root cannot work.
// Applies a shared/slave/unbindable rootfsPropagation to the new "/" last.
int enter_rootfs(const RootfsPlan& plan, MountOps& ops, ChildError* err);

// After the pivot: readonly paths (bind onto themselves, read-only recursively), masked
// paths (/dev/null bound over files, a read-only tmpfs over directories); missing paths
// are skipped. Then the tmpfs and /dev mounts asked ro are made ro, and with
// plan.readonly "/" too, keeping the flags the kernel locks in a user namespace.
int finalize_rootfs(const RootfsPlan& plan, MountOps& ops, ChildError* err);

}  // namespace berth::runtime
