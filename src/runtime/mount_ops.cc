#include "runtime/mount_ops.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/syscalls.h"
#include "base/unique_fd.h"

namespace berth::runtime {
namespace {

constexpr int kMaxCopyDepth = 128;

// "/proc/self/fd/N" in a caller-provided buffer.
struct FdPath {
  char buf[32];
  explicit FdPath(int fd) { std::snprintf(buf, sizeof(buf), "/proc/self/fd/%d", fd); }
  const char* c_str() const { return buf; }
};

// Reopens an O_PATH descriptor of a directory for reading its entries.
int reopen_dir(int fd) {
  FdPath p(fd);
  return ::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

struct LinuxDirent64 {
  ino64_t d_ino;
  off64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

int copy_file_data(int src, int dst) {
  char buf[65536];
  while (true) {
    ssize_t n = ::read(src, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) return 0;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(dst, buf + off, static_cast<size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return -1;
      off += w;
    }
  }
}

int copy_attrs(int fd, const struct stat& st) {
  if (::fchown(fd, st.st_uid, st.st_gid) != 0) return -1;
  if (::fchmod(fd, st.st_mode & 07777) != 0) return -1;
  const timespec times[2] = {st.st_atim, st.st_mtim};
  return ::futimens(fd, times);
}

int copy_dir(int src, int dst, int depth);

int copy_entry(int src, int dst, const char* name, int depth) {
  struct stat st;
  if (::fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return -1;
  const timespec times[2] = {st.st_atim, st.st_mtim};
  if (S_ISDIR(st.st_mode)) {
    if (::mkdirat(dst, name, 0700) != 0) return -1;
    UniqueFd s(::openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!s) return -1;
    UniqueFd d(::openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!d) return -1;
    if (copy_dir(s.get(), d.get(), depth + 1) != 0) return -1;
    return copy_attrs(d.get(), st);
  }
  if (S_ISREG(st.st_mode)) {
    UniqueFd s(::openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!s) return -1;
    UniqueFd d(::openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!d) return -1;
    if (copy_file_data(s.get(), d.get()) != 0) return -1;
    return copy_attrs(d.get(), st);
  }
  if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX];
    ssize_t n = ::readlinkat(src, name, target, sizeof(target) - 1);
    if (n < 0) return -1;
    target[n] = '\0';
    if (::symlinkat(target, dst, name) != 0) return -1;
  } else if (::mknodat(dst, name, st.st_mode, st.st_rdev) != 0) {
    return -1;
  }
  if (::fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) return -1;
  if (!S_ISLNK(st.st_mode) && ::fchmodat(dst, name, st.st_mode & 07777, 0) != 0) return -1;
  return ::utimensat(dst, name, times, AT_SYMLINK_NOFOLLOW);
}

// Walks src with getdents64 (opendir would allocate) and copies each entry into dst.
int copy_dir(int src, int dst, int depth) {
  if (depth > kMaxCopyDepth) {
    errno = ELOOP;
    return -1;
  }
  alignas(8) char buf[4096];
  while (true) {
    long n = ::syscall(SYS_getdents64, src, buf, sizeof(buf));
    if (n < 0) return -1;
    if (n == 0) return 0;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<LinuxDirent64*>(buf + off);
      off += d->d_reclen;
      if (std::strcmp(d->d_name, ".") == 0 || std::strcmp(d->d_name, "..") == 0) continue;
      if (copy_entry(src, dst, d->d_name, depth) != 0) return -1;
    }
  }
}

}  // namespace

int KernelMountOps::mount(const char* source, const char* target, const char* fstype,
                          unsigned long flags, const char* data) {
  return ::mount(source, target, fstype, flags, data);
}

int KernelMountOps::mount_at(const char* source, int target_fd, const char* fstype,
                             unsigned long flags, const char* data) {
  FdPath target(target_fd);
  return ::mount(source, target.c_str(), fstype, flags, data);
}

int KernelMountOps::bind_fd(int source_fd, int target_fd, unsigned long flags) {
  FdPath source(source_fd);
  FdPath target(target_fd);
  return ::mount(source.c_str(), target.c_str(), nullptr, flags, nullptr);
}

int KernelMountOps::umount2(const char* target, int flags) { return ::umount2(target, flags); }

int KernelMountOps::pivot_root(const char* new_root, const char* put_old) {
  return sys::pivot_root(new_root, put_old);
}

int KernelMountOps::chdir(const char* path) { return ::chdir(path); }

int KernelMountOps::fchdir(int fd) { return ::fchdir(fd); }

int KernelMountOps::chroot(const char* path) { return ::chroot(path); }

int KernelMountOps::open_dir(const char* path) {
  return ::open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

int KernelMountOps::statfs_flags(int fd, unsigned long* flags) {
  struct statfs st;
  if (::fstatfs(fd, &st) != 0) return -1;
  *flags = static_cast<unsigned long>(st.f_flags);
  return 0;
}

int KernelMountOps::mount_setattr(int fd, unsigned at_flags, const mount_attr* attr) {
  mount_attr copy = *attr;
  return sys::mount_setattr(fd, "", at_flags | AT_EMPTY_PATH, &copy);
}

int KernelMountOps::move_mount(int from_fd, int to_fd) {
  return sys::move_mount(from_fd, "", to_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

int KernelMountOps::make_node(int dirfd, const char* name, mode_t mode, dev_t dev, uid_t uid,
                              gid_t gid) {
  if (::mknodat(dirfd, name, mode, dev) != 0) return -1;
  if (::fchmodat(dirfd, name, mode & 07777, 0) != 0) return -1;
  return ::fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
}

int KernelMountOps::symlinkat(const char* target, int dirfd, const char* name) {
  return ::symlinkat(target, dirfd, name);
}

int KernelMountOps::unlinkat(int dirfd, const char* name, int flags) {
  return ::unlinkat(dirfd, name, flags);
}

int KernelMountOps::copy_tree(int from_fd, int to_fd, bool root_attrs) {
  UniqueFd src(reopen_dir(from_fd));
  if (!src) return -1;
  UniqueFd dst(reopen_dir(to_fd));
  if (!dst) return -1;
  if (copy_dir(src.get(), dst.get(), 0) != 0) return -1;
  if (!root_attrs) return 0;
  struct stat st;
  if (::fstat(src.get(), &st) != 0) return -1;
  if (::fchown(dst.get(), st.st_uid, st.st_gid) != 0) return -1;
  return ::fchmod(dst.get(), st.st_mode & 07777);
}

// ---- RecordingMountOps -------------------------------------------------------------------

std::string fd_path(int fd) {
  char buf[PATH_MAX];
  FdPath p(fd);
  ssize_t n = ::readlink(p.c_str(), buf, sizeof(buf) - 1);
  if (n < 0) return fmt::format("fd:{}", fd);
  return std::string(buf, static_cast<size_t>(n));
}

namespace {

std::string show(const char* s) { return s && *s ? s : "-"; }

std::string join_at(int dirfd, const char* name) { return fd_path(dirfd) + "/" + name; }

}  // namespace

int RecordingMountOps::record(std::string line) {
  bool fail = !fail_needle_.empty() && line.find(fail_needle_) != std::string::npos;
  calls.push_back(std::move(line));
  if (!fail) return 0;
  fail_needle_.clear();
  errno = fail_errno_;
  return -1;
}

std::vector<std::string> RecordingMountOps::calls_starting_with(const std::string& prefix) const {
  std::vector<std::string> out;
  for (const auto& c : calls) {
    if (c.starts_with(prefix)) out.push_back(c);
  }
  return out;
}

int RecordingMountOps::mount(const char* source, const char* target, const char* fstype,
                             unsigned long flags, const char* data) {
  return record(fmt::format("mount {} {} {} {:#x} {}", show(source), show(target), show(fstype),
                            flags, show(data)));
}

int RecordingMountOps::mount_at(const char* source, int target_fd, const char* fstype,
                                unsigned long flags, const char* data) {
  return record(fmt::format("mount {} {} {} {:#x} {}", show(source), fd_path(target_fd),
                            show(fstype), flags, show(data)));
}

int RecordingMountOps::bind_fd(int source_fd, int target_fd, unsigned long flags) {
  return record(
      fmt::format("mount {} {} - {:#x} -", fd_path(source_fd), fd_path(target_fd), flags));
}

int RecordingMountOps::umount2(const char* target, int flags) {
  return record(fmt::format("umount2 {} {:#x}", show(target), flags));
}

int RecordingMountOps::pivot_root(const char* new_root, const char* put_old) {
  int r = record(fmt::format("pivot_root {} {}", show(new_root), show(put_old)));
  if (r == 0) pivoted_ = true;
  return r;
}

int RecordingMountOps::chdir(const char* path) {
  return record(fmt::format("chdir {}", show(path)));
}

int RecordingMountOps::fchdir(int fd) { return record(fmt::format("fchdir {}", fd_path(fd))); }

int RecordingMountOps::chroot(const char* path) {
  int r = record(fmt::format("chroot {}", show(path)));
  if (r == 0) pivoted_ = true;
  return r;
}

int RecordingMountOps::open_dir(const char* path) {
  std::string p = path;
  if (pivoted_ && !root_after_pivot_.empty() && p.starts_with("/")) p = root_after_pivot_ + p;
  return ::open(p.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
}

int RecordingMountOps::statfs_flags(int, unsigned long* flags) {
  *flags = statfs_result;
  return 0;
}

int RecordingMountOps::mount_setattr(int fd, unsigned at_flags, const mount_attr* attr) {
  std::string line = fmt::format("mount_setattr {} {:#x} set={:#x} clr={:#x}", fd_path(fd),
                                 at_flags, attr->attr_set, attr->attr_clr);
  return record(std::move(line));
}

int RecordingMountOps::move_mount(int from_fd, int to_fd) {
  return record(fmt::format("move_mount {} {}", fd_path(from_fd), fd_path(to_fd)));
}

int RecordingMountOps::make_node(int dirfd, const char* name, mode_t mode, dev_t dev, uid_t uid,
                                 gid_t gid) {
  char type = S_ISCHR(mode) ? 'c' : S_ISBLK(mode) ? 'b' : S_ISFIFO(mode) ? 'p' : '?';
  return record(fmt::format("mknod {} {} {}:{} {:04o} {}:{}", join_at(dirfd, name), type,
                            major(dev), minor(dev), mode & 07777, uid, gid));
}

int RecordingMountOps::symlinkat(const char* target, int dirfd, const char* name) {
  return record(fmt::format("symlink {} -> {}", join_at(dirfd, name), show(target)));
}

int RecordingMountOps::unlinkat(int dirfd, const char* name, int flags) {
  return record(fmt::format("unlink {} {:#x}", join_at(dirfd, name), flags));
}

int RecordingMountOps::copy_tree(int from_fd, int to_fd, bool root_attrs) {
  return record(
      fmt::format("copyup {} {}{}", fd_path(from_fd), fd_path(to_fd), root_attrs ? " +root" : ""));
}

}  // namespace berth::runtime
