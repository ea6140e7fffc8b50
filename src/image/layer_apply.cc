#include "image/layer_apply.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "base/fs.h"
#include "base/root_path.h"
#include "base/strings.h"
#include "base/unique_fd.h"
#include "image/tar_stream.h"

namespace berth::image {
namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
constexpr std::string_view kAufsMetaPrefix = ".wh..wh.";

// Lexically cleans an entry path: leading "/" and "." components dropped, "a/../b" folded.
// A ".." that would climb above the root is refused. "" names the root itself.
Result<std::string> clean_entry_path(std::string_view raw) {
  std::vector<std::string_view> parts;
  for (size_t pos = 0; pos <= raw.size();) {
    size_t end = raw.find('/', pos);
    if (end == std::string_view::npos) end = raw.size();
    std::string_view comp = raw.substr(pos, end - pos);
    pos = end + 1;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") {
      if (parts.empty()) return Fail(ErrorCode::PermissionDenied, "\"..\" climbs above the layer root");
      parts.pop_back();
      continue;
    }
    parts.push_back(comp);
  }
  std::string out;
  for (auto p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

std::pair<std::string, std::string> split_parent(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {"", path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

std::string join_path(const std::string& dir, std::string_view name) {
  return dir.empty() ? std::string(name) : dir + "/" + std::string(name);
}

// Resolves dir inside root; an escape (EXDEV) becomes a PermissionDenied naming it.
Result<UniqueFd> resolve_dir(int root_fd, const std::string& dir, ResolveCreate create) {
  auto fd = open_in_root(root_fd, dir, create);
  if (!fd) {
    if (fd.error().sys_errno() == EXDEV) {
      return Fail(ErrorCode::PermissionDenied, "{}: path escapes the layer root", fd.error().message());
    }
    return Err(fd.error());
  }
  return fd;
}

// rm -rf of name in dir_fd, never following symlinks.
Result<void> remove_at(int dir_fd, const std::string& name) {
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};
    return FailErrno(errno, "stat {}", quote(name));
  }
  if (S_ISDIR(st.st_mode)) {
    int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return FailErrno(errno, "open directory {}", quote(name));
    UniqueFd dir(fd);
    for (const auto& c : TRY_CTX(quote(name), list_dir_at(dir.get()))) TRY(remove_at(dir.get(), c));
    if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0) return FailErrno(errno, "remove directory {}", quote(name));
    return {};
  }
  if (::unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) return FailErrno(errno, "remove {}", quote(name));
  return {};
}

std::string proc_path(int dir_fd, const std::string& name) {
  return fmt::format("/proc/self/fd/{}/{}", dir_fd, name);
}

class Applier {
 public:
  Applier(const ApplyOptions& options, int root_fd, TarStream& tar)
      : opts_(options), root_(root_fd), tar_(tar) {}

  Result<int64_t> run();
  Result<void> finish_dir_times(int root_dir_fd);

 private:
  Result<void> apply_entry(struct archive_entry* e);
  Result<void> apply_whiteout(const std::string& parent, const std::string& name);
  Result<void> delete_opaque(int dir_fd, const std::string& dir_path);
  Result<void> write_file(int parent_fd, const std::string& name, struct archive_entry* e);
  Result<void> set_metadata_fd(int fd, struct archive_entry* e);
  Result<void> set_metadata_at(int parent_fd, const std::string& name, struct archive_entry* e, bool symlink);
  Result<void> set_xattrs(struct archive_entry* e, int fd, const std::string& path_for_l);
  void mark_created(const std::string& path);
  void remember_dir_time(const std::string& path, struct archive_entry* e);
  // The directory fd of parent, resolved in-root, reused while entries stay in one directory
  // (tar lists a directory's files together): resolving every entry from the root cost five
  // syscalls per path component.
  Result<int> parent_dir(const std::string& parent);
  // Forgets the cached directory when path is it or one of its ancestors (the entry may
  // replace or remove it).
  void invalidate_parent(const std::string& path);

