#include "engine/container_copy_tree.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <vector>

#include "base/fs.h"
#include "base/strings.h"

namespace berth::engine::copy_detail {
namespace {

constexpr size_t kMaxTrackedLinks = 1024;  // hardlink groups remembered per copy (one fd each)
constexpr size_t kChunk = 256 * 1024;

std::string child_path(const std::string& dir, const std::string& name) {
  if (!dir.empty() && dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

Result<void> copy_bytes(int in, int out, off_t size) {
  bool use_range = true;
  std::vector<char> buf;
  off_t done = 0;
  while (true) {
    if (use_range) {
      size_t want = size > done ? static_cast<size_t>(size - done) : kChunk;
      ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, want, 0);
      if (n > 0) {
        done += n;
        continue;
      }
      if (n == 0) return {};
      if (errno == EINTR) continue;
      if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
        return FailErrno(errno, "copy data");
      }
      use_range = false;
    }
    if (buf.empty()) buf.resize(kChunk);
    ssize_t n = ::read(in, buf.data(), buf.size());
    if (n == 0) return {};
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailErrno(errno, "read");
    }
    TRY_CTX("write", write_all(out, std::string_view(buf.data(), static_cast<size_t>(n))));
    done += n;
  }
}

std::array<timespec, 2> times_of(const struct stat& st) { return {st.st_atim, st.st_mtim}; }

}  // namespace

Result<UniqueFd> reopen_for_read(int path_fd, int extra_flags, const std::string& what) {
  std::string proc = fmt::format("/proc/self/fd/{}", path_fd);
  int fd = ::open(proc.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | extra_flags);
  if (fd < 0) return FailErrno(errno, "open {}", what);
  return UniqueFd(fd);
}

Result<void> TreeCopier::set_owner(int dst_dir, const std::string& name, int fd,
                                   const struct stat& st) {
  uid_t uid = st.st_uid;
  gid_t gid = st.st_gid;
  if (owner_ == Owner::Caller) return {};
  if (owner_ == Owner::Root) {
    if (::geteuid() != 0) return {};  // rootless: what we create is already the container's root
    uid = 0;
    gid = 0;
  }
  int r = fd >= 0 ? ::fchown(fd, uid, gid)
                  : ::fchownat(dst_dir, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW);
  if (r != 0) return FailErrno(errno, "chown to {}:{}", uid, gid);
  return {};
}

Result<void> TreeCopier::clear_for_non_dir(int dst_dir, const std::string& name,
                                           const std::string& dst_path) {
  struct stat st;
  if (::fstatat(dst_dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};
    return FailErrno(errno, "stat {}", dst_path);
  }
  if (S_ISDIR(st.st_mode)) {
    return Fail(ErrorCode::Conflict, "cannot overwrite directory {} with non-directory",
                quote(dst_path));
  }
  if (::unlinkat(dst_dir, name.c_str(), 0) != 0 && errno != ENOENT)
    return FailErrno(errno, "remove {}", dst_path);
  return {};
}

Result<bool> TreeCopier::link_known(const struct stat& st, int dst_dir, const std::string& name) {
  if (st.st_nlink < 2 || S_ISDIR(st.st_mode)) return false;
  auto it = links_.find({st.st_dev, st.st_ino});
  if (it == links_.end()) return false;
  const auto& [dir, first] = it->second;
  return ::linkat(dir->get(), first.c_str(), dst_dir, name.c_str(), 0) == 0;
}

void TreeCopier::remember_link(const struct stat& st, int dst_dir, const std::string& name) {
  if (st.st_nlink < 2 || links_.size() >= kMaxTrackedLinks) return;
  int dup = ::fcntl(dst_dir, F_DUPFD_CLOEXEC, 3);
  if (dup < 0) return;  // only an optimisation: the next link is copied instead
  links_.emplace(std::make_pair(st.st_dev, st.st_ino),
                 std::make_pair(std::make_shared<UniqueFd>(dup), name));
}

