// The device nodes of a container's /dev: runc's defaults (null, zero, full, random,
// urandom, tty) plus linux.devices, and the /dev symlinks (fd, stdin..., ptmx, core).
// Planning runs in the parent; creating the nodes runs in the child and allocates nothing.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "oci/runtime_spec.h"
#include "runtime/child_error.h"
#include "runtime/mount_ops.h"

namespace berth::runtime {

// One node to create, with every string pre-built for the child.
struct DeviceNode {
  std::string path;    // inside the container, cleaned: "/dev/net/tun"
  std::string parent;  // its directory: "/dev/net"
  std::string name;    // its last component: "tun"
  mode_t type = 0;     // S_IFCHR, S_IFBLK or S_IFIFO
  uint32_t major = 0;
  uint32_t minor = 0;
  mode_t mode = 0666;  // permission bits, set without umask
  uid_t uid = 0;
  gid_t gid = 0;
  std::string field;  // "linux.devices[2]" or "default device", for messages
};

// runc's default devices, all 0666 root:root: null 1:3, zero 1:5, full 1:7, random 1:8,
// urandom 1:9, tty 5:0.
std::vector<DeviceNode> default_devices();

// The defaults merged with linux.devices (an entry with a default's path replaces it),
// validated: absolute paths, type c/u/b/p, major < 4096, minor < 2^20, no duplicates. In a
// user namespace nodes are bind-mounted from the same path on the host, which must exist.
// Errors name the field: "linux.devices[1].type: unknown type \"x\" ...".
Result<std::vector<DeviceNode>> plan_devices(const oci::Spec& spec, bool in_user_namespace);

// Child: creates each node under rootfs_fd. With bind_from_host (a user namespace, where
// mknod of a device is refused) char and block devices become bind mounts of the host's
// node onto an empty file; mknod failing with EPERM falls back to the same. An existing
// node is kept. Returns 0, or -1 with err filled.
int create_devices(int rootfs_fd, std::span<const DeviceNode> devices, bool bind_from_host,
                   MountOps& ops, ChildError* err);

// Child: /dev/ptmx -> pts/ptmx (replacing a node), /dev/fd -> /proc/self/fd, stdin, stdout
// and stderr -> /proc/self/fd/0..2, and with_kcore /dev/core -> /proc/kcore. Existing links
// are kept. Returns 0, or -1 with err filled.
int create_dev_symlinks(int rootfs_fd, bool with_kcore, MountOps& ops, ChildError* err);

}  // namespace berth::runtime