  const ApplyOptions& opts_;
  int root_;
  TarStream& tar_;
  std::set<std::string> created_;
  std::vector<std::pair<std::string, std::array<timespec, 2>>> dir_times_;
  std::string cached_parent_;
  UniqueFd cached_parent_fd_;
};

Result<int> Applier::parent_dir(const std::string& parent) {
  if (!cached_parent_fd_ || cached_parent_ != parent) {
    cached_parent_fd_ = TRY(resolve_dir(root_, parent, ResolveCreate::Dir));
    cached_parent_ = parent;
  }
  return cached_parent_fd_.get();
}

void Applier::invalidate_parent(const std::string& path) {
  if (!cached_parent_fd_) return;
  if (path.empty() || cached_parent_ == path ||
      (starts_with(cached_parent_, path) && cached_parent_[path.size()] == '/')) {
    cached_parent_fd_.reset();
  }
}

bool entry_times(struct archive_entry* e, std::array<timespec, 2>& t) {
  if (!archive_entry_mtime_is_set(e)) return false;
  t[1].tv_sec = archive_entry_mtime(e);
  t[1].tv_nsec = archive_entry_mtime_nsec(e);
  if (archive_entry_atime_is_set(e)) {
    t[0].tv_sec = archive_entry_atime(e);
    t[0].tv_nsec = archive_entry_atime_nsec(e);
  } else {
    t[0] = t[1];
  }
  return true;
}

void Applier::mark_created(const std::string& path) {
  for (size_t pos = path.find('/'); pos != std::string::npos; pos = path.find('/', pos + 1)) {
    created_.insert(path.substr(0, pos));
  }
  created_.insert(path);
}

void Applier::remember_dir_time(const std::string& path, struct archive_entry* e) {
  std::array<timespec, 2> t{};
  if (entry_times(e, t)) dir_times_.emplace_back(path, t);
}

Result<void> Applier::set_xattrs(struct archive_entry* e, int fd, const std::string& lpath) {
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    std::string_view n = name ? name : "";
    bool user = starts_with(n, "user.");
    if (!(n == "security.capability" || user || starts_with(n, "trusted."))) continue;
    int r = fd >= 0 ? ::fsetxattr(fd, name, value, size, 0) : ::lsetxattr(lpath.c_str(), name, value, size, 0);
    if (r != 0) {
      if (user && (errno == ENOTSUP || errno == EPERM)) continue;  // fs or file type without user.*
      return FailErrno(errno, "set xattr {}", n);
    }
  }
  return {};
}

Result<void> Applier::set_metadata_fd(int fd, struct archive_entry* e) {
  if (opts_.preserve_ownership && ::fchown(fd, archive_entry_uid(e), archive_entry_gid(e)) != 0) {
    return FailErrno(errno, "chown to {}:{}", archive_entry_uid(e), archive_entry_gid(e));
  }
  if (::fchmod(fd, archive_entry_perm(e) & 07777) != 0) return FailErrno(errno, "chmod");
  return set_xattrs(e, fd, "");
}

Result<void> Applier::set_metadata_at(int parent_fd, const std::string& name, struct archive_entry* e,
                                      bool symlink) {
  if (opts_.preserve_ownership &&
      ::fchownat(parent_fd, name.c_str(), archive_entry_uid(e), archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) != 0) {
    return FailErrno(errno, "chown to {}:{}", archive_entry_uid(e), archive_entry_gid(e));
  }
  if (!symlink) {
    // The node was just created by us in an fd-resolved parent: it is not a symlink.
    if (::fchmodat(parent_fd, name.c_str(), archive_entry_perm(e) & 07777, 0) != 0) return FailErrno(errno, "chmod");
    TRY(set_xattrs(e, -1, proc_path(parent_fd, name)));
  }
  std::array<timespec, 2> t{};
  if (entry_times(e, t) && ::utimensat(parent_fd, name.c_str(), t.data(), AT_SYMLINK_NOFOLLOW) != 0) {
    return FailErrno(errno, "set times");
  }
  return {};
}