Result<void> TreeCopier::copy_file(int src, const struct stat& st, int dst_dir,
                                   const std::string& name) {
  UniqueFd in = TRY(reopen_for_read(src, 0, "source"));
  struct stat now;
  if (::fstat(in.get(), &now) != 0) return FailErrno(errno, "stat source");
  if (!S_ISREG(now.st_mode)) return Fail(ErrorCode::Conflict, "source changed type while copying");
  int raw =
      ::openat(dst_dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (raw < 0) return FailErrno(errno, "create");
  UniqueFd out(raw);
  TRY(copy_bytes(in.get(), out.get(), now.st_size));
  TRY(set_owner(dst_dir, name, out.get(), st));
  // chmod after chown: chown clears the setuid and setgid bits.
  if (::fchmod(out.get(), st.st_mode & 07777) != 0)
    return FailErrno(errno, "chmod {:o}", st.st_mode & 07777);
  auto t = times_of(st);
  if (::futimens(out.get(), t.data()) != 0) return FailErrno(errno, "set times");
  return {};
}

Result<void> TreeCopier::copy_symlink(int src, const struct stat& st, int dst_dir,
                                      const std::string& name) {
  char target[PATH_MAX];
  ssize_t n = ::readlinkat(src, "", target, sizeof(target) - 1);
  if (n < 0) return FailErrno(errno, "read symlink");
  target[n] = '\0';
  if (::symlinkat(target, dst_dir, name.c_str()) != 0)
    return FailErrno(errno, "create symlink to {}", quote(target));
  TRY(set_owner(dst_dir, name, -1, st));
  auto t = times_of(st);
  if (::utimensat(dst_dir, name.c_str(), t.data(), AT_SYMLINK_NOFOLLOW) != 0)
    return FailErrno(errno, "set times");
  return {};
}

Result<void> TreeCopier::copy_dir(int src, const struct stat& st, const std::string& src_path,
                                  int dst_dir, const std::string& name,
                                  const std::string& dst_path) {
  struct stat existing;
  if (::fstatat(dst_dir, name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!S_ISDIR(existing.st_mode)) {
      return Fail(ErrorCode::Conflict, "cannot overwrite non-directory {} with directory {}",
                  quote(dst_path), quote(src_path));
    }
  } else if (errno != ENOENT) {
    return FailErrno(errno, "stat {}", dst_path);
  } else if (::mkdirat(dst_dir, name.c_str(), 0700) != 0) {
    return FailErrno(errno, "mkdir {}", dst_path);
  }
  int raw = ::openat(dst_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (raw < 0) return FailErrno(errno, "open directory {}", dst_path);
  UniqueFd out(raw);
  struct stat made;
  if (::fstat(out.get(), &made) == 0) created_dirs_.insert({made.st_dev, made.st_ino});
  TRY(copy_children(src, src_path, out.get(), dst_path));
  auto ctx = fmt::format("copy {} to {}", src_path, dst_path);
  TRY_CTX(ctx, set_owner(dst_dir, name, out.get(), st));
  if (::fchmod(out.get(), st.st_mode & 07777) != 0) return FailErrno(errno, "{}: chmod", ctx);
  auto t = times_of(st);
  if (::futimens(out.get(), t.data()) != 0) return FailErrno(errno, "{}: set times", ctx);
  return {};
}

Result<void> TreeCopier::copy_children(int src, const std::string& src_path, int dst_dir,
                                       const std::string& dst_path) {
  auto names = TRY_CTX(fmt::format("list {}", src_path), list_dir_at(src));
  for (const auto& name : names) {
    int raw = ::openat(src, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (raw < 0) {
      if (errno == ENOENT) continue;  // removed while we copied
      return FailErrno(errno, "open {}", child_path(src_path, name));
    }
    UniqueFd child(raw);
    struct stat st;
    if (::fstat(child.get(), &st) != 0)
      return FailErrno(errno, "stat {}", child_path(src_path, name));
    TRY(copy(child.get(), st, child_path(src_path, name), dst_dir, name,
             child_path(dst_path, name)));
  }
  return {};
}

Result<void> TreeCopier::copy(int src, const struct stat& st, const std::string& src_path,
                              int dst_dir, const std::string& name, const std::string& dst_path) {
  if (S_ISDIR(st.st_mode)) {
    if (created_dirs_.count({st.st_dev, st.st_ino}))
      return {};  // the destination inside the source
    return copy_dir(src, st, src_path, dst_dir, name, dst_path);
  }
  if (S_ISSOCK(st.st_mode)) return {};  // sockets are not copied (as with docker cp)
  auto ctx = fmt::format("copy {} to {}", src_path, dst_path);
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    return Fail(ErrorCode::InvalidArgument, "{}: device nodes are not copied", ctx);
  }
  TRY_CTX(ctx, clear_for_non_dir(dst_dir, name, dst_path));
  if (S_ISREG(st.st_mode)) {
    if (TRY_CTX(ctx, link_known(st, dst_dir, name))) return {};
    TRY_CTX(ctx, copy_file(src, st, dst_dir, name));
    remember_link(st, dst_dir, name);
    return {};
  }
  if (S_ISLNK(st.st_mode)) {
    TRY_CTX(ctx, copy_symlink(src, st, dst_dir, name));
    return {};
  }
  if (S_ISFIFO(st.st_mode)) {
    if (::mkfifoat(dst_dir, name.c_str(), 0600) != 0) return FailErrno(errno, "{}: mkfifo", ctx);
    TRY_CTX(ctx, set_owner(dst_dir, name, -1, st));
    // The fifo was just made by us in an fd-resolved directory: it is not a symlink.
    if (::fchmodat(dst_dir, name.c_str(), st.st_mode & 07777, 0) != 0)
      return FailErrno(errno, "{}: chmod", ctx);
    auto t = times_of(st);
    if (::utimensat(dst_dir, name.c_str(), t.data(), AT_SYMLINK_NOFOLLOW) != 0) {
      return FailErrno(errno, "{}: set times", ctx);
    }
    return {};
  }
  return Fail(ErrorCode::InvalidArgument, "{}: unsupported file type {:o}", ctx,
              static_cast<unsigned>(st.st_mode & S_IFMT));
}

}  // namespace berth::engine::copy_detail
