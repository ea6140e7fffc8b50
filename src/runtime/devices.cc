#include "runtime/devices.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <map>

#include "base/root_path.h"
#include "base/unique_fd.h"
#include "runtime/rootfs_plan.h"

namespace berth::runtime {
namespace {

constexpr uint32_t kMaxMajor = (1u << 12) - 1;
constexpr uint32_t kMaxMinor = (1u << 20) - 1;

DeviceNode device_node(std::string path, mode_t type, uint32_t major, uint32_t minor) {
  DeviceNode d;
  size_t slash = path.rfind('/');
  d.parent = slash == 0 ? "/" : path.substr(0, slash);
  d.name = path.substr(slash + 1);
  d.path = std::move(path);
  d.type = type;
  d.major = major;
  d.minor = minor;
  d.field = "default device";
  return d;
}

Result<mode_t> device_type(const std::string& type) {
  if (type == "c" || type == "u") return S_IFCHR;
  if (type == "b") return S_IFBLK;
  if (type == "p") return S_IFIFO;
  return Fail(ErrorCode::InvalidArgument, "unknown type \"{}\" (want c, u, b or p)", type);
}

Result<DeviceNode> plan_device(const oci::Device& dev, const std::string& field,
                               bool in_user_namespace) {
  if (dev.path.empty() || dev.path[0] != '/') {
    return Fail(ErrorCode::InvalidArgument, "{}.path: \"{}\" is not an absolute path", field,
                dev.path);
  }
  std::string path = TRY_CTX(field + ".path", clean_container_path(dev.path));
  if (path == "/")
    return Fail(ErrorCode::InvalidArgument, "{}.path: a device cannot replace the root", field);
  mode_t type = TRY_CTX(field + ".type", device_type(dev.type));
  if (type != S_IFIFO) {
    if (dev.major < 0 || dev.major > kMaxMajor) {
      return Fail(ErrorCode::InvalidArgument, "{}.major: {} out of range 0..{}", field, dev.major,
                  kMaxMajor);
    }
    if (dev.minor < 0 || dev.minor > kMaxMinor) {
      return Fail(ErrorCode::InvalidArgument, "{}.minor: {} out of range 0..{}", field, dev.minor,
                  kMaxMinor);
    }
  }
  DeviceNode node = type == S_IFIFO ? device_node(path, type, 0, 0)
                                    : device_node(path, type, static_cast<uint32_t>(dev.major),
                                                  static_cast<uint32_t>(dev.minor));
  // Go runtimes serialise os.FileMode with type bits above the permissions: keep the latter.
  if (dev.file_mode) node.mode = *dev.file_mode & 07777;
  if (dev.uid) node.uid = *dev.uid;
  if (dev.gid) node.gid = *dev.gid;
  node.field = field;
  if (in_user_namespace && type != S_IFIFO) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      return FailErrno(errno,
                       "{}.path: {}: a container in a user namespace gets devices by bind mount "
                       "from the same path on the host",
                       field, path);
    }
  }
  return node;
}

}  // namespace

std::vector<DeviceNode> default_devices() {
  return {
      device_node("/dev/null", S_IFCHR, 1, 3),    device_node("/dev/zero", S_IFCHR, 1, 5),
      device_node("/dev/full", S_IFCHR, 1, 7),    device_node("/dev/random", S_IFCHR, 1, 8),
      device_node("/dev/urandom", S_IFCHR, 1, 9), device_node("/dev/tty", S_IFCHR, 5, 0),
  };
}

Result<std::vector<DeviceNode>> plan_devices(const oci::Spec& spec, bool in_user_namespace) {
  std::vector<DeviceNode> out = default_devices();
  if (!spec.linux) return out;
  std::map<std::string, std::string> seen;  // path -> field
  for (size_t i = 0; i < spec.linux->devices.size(); ++i) {
    std::string field = fmt::format("linux.devices[{}]", i);
    DeviceNode node = TRY(plan_device(spec.linux->devices[i], field, in_user_namespace));
    auto [it, fresh] = seen.emplace(node.path, field);
    if (!fresh) {
      return Fail(ErrorCode::InvalidArgument, "{}.path: {} is already listed in {}", field,
                  node.path, it->second);
    }
    std::erase_if(out, [&](const DeviceNode& d) { return d.path == node.path; });
    out.push_back(std::move(node));
  }
  return out;
}

int create_devices(int rootfs_fd, std::span<const DeviceNode> devices, bool bind_from_host,
                   MountOps& ops, ChildError* err) {
  char msg[PATH_MAX + 256];
  for (const DeviceNode& dev : devices) {
    const bool bind = bind_from_host && dev.type != S_IFIFO;
    if (!bind) {
      int dir =
          resolve_in_root(rootfs_fd, dev.parent.c_str(), ResolveCreate::Dir, msg, sizeof(msg));
      if (dir < 0)
        return child_fail(err, -dir, "%s %s: %s", dev.field.c_str(), dev.path.c_str(), msg);
      UniqueFd dir_fd(dir);
      if (ops.make_node(dir, dev.name.c_str(), dev.type | dev.mode, makedev(dev.major, dev.minor),
                        dev.uid, dev.gid) == 0 ||
          errno == EEXIST) {
        continue;
      }
      if (errno != EPERM) {
        return child_fail(err, errno, "%s: mknod %s", dev.field.c_str(), dev.path.c_str());
      }
    }
    int target =
        resolve_in_root(rootfs_fd, dev.path.c_str(), ResolveCreate::File, msg, sizeof(msg));
    if (target < 0)
      return child_fail(err, -target, "%s %s: %s", dev.field.c_str(), dev.path.c_str(), msg);
    UniqueFd target_fd(target);
    if (ops.mount_at(dev.path.c_str(), target, nullptr, MS_BIND, nullptr) != 0) {
      return child_fail(err, errno, "%s: bind %s from the host", dev.field.c_str(),
                        dev.path.c_str());
    }
  }
  return 0;
}

int create_dev_symlinks(int rootfs_fd, bool with_kcore, MountOps& ops, ChildError* err) {
  struct Link {
    const char* target;
    const char* name;
  };
  static constexpr Link kLinks[] = {
      {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
      {"/proc/self/fd/2", "stderr"}, {"/proc/kcore", "core"},
  };
  char msg[PATH_MAX + 256];
  int dev = resolve_in_root(rootfs_fd, "/dev", ResolveCreate::Dir, msg, sizeof(msg));
  if (dev < 0) return child_fail(err, -dev, "/dev: %s", msg);
  UniqueFd dev_fd(dev);

  if (ops.unlinkat(dev, "ptmx", 0) != 0 && errno != ENOENT) {
    return child_fail(err, errno, "remove /dev/ptmx");
  }
  if (ops.symlinkat("pts/ptmx", dev, "ptmx") != 0 && errno != EEXIST) {
    return child_fail(err, errno, "symlink /dev/ptmx -> pts/ptmx");
  }
  for (const Link& link : kLinks) {
    if (!with_kcore && std::string_view(link.name) == "core") continue;
    if (ops.symlinkat(link.target, dev, link.name) != 0 && errno != EEXIST) {
      return child_fail(err, errno, "symlink /dev/%s -> %s", link.name, link.target);
    }
  }
  return 0;
}

}  // namespace berth::runtime
