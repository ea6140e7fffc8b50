// Parent side of the container's filesystem: turns a spec into a RootfsPlan before clone.
// Everything is parsed, validated (errors name the config field) and built here, as
// NUL-terminated strings and flags, so that the child (rootfs_setup.h) only reads the plan.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "oci/runtime_spec.h"
#include "runtime/devices.h"
#include "runtime/mount_options.h"

namespace berth::runtime {

enum class MountKind {
  Fs,       // a filesystem: proc, tmpfs, devpts, overlay...
  Bind,     // a bind (or rbind) of a host path
  Cgroup1,  // cgroup v1 or hybrid: a tmpfs holding one mount per host hierarchy
  Cgroup2,  // a cgroup2 mount, a bind of the host's cgroup when that is refused
};

// One hierarchy inside a Cgroup1 mount.
struct CgroupSubMount {
  std::string destination;  // "/sys/fs/cgroup/memory" inside the container
  std::string fstype;       // "cgroup"/"cgroup2" for a fresh mount (cgroup namespace); "" = bind
  std::string source;       // host mount point to bind (+ own cgroup), or the fs source name
  std::string mount_root;   // binds: the host mount's root in its hierarchy (usually "/")
  std::string data;         // fresh v1 mounts: "memory", "cpu,cpuacct", "name=systemd"
  std::string controllers;  // key of the hierarchy in /proc/self/cgroup ("" for cgroup2)
};

struct MountStep {
  int index = 0;  // position in spec.mounts: messages say mounts[index]
  MountKind kind = MountKind::Fs;
  std::string destination;  // cleaned absolute path inside the rootfs
  std::string dest_parent;  // its directory and last component (proc/sysfs checks)
  std::string dest_name;
  std::string source;       // binds: absolute host path; else the fs source name
  std::string fstype;       // empty for binds
  unsigned long flags = 0;  // first mount(2): binds MS_BIND[|MS_REC]; else the MS_* options
  std::string data;         // filesystem data ("mode=755,size=65536k")
  bool remount = false;     // binds: a MS_REMOUNT|MS_BIND pass with remount_flags follows
  unsigned long remount_flags = 0;
  // MS_* of the source mount kept on remount unless explicitly cleared ("rw", "suid"...).
  unsigned long keep_flags = 0;
  bool deferred_readonly = false;  // tmpfs and /dev asked ro: mounted rw, made ro in finalize
  std::vector<unsigned long> propagations;
  MountAttrChange recursive_attrs;  // mount_setattr(AT_RECURSIVE) after the mount
  bool target_is_file = false;      // bind of a non-directory: the mount point is a file
  bool tmpcopyup = false;
  bool tmpcopyup_root_attrs = false;  // copy the covered directory's mode/owner (no mode= given)
  // Idmapped bind: the detached, already idmapped tree (open_tree + mount_setattr in the
  // parent) that the child moves onto the destination; shared by copies of the plan.
  std::shared_ptr<const UniqueFd> idmap_tree;
  std::vector<CgroupSubMount> cgroup_subs;       // Cgroup1
  std::vector<std::string> cgroup_link_names;    // Cgroup1: "cpu" -> cgroup_link_targets[i]
  std::vector<std::string> cgroup_link_targets;  //   ("cpu,cpuacct")
  std::string cgroup_fallback_source;            // Cgroup2: host dir bound when mount fails
};

struct RootfsPlan {
  std::string rootfs;                  // absolute, symlink-free host path of the container's root
  bool readonly = false;               // root.readonly: "/" remounted ro in finalize_rootfs
  bool no_pivot = false;               // MS_MOVE + chroot instead of pivot_root
  unsigned long root_propagation = 0;  // applied to the host "/" first: MS_REC|MS_SLAVE
  unsigned long post_pivot_propagation = 0;  // applied to the new "/" (shared/slave asked)
  std::string rootfs_parent_mount;  // mount holding the rootfs, made private for pivot_root
  std::vector<MountStep> mounts;
  bool setup_dev = false;        // /dev is not a bind: create devices and /dev symlinks
  bool devices_by_bind = false;  // user namespace: bind device nodes from the host
  std::vector<DeviceNode> devices;
  bool dev_core_symlink = false;          // /dev/core -> /proc/kcore (the host has /proc/kcore)
  std::vector<std::string> masked_paths;  // cleaned, in spec order
  std::vector<std::string> readonly_paths;
  std::string cwd;               // process.cwd, created if missing; "" = none
  std::string self_cgroup_path;  // read by the child to find its own cgroup for binds
};

// What the runtime knows about the container that the spec alone does not say.
struct PlanOptions {
  bool no_pivot = false;
  bool in_user_namespace = false;     // devices by bind; sysfs/mqueue binds when needed
  bool new_network_namespace = true;  // without one, sysfs in a user namespace is a bind of /sys
  // Test hooks: the host's mount table (cgroup layout, the rootfs' parent mount) and the
  // file the child reads its own cgroup from.
  std::string host_mountinfo_path = "/proc/self/mountinfo";
  std::string self_cgroup_path = "/proc/self/cgroup";
};

// Builds the plan for spec (root, mounts, linux.devices, masked and readonly paths,
// rootfsPropagation). Relative root.path and bind sources are relative to bundle_dir.
// Checks the host side: the rootfs and bind sources must exist. Idmapped binds are cloned
// and idmapped here (a detached tree per mount, needing CAP_SYS_ADMIN), since the child
// may already be inside the container's user namespace. Errors are InvalidArgument or NotFound
// naming the field: "root.path: /b/rootfs: no such directory", "mounts[4].source: /nope: no such
// file or directory", "mounts[3].options: unknown propagation \"rshard\" ...".
Result<RootfsPlan> plan_rootfs(const oci::Spec& spec, const std::string& bundle_dir,
                               const PlanOptions& opts);

// Cleans a path inside the container lexically ("a//b/./c" -> "/a/b/c"; a relative path is
// taken from "/"); a ".." above the root is an error.
Result<std::string> clean_container_path(std::string_view path);

// A user namespace whose maps are the given mappings ("containerID hostID size" lines),
// held by its descriptor, for idmapped mounts. Forks a short-lived helper.
Result<UniqueFd> make_idmap_userns(const std::vector<oci::IdMapping>& uid_mappings,
                                   const std::vector<oci::IdMapping>& gid_mappings);

}  // namespace berth::runtime
