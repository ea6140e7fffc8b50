#include "runtime/rootfs_plan.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <tuple>

#include "base/fs.h"
#include "base/strings.h"
#include "base/syscalls.h"

namespace berth::runtime {
namespace {

constexpr std::string_view kCgroupRoot = "/sys/fs/cgroup";

// One line of /proc/self/mountinfo, with the octal escapes (\040) undone.
struct MountInfo {
  std::string root;
  std::string mount_point;
  std::string fstype;
  std::string super_options;
};

std::string unescape_mountinfo(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() &&
        std::all_of(s.begin() + i + 1, s.begin() + i + 4,
                    [](char c) { return c >= '0' && c <= '7'; })) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<MountInfo> parse_mountinfo(std::string_view text) {
  std::vector<MountInfo> out;
  for (const std::string& line : split(text, '\n')) {
    std::vector<std::string> f = split(line, ' ');
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || dash == f.end() || f.end() - dash < 4) continue;
    out.push_back({unescape_mountinfo(f[3]), unescape_mountinfo(f[4]), *(dash + 1), *(dash + 3)});
  }
  return out;
}

bool path_within(std::string_view path, std::string_view dir) {
  if (dir == "/") return true;
  return path == dir ||
         (path.starts_with(dir) && path.size() > dir.size() && path[dir.size()] == '/');
}

// The mount point holding path: the longest mount point it lies within.
std::string parent_mount(const std::vector<MountInfo>& mounts, const std::string& path) {
  std::string best;
  for (const auto& m : mounts) {
    if (path_within(path, m.mount_point) && m.mount_point.size() >= best.size())
      best = m.mount_point;
  }
  return best;
}

// The controllers of a cgroup v1 hierarchy from its super options ("rw,cpu,cpuacct" ->
// "cpu,cpuacct"; "rw,name=systemd" -> "name=systemd"), dropping mount-only options.
std::string cgroup_controllers(const std::string& super_options) {
  static constexpr std::string_view kNotControllers[] = {"rw",
                                                         "ro",
                                                         "noprefix",
                                                         "clone_children",
                                                         "xattr",
                                                         "cpuset_v2_mode",
                                                         "favordynmods",
                                                         "nsdelegate",
                                                         "memory_recursiveprot",
                                                         "memory_localevents",
                                                         "none"};
  std::vector<std::string> keep;
  for (const std::string& opt : split(super_options, ',')) {
    if (opt.empty() || opt.starts_with("release_agent=")) continue;
    if (std::find(std::begin(kNotControllers), std::end(kNotControllers), opt) !=
        std::end(kNotControllers))
      continue;
    keep.push_back(opt);
  }
  return join(keep, ",");
}

std::pair<std::string, std::string> split_parent(const std::string& path) {
  size_t slash = path.rfind('/');
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

bool has_data_key(const std::string& data, std::string_view key) {
  for (const std::string& opt : split(data, ',')) {
    if (opt.starts_with(key)) return true;
  }
  return false;
}

// cgroup mounts follow the host: cgroup2 when the host is pure v2, else a tmpfs with one
// mount per host hierarchy. In a cgroup namespace each is a fresh mount whose root is the
// container's own cgroup; without one, the child binds its own cgroup directory.
Result<void> plan_cgroup(MountStep& step, const oci::Spec& spec,
                         const std::vector<MountInfo>& host) {
  const bool cgroupns = spec.linux && spec.linux->has_namespace(oci::NamespaceType::Cgroup);
  for (const auto& m : host) {
    if (m.mount_point == kCgroupRoot && m.fstype == "cgroup2") {
      step.kind = MountKind::Cgroup2;
      step.fstype = cgroupns ? "cgroup2" : "";
      step.source = "cgroup2";
      step.cgroup_fallback_source = std::string(kCgroupRoot);
      return {};
    }
  }
  step.kind = MountKind::Cgroup1;
  step.fstype = "tmpfs";
  step.source = "tmpfs";
  step.data = "mode=755";
  if (step.flags & MS_RDONLY) {
    step.flags &= ~static_cast<unsigned long>(MS_RDONLY);
    step.deferred_readonly = true;
  }
  std::vector<std::string> names;
  for (const auto& m : host) {
    auto [parent, name] = split_parent(m.mount_point);
    if (parent != kCgroupRoot || (m.fstype != "cgroup" && m.fstype != "cgroup2")) continue;
    // A hierarchy mounted over itself is listed twice; the container needs it once.
    if (std::find(names.begin(), names.end(), name) != names.end()) continue;
    CgroupSubMount sub;
    sub.destination = step.destination + "/" + name;
    sub.controllers = m.fstype == "cgroup" ? cgroup_controllers(m.super_options) : "";
    if (cgroupns) {
      sub.fstype = m.fstype;
      sub.source = m.fstype;
      sub.data = sub.controllers;
    } else {
      sub.source = m.mount_point;
      sub.mount_root = m.root;
    }
    step.cgroup_subs.push_back(std::move(sub));
    names.push_back(name);
  }
  if (step.cgroup_subs.empty()) {
    return Fail(ErrorCode::Unavailable, "the host has no cgroup filesystem under {}", kCgroupRoot);
  }
  // A combined hierarchy ("cpu,cpuacct") also answers to each controller's name.
  for (const std::string& name : names) {
    if (name.find(',') == std::string::npos) continue;
    for (const std::string& part : split(name, ',')) {
      if (part.empty() || std::find(names.begin(), names.end(), part) != names.end()) continue;
      step.cgroup_link_names.push_back(part);
      step.cgroup_link_targets.push_back(name);
    }
  }
  return {};
}

std::string map_lines(const std::vector<oci::IdMapping>& maps) {
  std::string out;
  for (const auto& m : maps) out += fmt::format("{} {} {}\n", m.container_id, m.host_id, m.size);
  return out;
}

// A detached, idmapped clone of source for the child to move into place.
Result<UniqueFd> make_idmapped_tree(const std::string& source, bool recursive_clone,
                                    bool recursive_idmap, const oci::Mount& m,
                                    const oci::Spec& spec) {
  const std::vector<oci::IdMapping>* uids = &m.uid_mappings;
  const std::vector<oci::IdMapping>* gids = &m.gid_mappings;
  if (uids->empty() && gids->empty() && spec.linux) {
    uids = &spec.linux->uid_mappings;
    gids = &spec.linux->gid_mappings;
  }
  if (uids->empty() || gids->empty()) {
    return Fail(ErrorCode::InvalidArgument,
                "an idmapped mount needs uidMappings and gidMappings (on the mount, or the "
                "container's user namespace mappings)");
  }
  UniqueFd userns = TRY(make_idmap_userns(*uids, *gids));
  unsigned clone_flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive_clone ? AT_RECURSIVE : 0);
  UniqueFd tree(sys::open_tree(AT_FDCWD, source.c_str(), clone_flags));
  if (!tree) return FailErrno(errno, "open_tree {}", source);
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<uint64_t>(userns.get());
  unsigned at = AT_EMPTY_PATH | (recursive_idmap ? AT_RECURSIVE : 0);
  if (sys::mount_setattr(tree.get(), "", at, &attr) != 0) {
    return FailErrno(errno, "idmap {} (does its filesystem support idmapped mounts?)", source);
  }
  return tree;
}

Result<MountStep> plan_mount(const oci::Mount& m, int index, const oci::Spec& spec,
                             const std::string& bundle_dir, const PlanOptions& opts,
                             const std::vector<MountInfo>& host) {
  const std::string field = fmt::format("mounts[{}]", index);
  MountStep step;
  step.index = index;
  if (m.destination.empty())
    return Fail(ErrorCode::InvalidArgument, "{}.destination: empty", field);
  step.destination = TRY_CTX(field + ".destination", clean_container_path(m.destination));
  if (step.destination == "/") {
    return Fail(ErrorCode::InvalidArgument,
                "{}.destination: cannot mount over the container's root (set root.path instead)",
                field);
  }
  std::tie(step.dest_parent, step.dest_name) = split_parent(step.destination);
  MountOptions mo = TRY_CTX(field + ".options", parse_mount_options(m.options, m.type));
  if (!m.uid_mappings.empty() || !m.gid_mappings.empty()) {
    if (!mo.is_bind()) {
      return Fail(ErrorCode::InvalidArgument,
                  "{}.uidMappings: idmapped mounts are only supported for bind mounts", field);
    }
    mo.idmap = true;
  }
  step.propagations = mo.propagations;
  step.recursive_attrs = mo.recursive_attrs;
  // Used by binds, and by cgroup mounts that fall back to binding the host's hierarchy.
  step.remount_flags = mo.bind_remount_flags();
  step.keep_flags = (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC) & ~mo.clear_flags;

  std::string type = m.type;
  std::string source = m.source;
  const bool has_ipc_ns = spec.linux && spec.linux->has_namespace(oci::NamespaceType::Ipc);
  // In a user namespace the kernel refuses sysfs without a network namespace of its own,
  // and mqueue without an IPC namespace: bind the host's instead (as runc does). A host
  // without /dev/mqueue keeps the mount, and the kernel's refusal names it.
  if (!mo.is_bind() && opts.in_user_namespace &&
      ((type == "sysfs" && !opts.new_network_namespace) ||
       (type == "mqueue" && !has_ipc_ns && path_exists("/dev/mqueue")))) {
    source = type == "sysfs" ? "/sys" : "/dev/mqueue";
    mo.flags |= MS_BIND | MS_REC;
    mo.data.clear();
  }

  if (mo.is_bind()) {
    step.kind = MountKind::Bind;
    if (source.empty())
      return Fail(ErrorCode::InvalidArgument, "{}.source: empty for a bind mount", field);
    step.source = absolute_path(source.starts_with("/") ? source : bundle_dir + "/" + source);
    struct stat st;
    if (::stat(step.source.c_str(), &st) != 0)
      return FailErrno(errno, "{}.source: {}", field, step.source);
    step.target_is_file = !S_ISDIR(st.st_mode);
    step.flags = MS_BIND | (mo.flags & MS_REC);
    step.remount = step.remount_flags != 0;
    if (mo.idmap) {
      UniqueFd tree =
          TRY_CTX(field + ".options",
                  make_idmapped_tree(step.source, mo.is_recursive_bind() || mo.idmap_recursive,
                                     mo.idmap_recursive, m, spec));
      step.idmap_tree = std::make_shared<const UniqueFd>(std::move(tree));
    }
    return step;
  }

  if (type.empty())
    return Fail(ErrorCode::InvalidArgument, "{}.type: empty (and not a bind mount)", field);
  step.kind = MountKind::Fs;
  step.fstype = type;
  step.source = source.empty() ? type : source;
  step.flags = mo.flags;
  step.data = mo.data;
  step.tmpcopyup = mo.tmpcopyup;
  step.tmpcopyup_root_attrs = mo.tmpcopyup && !has_data_key(mo.data, "mode=");
  if (type == "cgroup") {
    TRY_CTX(field, plan_cgroup(step, spec, host));
    return step;
  }
  // tmpfs and /dev stay writable until finalize_rootfs so that mount points, devices and
  // links can be made inside them.
  if ((step.flags & MS_RDONLY) && (type == "tmpfs" || step.destination == "/dev")) {
    step.flags &= ~static_cast<unsigned long>(MS_RDONLY);
    step.deferred_readonly = true;
  }
  return step;
}

Result<std::string> plan_root_path(const oci::Spec& spec, const std::string& bundle_dir) {
  if (!spec.root) return Fail(ErrorCode::InvalidArgument, "root: missing");
  const std::string& p = spec.root->path;
  if (p.empty()) return Fail(ErrorCode::InvalidArgument, "root.path: empty");
  std::string abs = absolute_path(p.starts_with("/") ? p : bundle_dir + "/" + p);
  struct stat st;
  if (::stat(abs.c_str(), &st) != 0) {
    if (errno == ENOENT) return Fail(ErrorCode::NotFound, "root.path: {}: no such directory", abs);
    return FailErrno(errno, "root.path: {}", abs);
  }
  if (!S_ISDIR(st.st_mode))
    return Fail(ErrorCode::InvalidArgument, "root.path: {}: not a directory", abs);
  // The rootfs is the bundle's (the host's) path, not one an image controls.
  char real[PATH_MAX];
  if (!::realpath(abs.c_str(), real)) return FailErrno(errno, "root.path: {}", abs);
  return std::string(real);
}

Result<std::vector<std::string>> plan_paths(const std::vector<std::string>& paths,
                                            std::string_view field) {
  std::vector<std::string> out;
  for (size_t i = 0; i < paths.size(); ++i) {
    if (!paths[i].starts_with("/")) {
      return Fail(ErrorCode::InvalidArgument, "{}[{}]: \"{}\" is not an absolute path", field, i,
                  paths[i]);
    }
    out.push_back(TRY_CTX(fmt::format("{}[{}]", field, i), clean_container_path(paths[i])));
  }
  return out;
}

}  // namespace