Result<void> Applier::write_file(int parent_fd, const std::string& name, struct archive_entry* e) {
  int raw = ::openat(parent_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (raw < 0) return FailErrno(errno, "create file");
  UniqueFd fd(raw);
  const void* buf = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  while (true) {
    int r = archive_read_data_block(tar_.tar(), &buf, &size, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return Err(tar_.error("read data"));
    // Blocks carry their offset: the gaps of a sparse file stay holes.
    const char* p = static_cast<const char*>(buf);
    while (size > 0) {
      ssize_t n = ::pwrite(fd.get(), p, size, offset);
      if (n < 0) {
        if (errno == EINTR) continue;
        return FailErrno(errno, "write");
      }
      p += n;
      size -= static_cast<size_t>(n);
      offset += n;
    }
  }
  if (archive_entry_size_is_set(e) && ::ftruncate(fd.get(), archive_entry_size(e)) != 0) {
    return FailErrno(errno, "truncate to {} bytes", archive_entry_size(e));
  }
  TRY(set_metadata_fd(fd.get(), e));
  std::array<timespec, 2> t{};
  if (entry_times(e, t) && ::futimens(fd.get(), t.data()) != 0) return FailErrno(errno, "set times");
  return {};
}

Result<void> Applier::delete_opaque(int dir_fd, const std::string& dir_path) {
  std::vector<std::string> children = TRY(list_dir_at(dir_fd));
  Result<void> result;
  for (const auto& c : children) {
    std::string p = join_path(dir_path, c);
    if (!created_.count(p)) {
      result = remove_at(dir_fd, c);
    } else {
      struct stat st;
      if (::fstatat(dir_fd, c.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
        int sub = ::openat(dir_fd, c.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) {
          result = FailErrno(errno, "open {}", quote(p));
        } else {
          result = delete_opaque(sub, p);
          ::close(sub);
        }
      }
    }
    if (!result) break;
  }
  return result;
}

Result<void> Applier::apply_whiteout(const std::string& parent, const std::string& name) {
  UniqueFd parent_fd = TRY(resolve_dir(root_, parent, ResolveCreate::Dir));
  if (name == kOpaqueMarker) {
    if (opts_.whiteouts == Snapshotter::Whiteouts::Overlay) {
      int fd = ::openat(parent_fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) return FailErrno(errno, "open the opaque directory");
      UniqueFd dir(fd);
      if (::fsetxattr(dir.get(), "trusted.overlay.opaque", "y", 1, 0) != 0) {
        return FailErrno(errno, "set trusted.overlay.opaque");
      }
      return {};
    }
    return delete_opaque(parent_fd.get(), parent);
  }
  if (starts_with(name, kAufsMetaPrefix)) return {};  // aufs bookkeeping (hardlink dirs): ignored
  std::string target = name.substr(kWhiteoutPrefix.size());
  if (target.empty() || target == "." || target == "..") {
    return Fail(ErrorCode::InvalidArgument, "whiteout names no entry");
  }
  TRY(remove_at(parent_fd.get(), target));
  if (opts_.whiteouts == Snapshotter::Whiteouts::Overlay) {
    if (::mknodat(parent_fd.get(), target.c_str(), S_IFCHR, makedev(0, 0)) != 0) {
      return FailErrno(errno, "create overlay whiteout {}", quote(target));
    }
    mark_created(join_path(parent, target));
  }
  return {};
}

Result<void> Applier::apply_entry(struct archive_entry* e) {
  const char* raw_path = archive_entry_pathname(e);
  if (!raw_path) return Fail(ErrorCode::InvalidArgument, "entry without a readable path");
  std::string path = TRY(clean_entry_path(raw_path));
  mode_t type = archive_entry_filetype(e);
  const char* link_target = archive_entry_hardlink(e);

  const char* xname = nullptr;
  const void* xvalue = nullptr;
  size_t xsize = 0;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &xname, &xvalue, &xsize) == ARCHIVE_OK) {
    if (xname && starts_with(xname, "trusted.overlay.")) {
      return Fail(ErrorCode::PermissionDenied, "overlay xattr {} is not allowed in a layer", xname);
    }
  }

  if (path.empty()) {
    if (type != AE_IFDIR || link_target) return Fail(ErrorCode::InvalidArgument, "the layer root must be a directory");
    int fd = ::openat(root_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return FailErrno(errno, "open the layer root");
    UniqueFd dir(fd);
    TRY(set_metadata_fd(dir.get(), e));
    remember_dir_time(path, e);
    return {};
  }
  auto [parent, name] = split_parent(path);
  if (starts_with(name, kWhiteoutPrefix)) {
    invalidate_parent(parent);
    return apply_whiteout(parent, name);
  }
  invalidate_parent(path);

  if (!link_target) {
    switch (type) {
      case AE_IFREG: case AE_IFDIR: case AE_IFLNK: case AE_IFIFO: break;
      case AE_IFCHR: case AE_IFBLK:
        if (!opts_.allow_devices) return Fail(ErrorCode::PermissionDenied, "device nodes are not allowed");
        break;
      default:
        return Fail(ErrorCode::InvalidArgument, "unsupported entry type {:o}", static_cast<unsigned>(type));
    }
  }

  int pfd = TRY(parent_dir(parent));
  struct stat existing;
  bool exists = ::fstatat(pfd, name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0;
  if (!exists && errno != ENOENT) return FailErrno(errno, "stat");

  if (link_target) {
    std::string target = TRY_CTX(fmt::format("hardlink target {}", quote(link_target)), clean_entry_path(link_target));
    if (target.empty()) return Fail(ErrorCode::InvalidArgument, "hardlink to the layer root");
    if (target == path) return {};
    auto [tparent, tname] = split_parent(target);
    auto tparent_fd = resolve_dir(root_, tparent, ResolveCreate::None);
    if (!tparent_fd) return Err(tparent_fd.error().context(fmt::format("hardlink target {}", quote(link_target))));
    struct stat tst;
    if (::fstatat(tparent_fd->get(), tname.c_str(), &tst, AT_SYMLINK_NOFOLLOW) != 0) {
      return FailErrno(errno, "hardlink target {} is not in the layer", quote(link_target));
    }
    if (S_ISDIR(tst.st_mode)) return Fail(ErrorCode::InvalidArgument, "hardlink to directory {}", quote(link_target));
    if (exists) TRY(remove_at(pfd, name));
    if (::linkat(tparent_fd->get(), tname.c_str(), pfd, name.c_str(), 0) != 0) {
      return FailErrno(errno, "link to {}", quote(link_target));
    }
    mark_created(path);
    return {};
  }

  if (exists && !(type == AE_IFDIR && S_ISDIR(existing.st_mode))) TRY(remove_at(pfd, name));

  switch (type) {
    case AE_IFDIR: {
      if (!(exists && S_ISDIR(existing.st_mode)) && ::mkdirat(pfd, name.c_str(), 0700) != 0) {
        return FailErrno(errno, "mkdir");
      }
      int fd = ::openat(pfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return FailErrno(errno, "open directory");
      UniqueFd dir(fd);
      TRY(set_metadata_fd(dir.get(), e));
      remember_dir_time(path, e);
      break;
    }
    case AE_IFREG:
      TRY(write_file(pfd, name, e));
      break;
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(e);
      if (!target) return Fail(ErrorCode::InvalidArgument, "symlink without a target");
      if (::symlinkat(target, pfd, name.c_str()) != 0) return FailErrno(errno, "symlink to {}", quote(target));
      TRY(set_metadata_at(pfd, name, e, true));
      break;
    }
    default: {  // devices and fifos, checked above
      mode_t perm = archive_entry_perm(e) & 07777;
      if (::mknodat(pfd, name.c_str(), type | perm, archive_entry_rdev(e)) != 0) return FailErrno(errno, "mknod");
      TRY(set_metadata_at(pfd, name, e, false));
      break;
    }
  }
  mark_created(path);
  return {};
}

Result<int64_t> Applier::run() {
  int64_t entries = 0;
  struct archive_entry* e = nullptr;
  while (true) {
    int r = archive_read_next_header(tar_.tar(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return Err(tar_.error("read tar header"));
    ++entries;
    if (auto applied = apply_entry(e); !applied) {
      const char* p = archive_entry_pathname(e);
      return Err(applied.error().context(fmt::format("layer {}: entry {}", opts_.layer_name, quote(p ? p : ""))));
    }
  }
  return entries;
}

Result<void> Applier::finish_dir_times(int root_dir_fd) {
  // Children first: a directory's time is set after everything inside it was written.
  for (auto it = dir_times_.rbegin(); it != dir_times_.rend(); ++it) {
    const auto& [path, t] = *it;
    if (path.empty()) {
      if (::futimens(root_dir_fd, t.data()) != 0) return FailErrno(errno, "set times of the layer root");
      continue;
    }
    auto [parent, name] = split_parent(path);
    auto parent_fd = resolve_dir(root_, parent, ResolveCreate::None);
    if (!parent_fd) continue;  // replaced by a later entry
    if (::utimensat(parent_fd->get(), name.c_str(), t.data(), AT_SYMLINK_NOFOLLOW) != 0 && errno != ENOENT) {
      return FailErrno(errno, "layer {}: set times of {}", opts_.layer_name, quote(path));
    }
  }
  return {};
}

}  // namespace

Result<ApplyResult> apply_layer(int fd, const std::string& target_dir, const ApplyOptions& options) {
  int raw = ::open(target_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (raw < 0) return FailErrno(errno, "layer {}: open target {}", options.layer_name, target_dir);
  UniqueFd root(raw);
  auto tar = TRY(TarStream::open(fd, options.layer_name, options.max_uncompressed));
  Applier applier(options, root.get(), *tar);
  ApplyResult result;
  result.entries = TRY(applier.run());
  TRY(applier.finish_dir_times(root.get()));
  result.diff_id = TRY(tar->finish());
  result.uncompressed_size = tar->uncompressed_size();
  return result;
}

}  // namespace berth::image
