#include "runtime/cgroup_manager.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <thread>

#include "base/fs.h"
#include "base/log.h"
#include "base/strings.h"
#include "runtime/cgroup_device_bpf.h"
#include "runtime/cgroup_v1.h"
#include "runtime/cgroup_v2.h"

namespace berth::runtime {
namespace {

constexpr int kRemoveAttempts = 20;  // x 10 ms: time for killed processes to leave

// Control-file values in errors: one line, and short.
std::string shown(std::string_view value) {
  std::string out(trim(value));
  std::replace(out.begin(), out.end(), '\n', ' ');
  if (out.size() > 80) out = out.substr(0, 77) + "...";
  return out;
}

}  // namespace

std::string_view to_string(CgroupLayout layout) {
  switch (layout) {
    case CgroupLayout::V1:
      return "v1";
    case CgroupLayout::V2:
      return "v2";
    case CgroupLayout::Hybrid:
      return "hybrid";
  }
  return "unknown";
}

Result<CgroupLayout> detect_cgroup_layout(const std::string& mount_root) {
  struct statfs st {};
  if (::statfs(mount_root.c_str(), &st) != 0) return FailErrno(errno, "statfs {}", mount_root);
  if (st.f_type == CGROUP2_SUPER_MAGIC) return CgroupLayout::V2;
  std::string unified = mount_root + "/unified";
  struct statfs ust {};
  if (st.f_type == TMPFS_MAGIC && ::statfs(unified.c_str(), &ust) == 0 &&
      ust.f_type == CGROUP2_SUPER_MAGIC) {
    return CgroupLayout::Hybrid;
  }
  return CgroupLayout::V1;
}

// ---- KernelCgroupFs ----

Result<void> KernelCgroupFs::make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0) return FailErrno(errno, "mkdir {}", path);
  return {};
}

Result<void> KernelCgroupFs::remove_dir(const std::string& path) {
  if (::rmdir(path.c_str()) != 0) return FailErrno(errno, "rmdir {}", path);
  return {};
}

Result<std::string> KernelCgroupFs::read(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return FailErrno(errno, "read {}", path);
  UniqueFd owned(fd);
  return TRY_CTX("read " + path, read_all(fd));
}

Result<void> KernelCgroupFs::write(const std::string& path, std::string_view value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return FailErrno(errno, "write {} to {}", shown(value), path);
  UniqueFd owned(fd);
  // Control files take one value per write(): never split it.
  ssize_t n;
  do n = ::write(fd, value.data(), value.size());
  while (n < 0 && errno == EINTR);
  if (n < 0) return FailErrno(errno, "write {} to {}", shown(value), path);
  if (static_cast<size_t>(n) != value.size()) {
    return Fail(ErrorCode::Internal, "write {} to {}: short write ({} of {} bytes)", shown(value),
                path, n, value.size());
  }
  return {};
}

bool KernelCgroupFs::exists(const std::string& path) { return path_exists(path); }

