#include "runtime/rootfs_setup.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "base/root_path.h"
#include "base/unique_fd.h"
#include "runtime/devices.h"
#include "runtime/mount_options.h"

namespace berth::runtime {
namespace {

constexpr size_t kMsgLen = PATH_MAX + 256;

// Resolves a mount's destination (or path under it) inside the rootfs; -1 with err filled.
int resolve_dest(int root_fd, const MountStep& s, const char* path, ResolveCreate create,
                 ChildError* err) {
  char msg[kMsgLen];
  int fd = resolve_in_root(root_fd, path, create, msg, sizeof(msg));
  if (fd < 0) return child_fail(err, -fd, "mounts[%d].destination: %s", s.index, msg);
  return fd;
}

// MS_REMOUNT|MS_BIND with flags, plus the source mount's flags in keep; on EPERM (flags
// locked in a user namespace) once more with every flag the mount has.
int bind_remount(MountOps& ops, int fd, unsigned long flags, unsigned long keep) {
  unsigned long st = 0;
  if (ops.statfs_flags(fd, &st) != 0) return -1;
  const unsigned long locked = mount_flags_from_statfs(st);
  const unsigned long f = MS_BIND | MS_REMOUNT | flags | (locked & keep);
  if (ops.mount_at(nullptr, fd, nullptr, f, nullptr) == 0) return 0;
  if (errno != EPERM || (f | locked) == f) return -1;
  return ops.mount_at(nullptr, fd, nullptr, f | locked, nullptr);
}

// Propagation changes, then recursive attributes, on the mount at fd.
int apply_propagation_and_attrs(MountOps& ops, int fd, const MountStep& s, ChildError* err) {
  for (unsigned long p : s.propagations) {
    if (ops.mount_at(nullptr, fd, nullptr, p, nullptr) != 0) {
      return child_fail(err, errno, "mounts[%d]: set propagation 0x%lx on %s", s.index, p,
                        s.destination.c_str());
    }
  }
  if (!s.recursive_attrs.empty()) {
    mount_attr attr{};
    attr.attr_set = s.recursive_attrs.attr_set;
    attr.attr_clr = s.recursive_attrs.attr_clr;
    if (ops.mount_setattr(fd, AT_RECURSIVE, &attr) != 0) {
      return child_fail(err, errno, "mounts[%d]: mount_setattr(set 0x%llx, clear 0x%llx) on %s",
                        s.index, static_cast<unsigned long long>(attr.attr_set),
                        static_cast<unsigned long long>(attr.attr_clr), s.destination.c_str());
    }
  }
  return 0;
}

bool same_controllers(std::string_view a, std::string_view b) {
  auto count = [](std::string_view s) {
    return s.empty() ? 0 : 1 + static_cast<int>(std::count(s.begin(), s.end(), ','));
  };
  if (count(a) != count(b)) return false;
  while (!a.empty()) {
    size_t comma = a.find(',');
    std::string_view item = a.substr(0, comma);
    bool found = false;
    for (std::string_view rest = b; !found;) {
      size_t c = rest.find(',');
      found = rest.substr(0, c) == item;
      if (c == std::string_view::npos) break;
      rest.remove_prefix(c + 1);
    }
    if (!found) return false;
    a = comma == std::string_view::npos ? std::string_view() : a.substr(comma + 1);
  }
  return true;
}

// Host path of the caller's own cgroup in a hierarchy: mount point + its path from the
// /proc/self/cgroup line whose controllers match ("" is the cgroup2 line "0::/path"),
// relative to the mount's root.
int own_cgroup_source(const char* cgroup_file, const char* controllers, const char* mount_point,
                      const char* mount_root, char* out, size_t outlen) {
  char buf[8192];
  int fd = ::open(cgroup_file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t len = 0;
  while (len < sizeof(buf) - 1) {
    ssize_t n = ::read(fd, buf + len, sizeof(buf) - 1 - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += static_cast<size_t>(n);
  }
  ::close(fd);
  buf[len] = '\0';
  for (char* line = buf; line && *line;) {
    char* next = std::strchr(line, '\n');
    if (next) *next++ = '\0';
    char* c1 = std::strchr(line, ':');
    char* c2 = c1 ? std::strchr(c1 + 1, ':') : nullptr;
    if (c2 &&
        same_controllers(std::string_view(c1 + 1, static_cast<size_t>(c2 - c1 - 1)), controllers)) {
      const char* path = c2 + 1;
      size_t root_len = std::strlen(mount_root);
      if (root_len > 1 && std::strncmp(path, mount_root, root_len) == 0) path += root_len;
      if (std::strcmp(path, "/") == 0) path = "";
      if (static_cast<size_t>(std::snprintf(out, outlen, "%s%s", mount_point, path)) >= outlen) {
        errno = ENAMETOOLONG;
        return -1;
      }
      return 0;
    }
    line = next;
  }
  errno = ENOENT;
  return -1;
}

int mount_fs(int root, const MountStep& s, MountOps& ops, ChildError* err) {
  if (s.fstype == "proc" || s.fstype == "sysfs") {
    // Never mount these through a symlink, which an image could aim elsewhere.
    int parent = resolve_dest(root, s, s.dest_parent.c_str(), ResolveCreate::Dir, err);
    if (parent < 0) return -1;
    UniqueFd parent_fd(parent);
    struct stat st;
    if (::fstatat(parent, s.dest_name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        !S_ISDIR(st.st_mode)) {
      return child_fail(
          err, ENOTDIR,
          "mounts[%d].destination: %s must be mounted on a directory, not a symlink or file",
          s.index, s.fstype.c_str());
    }
  }
  int fd = resolve_dest(root, s, s.destination.c_str(), ResolveCreate::Dir, err);
  if (fd < 0) return -1;
  UniqueFd below(fd);
  if (ops.mount_at(s.source.c_str(), fd, s.fstype.c_str(), s.flags,
                   s.data.empty() ? nullptr : s.data.c_str()) != 0) {
    return child_fail(err, errno, "mounts[%d]: mount %s on %s", s.index, s.fstype.c_str(),
                      s.destination.c_str());
  }
  if (!s.tmpcopyup && s.propagations.empty() && s.recursive_attrs.empty()) return 0;
  int top = resolve_dest(root, s, s.destination.c_str(), ResolveCreate::None, err);
  if (top < 0) return -1;
  UniqueFd top_fd(top);
  if (s.tmpcopyup && ops.copy_tree(fd, top, s.tmpcopyup_root_attrs) != 0) {
    return child_fail(err, errno, "mounts[%d]: tmpcopyup into %s", s.index, s.destination.c_str());
  }
  return apply_propagation_and_attrs(ops, top, s, err);
}

int mount_bind(int root, const MountStep& s, MountOps& ops, ChildError* err) {
  int fd = resolve_dest(root, s, s.destination.c_str(),
                        s.target_is_file ? ResolveCreate::File : ResolveCreate::Dir, err);
  if (fd < 0) return -1;
  UniqueFd below(fd);
  if (s.idmap_tree) {
    if (ops.move_mount(s.idmap_tree->get(), fd) != 0) {
      return child_fail(err, errno, "mounts[%d]: move idmapped %s onto %s", s.index,
                        s.source.c_str(), s.destination.c_str());
    }
  } else if (ops.mount_at(s.source.c_str(), fd, nullptr, s.flags, nullptr) != 0) {
    return child_fail(err, errno, "mounts[%d]: bind %s on %s", s.index, s.source.c_str(),
                      s.destination.c_str());
  }
  if (!s.remount && s.propagations.empty() && s.recursive_attrs.empty()) return 0;
  int top = resolve_dest(root, s, s.destination.c_str(), ResolveCreate::None, err);
  if (top < 0) return -1;
  UniqueFd top_fd(top);
  if (s.remount && bind_remount(ops, top, s.remount_flags, s.keep_flags) != 0) {
    return child_fail(err, errno, "mounts[%d]: remount bind %s with flags 0x%lx", s.index,
                      s.destination.c_str(), s.remount_flags);
  }
  return apply_propagation_and_attrs(ops, top, s, err);
}

// Binds the caller's own cgroup of one hierarchy onto fd, with the step's flags.
int bind_own_cgroup(const RootfsPlan& plan, int root, const MountStep& s, const char* dest,
                    const char* mount_point, const char* mount_root, const char* controllers,
                    MountOps& ops, ChildError* err) {
  char src[PATH_MAX];
  if (own_cgroup_source(plan.self_cgroup_path.c_str(), controllers, mount_point, mount_root, src,
                        sizeof(src)) != 0) {
    return child_fail(err, errno, "mounts[%d]: find own cgroup \"%s\" in %s", s.index, controllers,
                      plan.self_cgroup_path.c_str());
  }
  int fd = resolve_dest(root, s, dest, ResolveCreate::Dir, err);
  if (fd < 0) return -1;
  UniqueFd below(fd);
  if (ops.mount_at(src, fd, nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    return child_fail(err, errno, "mounts[%d]: bind %s on %s", s.index, src, dest);
  }
  if (s.remount_flags == 0) return 0;
  int top = resolve_dest(root, s, dest, ResolveCreate::None, err);
  if (top < 0) return -1;
  UniqueFd top_fd(top);
  if (bind_remount(ops, top, s.remount_flags, s.keep_flags) != 0) {
    return child_fail(err, errno, "mounts[%d]: remount bind %s with flags 0x%lx", s.index, dest,
                      s.remount_flags);
  }
  return 0;
}

int mount_cgroup2(const RootfsPlan& plan, int root, const MountStep& s, MountOps& ops,
                  ChildError* err) {
  const char* dest = s.destination.c_str();
  bool mounted = false;
  if (!s.fstype.empty()) {
    int fd = resolve_dest(root, s, dest, ResolveCreate::Dir, err);
    if (fd < 0) return -1;
    UniqueFd below(fd);
    mounted = ops.mount_at(s.source.c_str(), fd, "cgroup2", s.flags,
                           s.data.empty() ? nullptr : s.data.c_str()) == 0;
    // A user namespace without a cgroup namespace of its own may not mount cgroup2.
    if (!mounted && errno != EPERM && errno != EBUSY) {
      return child_fail(err, errno, "mounts[%d]: mount cgroup2 on %s", s.index, dest);
    }
  }
  if (!mounted && bind_own_cgroup(plan, root, s, dest, s.cgroup_fallback_source.c_str(), "/", "",
                                  ops, err) < 0) {
    return -1;
  }
  if (s.propagations.empty() && s.recursive_attrs.empty()) return 0;
  int top = resolve_dest(root, s, dest, ResolveCreate::None, err);
  if (top < 0) return -1;
  UniqueFd top_fd(top);
  return apply_propagation_and_attrs(ops, top, s, err);
}

int mount_cgroup1(const RootfsPlan& plan, int root, const MountStep& s, MountOps& ops,
                  ChildError* err) {
  const char* dest = s.destination.c_str();
  {
    int fd = resolve_dest(root, s, dest, ResolveCreate::Dir, err);
    if (fd < 0) return -1;
    UniqueFd below(fd);
    if (ops.mount_at(s.source.c_str(), fd, "tmpfs", s.flags, s.data.c_str()) != 0) {
      return child_fail(err, errno, "mounts[%d]: mount tmpfs on %s", s.index, dest);
    }
  }
  const unsigned long sub_flags = s.flags | (s.deferred_readonly ? MS_RDONLY : 0);
  for (const CgroupSubMount& sub : s.cgroup_subs) {
    const char* sub_dest = sub.destination.c_str();
    if (sub.fstype.empty()) {
      if (bind_own_cgroup(plan, root, s, sub_dest, sub.source.c_str(), sub.mount_root.c_str(),
                          sub.controllers.c_str(), ops, err) < 0)
        return -1;
      continue;
    }
    int fd = resolve_dest(root, s, sub_dest, ResolveCreate::Dir, err);
    if (fd < 0) return -1;
    UniqueFd sub_fd(fd);
    if (ops.mount_at(sub.source.c_str(), fd, sub.fstype.c_str(), sub_flags,
                     sub.data.empty() ? nullptr : sub.data.c_str()) != 0) {
      return child_fail(err, errno, "mounts[%d]: mount %s (%s) on %s", s.index, sub.fstype.c_str(),
                        sub.data.c_str(), sub_dest);
    }
  }
  int top = resolve_dest(root, s, dest, ResolveCreate::None, err);
  if (top < 0) return -1;
  UniqueFd top_fd(top);
  for (size_t i = 0; i < s.cgroup_link_names.size(); ++i) {
    if (ops.symlinkat(s.cgroup_link_targets[i].c_str(), top, s.cgroup_link_names[i].c_str()) != 0 &&
        errno != EEXIST) {
      return child_fail(err, errno, "mounts[%d]: symlink %s/%s", s.index, dest,
                        s.cgroup_link_names[i].c_str());
    }
  }
  return apply_propagation_and_attrs(ops, top, s, err);
}

int mount_step(const RootfsPlan& plan, int root, const MountStep& s, MountOps& ops,
               ChildError* err) {
  switch (s.kind) {
    case MountKind::Fs:
      return mount_fs(root, s, ops, err);
    case MountKind::Bind:
      return mount_bind(root, s, ops, err);
    case MountKind::Cgroup1:
      return mount_cgroup1(plan, root, s, ops, err);
    case MountKind::Cgroup2:
      return mount_cgroup2(plan, root, s, ops, err);
  }
  return child_fail(err, EINVAL, "mounts[%d]: unknown mount kind", s.index);
}

// Resolves a masked or readonly path under "/"; 0 with *fd = -1 when it does not exist.
int resolve_optional(int root, const char* path, const char* field, size_t i, int* fd,
                     ChildError* err) {
  char msg[kMsgLen];
  *fd = resolve_in_root(root, path, ResolveCreate::None, msg, sizeof(msg));
  if (*fd >= 0 || *fd == -ENOENT) {
    if (*fd < 0) *fd = -1;
    return 0;
  }
  return child_fail(err, -*fd, "%s[%zu]: %s", field, i, msg);
}

int readonly_paths(const RootfsPlan& plan, int root, MountOps& ops, ChildError* err) {
  for (size_t i = 0; i < plan.readonly_paths.size(); ++i) {
    const char* path = plan.readonly_paths[i].c_str();
    int fd;
    if (resolve_optional(root, path, "linux.readonlyPaths", i, &fd, err) < 0) return -1;
    if (fd < 0) continue;
    UniqueFd below(fd);
    if (ops.bind_fd(fd, fd, MS_BIND | MS_REC) != 0) {
      return child_fail(err, errno, "linux.readonlyPaths[%zu]: bind %s onto itself", i, path);
    }
    int top;
    if (resolve_optional(root, path, "linux.readonlyPaths", i, &top, err) < 0) return -1;
    UniqueFd top_fd(top);
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    if (ops.mount_setattr(top, AT_RECURSIVE, &attr) == 0) continue;
    // Before Linux 5.12: only the top mount can be made read-only.
    if (errno != ENOSYS || bind_remount(ops, top, MS_RDONLY, ~0UL) != 0) {
      return child_fail(err, errno, "linux.readonlyPaths[%zu]: make %s read-only", i, path);
    }
  }
  return 0;
}

int masked_paths(const RootfsPlan& plan, int root, MountOps& ops, ChildError* err) {
  UniqueFd null_fd;
  for (size_t i = 0; i < plan.masked_paths.size(); ++i) {
    const char* path = plan.masked_paths[i].c_str();
    int fd;
    if (resolve_optional(root, path, "linux.maskedPaths", i, &fd, err) < 0) return -1;
    if (fd < 0) continue;
    UniqueFd target(fd);
    struct stat st;
    if (::fstat(fd, &st) != 0)
      return child_fail(err, errno, "linux.maskedPaths[%zu]: stat %s", i, path);
    if (S_ISDIR(st.st_mode)) {
      if (ops.mount_at("tmpfs", fd, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                       nullptr) != 0) {
        return child_fail(err, errno, "linux.maskedPaths[%zu]: mount a read-only tmpfs on %s", i,
                          path);
      }
      continue;
    }
    if (!null_fd) {
      char msg[kMsgLen];
      int n = resolve_in_root(root, "/dev/null", ResolveCreate::None, msg, sizeof(msg));
      if (n < 0) return child_fail(err, -n, "linux.maskedPaths[%zu]: %s", i, msg);
      null_fd.reset(n);
    }
    if (ops.bind_fd(null_fd.get(), fd, MS_BIND) != 0) {
      return child_fail(err, errno, "linux.maskedPaths[%zu]: bind /dev/null over %s", i, path);
    }
  }
  return 0;
}

}  // namespace

int prepare_rootfs(const RootfsPlan& plan, MountOps& ops, ChildError* err) {
  const char* rootfs = plan.rootfs.c_str();
  if (ops.mount(nullptr, "/", nullptr, plan.root_propagation, nullptr) != 0) {
    return child_fail(err, errno, "linux.rootfsPropagation: set propagation 0x%lx on /",
                      plan.root_propagation);
  }
  // pivot_root refuses a new root whose parent mount is shared; also keeps the rootfs bind
  // below from propagating to the host. After a recursive slave or private change nothing is
  // shared any more, and the rootfs keeps the propagation asked for (an rslave rootfs that is
  // itself a mount point stays a slave of the host's mount, as with runc).
  bool nothing_shared =
      (plan.root_propagation & MS_REC) && (plan.root_propagation & (MS_SLAVE | MS_PRIVATE));
  if (!plan.rootfs_parent_mount.empty() && !nothing_shared &&
      ops.mount(nullptr, plan.rootfs_parent_mount.c_str(), nullptr, MS_PRIVATE, nullptr) != 0) {
    return child_fail(err, errno, "make %s (the mount holding the rootfs) private",
                      plan.rootfs_parent_mount.c_str());
  }
  if (ops.mount(rootfs, rootfs, "bind", MS_BIND | MS_REC, nullptr) != 0) {
    return child_fail(err, errno, "root.path: bind %s onto itself", rootfs);
  }
  int r = ops.open_dir(rootfs);
  if (r < 0) return child_fail(err, errno, "root.path: open %s", rootfs);
  UniqueFd root(r);
  for (const MountStep& s : plan.mounts) {
    if (mount_step(plan, r, s, ops, err) < 0) return -1;
  }
  if (plan.setup_dev) {
    if (create_devices(r, plan.devices, plan.devices_by_bind, ops, err) < 0) return -1;
    if (create_dev_symlinks(r, plan.dev_core_symlink, ops, err) < 0) return -1;
  }
  if (!plan.cwd.empty()) {
    char msg[kMsgLen];
    int fd = resolve_in_root(r, plan.cwd.c_str(), ResolveCreate::Dir, msg, sizeof(msg));
    if (fd < 0) return child_fail(err, -fd, "process.cwd: %s", msg);
    ::close(fd);
  }
  return 0;
}

int enter_rootfs(const RootfsPlan& plan, MountOps& ops, ChildError* err) {
  const char* rootfs = plan.rootfs.c_str();
  if (plan.no_pivot) {
    if (ops.chdir(rootfs) != 0) return child_fail(err, errno, "chdir %s", rootfs);
    if (ops.mount(rootfs, "/", nullptr, MS_MOVE, nullptr) != 0)
      return child_fail(err, errno, "move %s over /", rootfs);
    if (ops.chroot(".") != 0) return child_fail(err, errno, "chroot %s", rootfs);
    if (ops.chdir("/") != 0) return child_fail(err, errno, "chdir / in the rootfs");
  } else {
    int o = ops.open_dir("/");
    if (o < 0) return child_fail(err, errno, "open /");
    UniqueFd old_root(o);
    int n = ops.open_dir(rootfs);
    if (n < 0) return child_fail(err, errno, "open %s", rootfs);
    UniqueFd new_root(n);
    if (ops.fchdir(n) != 0) return child_fail(err, errno, "chdir %s", rootfs);
    if (ops.pivot_root(".", ".") != 0) return child_fail(err, errno, "pivot_root to %s", rootfs);
    // The old root is now stacked on the new one: step onto it, keep its unmount from
    // propagating to the host, and detach it.
    if (ops.fchdir(o) != 0) return child_fail(err, errno, "chdir to the old root");
    if (ops.mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) {
      return child_fail(err, errno, "make the old root rslave");
    }
    if (ops.umount2(".", MNT_DETACH) != 0) return child_fail(err, errno, "detach the old root");
    if (ops.chdir("/") != 0) return child_fail(err, errno, "chdir / in the rootfs");
  }
  if (plan.post_pivot_propagation != 0 &&
      ops.mount(nullptr, "/", nullptr, plan.post_pivot_propagation, nullptr) != 0) {
    return child_fail(err, errno, "linux.rootfsPropagation: set propagation 0x%lx on the new /",
                      plan.post_pivot_propagation);
  }
  return 0;
}

int finalize_rootfs(const RootfsPlan& plan, MountOps& ops, ChildError* err) {
  int r = ops.open_dir("/");
  if (r < 0) return child_fail(err, errno, "open /");
  UniqueFd root(r);
  if (readonly_paths(plan, r, ops, err) < 0) return -1;
  if (masked_paths(plan, r, ops, err) < 0) return -1;
  for (const MountStep& s : plan.mounts) {
    if (!s.deferred_readonly) continue;
    int fd = resolve_dest(r, s, s.destination.c_str(), ResolveCreate::None, err);
    if (fd < 0) return -1;
    UniqueFd mount_fd(fd);
    if (bind_remount(ops, fd, MS_RDONLY, ~0UL) != 0) {
      return child_fail(err, errno, "mounts[%d]: remount %s read-only", s.index,
                        s.destination.c_str());
    }
  }
  if (plan.readonly) {
    unsigned long st = 0;
    if (ops.statfs_flags(r, &st) != 0) return child_fail(err, errno, "root.readonly: statfs /");
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | mount_flags_from_statfs(st);
    if (ops.mount(nullptr, "/", nullptr, flags, nullptr) != 0) {
      return child_fail(err, errno, "root.readonly: remount / read-only");
    }
  }
  return 0;
}

}  // namespace berth::runtime