Result<std::string> clean_container_path(std::string_view path) {
  std::vector<std::string> out;
  for (const std::string& part : split(path, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (out.empty())
        return Fail(ErrorCode::InvalidArgument, "\"{}\" climbs above the root", path);
      out.pop_back();
      continue;
    }
    out.push_back(part);
  }
  std::string joined = "/" + join(out, "/");
  if (joined.size() >= PATH_MAX)
    return Fail(ErrorCode::InvalidArgument, "\"{}\" is too long", path);
  return joined;
}

Result<UniqueFd> make_idmap_userns(const std::vector<oci::IdMapping>& uid_mappings,
                                   const std::vector<oci::IdMapping>& gid_mappings) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return FailErrno(errno, "pipe");
  UniqueFd hold_read(pipe_fds[0]);
  UniqueFd hold_write(pipe_fds[1]);
  pid_t pid = sys::clone_fork(CLONE_NEWUSER);
  if (pid < 0) return FailErrno(errno, "clone a user namespace for an idmapped mount");
  if (pid == 0) {
    // The helper only holds the namespace until the runtime has its descriptor.
    ::close(pipe_fds[1]);
    char c;
    while (::read(pipe_fds[0], &c, 1) < 0 && errno == EINTR) {
    }
    ::_exit(0);
  }
  hold_read.reset();
  auto reap = [&] {
    hold_write.reset();
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  };
  std::string base = fmt::format("/proc/{}/", pid);
  auto uid = write_file(base + "uid_map", map_lines(uid_mappings));
  auto gid = uid ? write_file(base + "gid_map", map_lines(gid_mappings)) : Result<void>();
  Result<UniqueFd> ns = (uid && gid) ? open_fd(base + "ns/user", O_RDONLY | O_CLOEXEC)
                                     : Result<UniqueFd>(Err(uid ? gid.error() : uid.error()));
  reap();
  if (!ns) return Err(ns.error().context("user namespace for an idmapped mount"));
  return ns;
}