Result<std::vector<std::string>> KernelCgroupFs::child_dirs(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return FailErrno(errno, "list {}", path);
  std::vector<std::string> out;
  errno = 0;
  while (dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    bool is_dir = entry->d_type == DT_DIR;
    if (entry->d_type == DT_UNKNOWN) {
      struct stat st {};
      is_dir = ::fstatat(::dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
               S_ISDIR(st.st_mode);
    }
    if (is_dir) out.emplace_back(name);
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) return FailErrno(err, "list {}", path);
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::string> KernelCgroupFs::real_path(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return FailErrno(errno, "resolve {}", path);
  return std::string(buf);
}

Result<void> KernelCgroupFs::set_device_program(const std::string& dir,
                                                const std::vector<bpf_insn>& program) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return FailErrno(errno, "open {}", dir);
  UniqueFd cgroup_fd(fd);
  UniqueFd prog = TRY(load_device_filter(program));
  return replace_device_filter(cgroup_fd.get(), prog.get(), dir);
}

// ---- factory ----

Result<std::string> cgroup_relative_path(const std::string& cgroups_path,
                                         const std::string& container_id) {
  std::string path = cgroups_path;
  if (path.empty()) {
    if (container_id.empty() || container_id.find('/') != std::string::npos ||
        container_id == "." || container_id == "..") {
      return Fail(ErrorCode::InvalidArgument, "cgroup for container \"{}\": invalid container id",
                  container_id);
    }
    path = "berth/" + container_id;
  }
  std::vector<std::string> parts;
  for (auto& part : split(path, '/')) {
    if (part.empty()) continue;
    if (part == "." || part == "..") {
      return Fail(ErrorCode::InvalidArgument,
                  "linux.cgroupsPath \"{}\": \"{}\" components are not allowed", cgroups_path,
                  part);
    }
    parts.push_back(part);
  }
  if (parts.empty()) {
    return Fail(ErrorCode::InvalidArgument,
                "linux.cgroupsPath \"{}\": a container cannot use the root cgroup", cgroups_path);
  }
  return join(parts, "/");
}

Result<std::unique_ptr<CgroupManager>> make_cgroup_manager(CgroupLayout layout,
                                                           const std::string& mount_root,
                                                           const std::string& cgroups_path,
                                                           const std::string& container_id,
                                                           std::shared_ptr<CgroupFs> fs) {
  if (!fs) fs = std::make_shared<KernelCgroupFs>();
  std::string rel = TRY(cgroup_relative_path(cgroups_path, container_id));
  std::string root = mount_root;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  switch (layout) {
    case CgroupLayout::V1:
      return make_cgroup_v1_manager(std::move(fs), root, rel, false);
    case CgroupLayout::Hybrid:
      return make_cgroup_v1_manager(std::move(fs), root, rel, true);
    case CgroupLayout::V2:
      return make_cgroup_v2_manager(std::move(fs), root, rel);
  }
  return Fail(ErrorCode::InvalidArgument, "unknown cgroup layout");
}

// ---- shared helpers ----

namespace cgroup {

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

Result<void> make_dirs(CgroupFs& fs, const std::string& root, const std::string& rel,
                       std::vector<std::string>& created) {
  std::string path = root;
  for (auto& part : split(rel, '/')) {
    path += "/" + part;
    if (fs.exists(path)) continue;
    auto made = fs.make_dir(path);
    if (!made) {
      if (made.error().sys_errno() == EEXIST) continue;  // a concurrent create won the race
      return Err(made.error());
    }
    created.push_back(path);
  }
  return {};
}

void remove_created(CgroupFs& fs, const std::vector<std::string>& created) {
  // Plain rmdir, never recursive: a parent made here may meanwhile hold another container's
  // cgroup, which must survive (the rmdir then fails with EBUSY and the parent stays).
  for (auto it = created.rbegin(); it != created.rend(); ++it) {
    auto removed = fs.remove_dir(*it);
    if (!removed && removed.error().sys_errno() != ENOENT) {
      log::debug("undo cgroup creation: {}", removed.error().what());
    }
  }
}

Result<void> remove_tree(CgroupFs& fs, const std::string& dir) {
  auto children = fs.child_dirs(dir);
  if (!children) {
    if (children.error().sys_errno() == ENOENT) return {};
    return Err(children.error());
  }
  for (auto& child : *children) TRY(remove_tree(fs, dir + "/" + child));
  for (int attempt = 1;; ++attempt) {
    auto removed = fs.remove_dir(dir);
    if (removed || removed.error().sys_errno() == ENOENT) return {};
    if (removed.error().sys_errno() != EBUSY) return Err(removed.error());
    if (attempt == kRemoveAttempts) {
      return FailErrno(EBUSY, "rmdir {} (still busy after {} attempts 10 ms apart)", dir, attempt);
    }
    sleep_ms(10);
  }
}

Result<std::vector<pid_t>> read_pids(CgroupFs& fs, const std::string& dir) {
  std::string text = TRY(fs.read(dir + "/cgroup.procs"));
  std::vector<pid_t> pids;
  for (auto& line : split(text, '\n')) {
    if (trim(line).empty()) continue;
    int64_t pid = TRY_CTX(dir + "/cgroup.procs", parse_int(line, "pid"));
    pids.push_back(static_cast<pid_t>(pid));
  }
  for (auto& child : TRY(fs.child_dirs(dir))) {
    auto more = TRY(read_pids(fs, dir + "/" + child));
    pids.insert(pids.end(), more.begin(), more.end());
  }
  std::sort(pids.begin(), pids.end());
  pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
  return pids;
}

Result<void> signal_pids(const std::vector<pid_t>& pids, int signal) {
  for (pid_t pid : pids) {
    if (::kill(pid, signal) != 0 && errno != ESRCH) {
      return FailErrno(errno, "send signal {} to process {}", signal, pid);
    }
  }
  return {};
}

std::optional<uint64_t> keyed_value(std::string_view text, std::string_view key) {
  for (auto& line : split(text, '\n')) {
    auto space = line.find(' ');
    if (space == std::string::npos || std::string_view(line).substr(0, space) != key) continue;
    auto value = parse_uint(std::string_view(line).substr(space + 1), key);
    if (value) return *value;
  }
  return std::nullopt;
}

Result<uint64_t> read_counter(CgroupFs& fs, const std::string& path) {
  auto text = fs.read(path);
  if (!text) {
    if (text.error().sys_errno() == ENOENT) return 0;
    return Err(text.error());
  }
  std::string_view value = trim(*text);
  if (value == "max") return UINT64_MAX;
  return TRY_CTX("read " + path, parse_uint(value, "value"));
}

Result<void> write_file(CgroupFs& fs, const std::string& dir, std::string_view file,
                        std::string_view value) {
  return fs.write(fmt::format("{}/{}", dir, file), value);
}

Result<void> validate_device_rule(const oci::DeviceRule& rule, size_t index) {
  if (!rule.type.empty() && rule.type != "a" && rule.type != "b" && rule.type != "c") {
    return Fail(ErrorCode::InvalidArgument,
                "linux.resources.devices[{}].type: \"{}\" is not one of a, b, c", index, rule.type);
  }
  for (char c : rule.access) {
    if (c != 'r' && c != 'w' && c != 'm') {
      return Fail(ErrorCode::InvalidArgument,
                  "linux.resources.devices[{}].access: \"{}\" is not a subset of \"rwm\"", index,
                  rule.access);
    }
  }
  if ((rule.major && *rule.major < 0) || (rule.minor && *rule.minor < 0)) {
    return Fail(ErrorCode::InvalidArgument,
                "linux.resources.devices[{}]: major and minor must be >= 0 (omit them for any)",
                index);
  }
  return {};
}

Result<void> validate_page_size(std::string_view size) {
  size_t digits = 0;
  while (digits < size.size() && size[digits] >= '0' && size[digits] <= '9') ++digits;
  std::string_view unit = size.substr(digits);
  if (digits == 0 || (unit != "KB" && unit != "MB" && unit != "GB")) {
    return Fail(ErrorCode::InvalidArgument,
                "linux.resources.hugepageLimits: page size \"{}\" is not like 2MB or 1GB", size);
  }
  return {};
}

Result<void> validate_word(std::string_view value, std::string_view field) {
  bool bad = value.empty();
  for (char c : value) bad = bad || static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
  if (bad) return Fail(ErrorCode::InvalidArgument, "{}: \"{}\" is not a single word", field, value);
  return {};
}

std::string rdma_limit_line(const std::string& device, const oci::RdmaLimit& limit) {
  std::string line = device;
  if (limit.hca_handles) line += fmt::format(" hca_handle={}", *limit.hca_handles);
  if (limit.hca_objects) line += fmt::format(" hca_object={}", *limit.hca_objects);
  return line;
}

Result<void> validate_unified_key(std::string_view key) {
  if (key.empty() || key.find('/') != std::string_view::npos || key == "." || key == ".." ||
      key.find('\0') != std::string_view::npos) {
    return Fail(ErrorCode::InvalidArgument,
                "linux.resources.unified: \"{}\" is not a cgroup control file name", key);
  }
  for (std::string_view reserved :
       {"cgroup.procs", "cgroup.threads", "cgroup.kill", "cgroup.freeze"}) {
    if (key == reserved) {
      return Fail(ErrorCode::InvalidArgument,
                  "linux.resources.unified: \"{}\" is managed by the runtime, not a resource", key);
    }
  }
  return {};
}

}  // namespace cgroup
}  // namespace berth::runtime
