#include "image/tree_copy.h"

#include "base/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <string_view>
#include <utility>
#include <vector>

#include "base/scope_guard.h"
#include "base/strings.h"
#include "base/unique_fd.h"

namespace berth::image {
namespace {

using InodeMap = std::map<std::pair<dev_t, ino_t>, std::string>;

std::string proc_path(int dir_fd, std::string_view name) {
  return fmt::format("/proc/self/fd/{}/{}", dir_fd, name);
}

Result<void> copy_xattrs(const std::string& from, const std::string& to) {
  ssize_t len = ::llistxattr(from.c_str(), nullptr, 0);
  if (len < 0) {
    if (errno == ENOTSUP) return {};
    return FailErrno(errno, "list xattrs");
  }
  std::string names(static_cast<size_t>(len), '\0');
  len = ::llistxattr(from.c_str(), names.data(), names.size());
  if (len < 0) return FailErrno(errno, "list xattrs");
  names.resize(static_cast<size_t>(len));
  for (size_t pos = 0; pos < names.size();) {
    const char* name = names.c_str() + pos;
    pos += std::strlen(name) + 1;
    ssize_t vlen = ::lgetxattr(from.c_str(), name, nullptr, 0);
    if (vlen < 0) return FailErrno(errno, "get xattr {}", name);
    std::string value(static_cast<size_t>(vlen), '\0');
    vlen = ::lgetxattr(from.c_str(), name, value.data(), value.size());
    if (vlen < 0) return FailErrno(errno, "get xattr {}", name);
    if (::lsetxattr(to.c_str(), name, value.data(), static_cast<size_t>(vlen), 0) != 0 && errno != ENOTSUP) {
      return FailErrno(errno, "set xattr {}", name);
    }
  }
  return {};
}

Result<void> copy_data(int in, int out, off_t size) {
  if (::ioctl(out, FICLONE, in) == 0) return {};
  off_t done = 0;
  while (done < size) {
    ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, static_cast<size_t>(size - done), 0);
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailErrno(errno, "copy_file_range");
    }
    if (n == 0) return {};
    done += n;
  }
  char buf[64 * 1024];
  while (true) {
    ssize_t n = ::read(in, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailErrno(errno, "read");
    }
    if (n == 0) return {};
    for (ssize_t w = 0; w < n;) {
      ssize_t m = ::write(out, buf + w, static_cast<size_t>(n - w));
      if (m < 0) {
        if (errno == EINTR) continue;
        return FailErrno(errno, "write");
      }
      w += m;
    }
  }
}

Result<void> set_metadata(int src_dir, int dst_dir, const std::string& name, const struct stat& st) {
  if (::fchownat(dst_dir, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return FailErrno(errno, "chown");
  }
  if (!S_ISLNK(st.st_mode)) {
    if (::fchmodat(dst_dir, name.c_str(), st.st_mode & 07777, 0) != 0) return FailErrno(errno, "chmod");
    TRY(copy_xattrs(proc_path(src_dir, name), proc_path(dst_dir, name)));
  }
  timespec times[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(dst_dir, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) return FailErrno(errno, "set times");
  return {};
}

Result<void> copy_dir(int src, int dst, int dst_root, const std::string& rel, InodeMap& links);

Result<void> copy_entry(int src, int dst, int dst_root, const std::string& name, const std::string& rel,
                        InodeMap& links) {
  struct stat st;
  if (::fstatat(src, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return FailErrno(errno, "stat");
  if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
    auto [it, fresh] = links.emplace(std::make_pair(st.st_dev, st.st_ino), rel);
    if (!fresh) {
      if (::linkat(dst_root, it->second.c_str(), dst, name.c_str(), 0) != 0) {
        return FailErrno(errno, "link to {}", quote(it->second));
      }
      return {};
    }
  }
  switch (st.st_mode & S_IFMT) {
    case S_IFDIR: {
      if (::mkdirat(dst, name.c_str(), 0700) != 0) return FailErrno(errno, "mkdir");
      int s = ::openat(src, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (s < 0) return FailErrno(errno, "open");
      UniqueFd sfd(s);
      int d = ::openat(dst, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (d < 0) return FailErrno(errno, "open copy");
      UniqueFd dfd(d);
      TRY(copy_dir(sfd.get(), dfd.get(), dst_root, rel, links));
      break;
    }
    case S_IFREG: {
      int s = ::openat(src, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (s < 0) return FailErrno(errno, "open");
      UniqueFd sfd(s);
      int d = ::openat(dst, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (d < 0) return FailErrno(errno, "create copy");
      UniqueFd dfd(d);
      TRY(copy_data(sfd.get(), dfd.get(), st.st_size));
      break;
    }
    case S_IFLNK: {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlinkat(src, name.c_str(), target.data(), target.size());
      if (n < 0) return FailErrno(errno, "readlink");
      target.resize(static_cast<size_t>(n));
      if (::symlinkat(target.c_str(), dst, name.c_str()) != 0) return FailErrno(errno, "symlink");
      break;
    }
    default:
      if (::mknodat(dst, name.c_str(), st.st_mode, st.st_rdev) != 0) return FailErrno(errno, "mknod");
      break;
  }
  return set_metadata(src, dst, name, st);
}

Result<void> copy_dir(int src, int dst, int dst_root, const std::string& rel, InodeMap& links) {
  std::vector<std::string> names = TRY(list_dir_at(src));
  for (const auto& name : names) {
    std::string child = rel.empty() ? name : rel + "/" + name;
    TRY_CTX(quote(child), copy_entry(src, dst, dst_root, name, child, links));
  }
  return {};
}

}  // namespace

Result<void> copy_tree(const std::string& src, const std::string& dst) {
  int s = ::open(src.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (s < 0) return FailErrno(errno, "copy {}: open", src);
  UniqueFd sfd(s);
  int d = ::open(dst.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d < 0) return FailErrno(errno, "copy to {}: open", dst);
  UniqueFd dfd(d);
  InodeMap links;
  TRY_CTX(fmt::format("copy {} to {}", src, dst), copy_dir(sfd.get(), dfd.get(), dfd.get(), "", links));
  struct stat st;
  if (::fstat(sfd.get(), &st) != 0) return FailErrno(errno, "stat {}", src);
  if (::fchown(dfd.get(), st.st_uid, st.st_gid) != 0 || ::fchmod(dfd.get(), st.st_mode & 07777) != 0) {
    return FailErrno(errno, "copy the owner and mode of {} to {}", src, dst);
  }
  timespec times[2] = {st.st_atim, st.st_mtim};
  if (::futimens(dfd.get(), times) != 0) return FailErrno(errno, "set times of {}", dst);
  return {};
}

}  // namespace berth::image