Result<RootfsPlan> plan_rootfs(const oci::Spec& spec, const std::string& bundle_dir,
                               const PlanOptions& opts) {
  RootfsPlan plan;
  plan.rootfs = TRY(plan_root_path(spec, bundle_dir));
  plan.readonly = spec.root->readonly;
  plan.no_pivot = opts.no_pivot;
  plan.self_cgroup_path = opts.self_cgroup_path;

  const std::string propagation = spec.linux ? spec.linux->rootfs_propagation : "";
  if (propagation.empty()) {
    plan.root_propagation = MS_REC | MS_SLAVE;
  } else {
    plan.root_propagation = TRY_CTX("linux.rootfsPropagation", parse_propagation(propagation));
    // Private needs nothing after the pivot; the rest is applied to the new "/" then, so
    // that the host's "/" is never made shared from here.
    if (!(plan.root_propagation & MS_PRIVATE)) plan.post_pivot_propagation = plan.root_propagation;
  }

  std::vector<MountInfo> host;
  if (auto text = read_file(opts.host_mountinfo_path)) host = parse_mountinfo(*text);
  plan.rootfs_parent_mount = parent_mount(host, plan.rootfs);

  plan.setup_dev = true;
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    MountStep step =
        TRY(plan_mount(spec.mounts[i], static_cast<int>(i), spec, bundle_dir, opts, host));
    if (step.destination == "/dev" && step.kind == MountKind::Bind) plan.setup_dev = false;
    plan.mounts.push_back(std::move(step));
  }
  if (plan.setup_dev) {
    plan.devices = TRY(plan_devices(spec, opts.in_user_namespace));
    plan.devices_by_bind = opts.in_user_namespace;
    plan.dev_core_symlink = path_exists("/proc/kcore");
  }
  if (spec.linux) {
    plan.masked_paths = TRY(plan_paths(spec.linux->masked_paths, "linux.maskedPaths"));
    plan.readonly_paths = TRY(plan_paths(spec.linux->readonly_paths, "linux.readonlyPaths"));
  }
  if (spec.process && !spec.process->cwd.empty()) {
    plan.cwd = TRY_CTX("process.cwd", clean_container_path(spec.process->cwd));
  }
  return plan;
}

}  // namespace berth::runtime
