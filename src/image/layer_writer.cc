#include "image/layer_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "base/fs.h"
#include "base/strings.h"
#include "base/unique_fd.h"
#include "image/layer_tar_sink.h"

namespace berth::image {
namespace {

constexpr size_t kReadChunk = 256 * 1024;
constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

using detail::LayerTarSink;
using Xattrs = std::vector<std::pair<std::string, std::string>>;  // sorted by name

struct EntryFree {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};
using Entry = std::unique_ptr<struct archive_entry, EntryFree>;

// The xattrs a layer carries: file capabilities and user.*, never overlay's own bookkeeping.
bool kept_xattr(std::string_view name) {
  return name == "security.capability" || (starts_with(name, "user.") && !starts_with(name, "user.overlay."));
}

std::string proc_path(int dir_fd, const std::string& name) {
  return fmt::format("/proc/self/fd/{}/{}", dir_fd, name);
}

// The kept xattrs of the open file fd, or (fd < 0) of lpath without following a symlink.
Result<Xattrs> read_xattrs(int fd, const std::string& lpath) {
  auto list = [&](char* buf, size_t size) {
    return fd >= 0 ? ::flistxattr(fd, buf, size) : ::llistxattr(lpath.c_str(), buf, size);
  };
  auto get = [&](const char* name, void* buf, size_t size) {
    return fd >= 0 ? ::fgetxattr(fd, name, buf, size) : ::lgetxattr(lpath.c_str(), name, buf, size);
  };
  std::string names;
  while (true) {
    ssize_t len = list(nullptr, 0);
    if (len < 0 && (errno == ENOTSUP || errno == EPERM)) return Xattrs{};
    if (len < 0) return FailErrno(errno, "list xattrs");
    if (len == 0) return Xattrs{};
    names.resize(static_cast<size_t>(len));
    len = list(names.data(), names.size());
    if (len < 0 && errno == ERANGE) continue;  // grew meanwhile
    if (len < 0) return FailErrno(errno, "list xattrs");
    names.resize(static_cast<size_t>(len));
    break;
  }
  Xattrs out;
  for (size_t pos = 0; pos < names.size();) {
    std::string name(names.c_str() + pos);
    pos += name.size() + 1;
    if (!kept_xattr(name)) continue;
    std::string value;
    ssize_t vlen = get(name.c_str(), nullptr, 0);
    if (vlen < 0 && errno == ENODATA) continue;
    if (vlen < 0) return FailErrno(errno, "get xattr {}", name);
    value.resize(static_cast<size_t>(vlen));
    vlen = get(name.c_str(), value.data(), value.size());
    if (vlen < 0) return FailErrno(errno, "get xattr {}", name);
    value.resize(static_cast<size_t>(vlen));
    out.emplace_back(std::move(name), std::move(value));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The value of xattr name on fd, or "" when it has none.
std::string xattr_value(int fd, const char* name) {
  char buf[16];
  ssize_t n = ::fgetxattr(fd, name, buf, sizeof(buf));
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

bool has_xattr(int fd, const char* name) { return ::fgetxattr(fd, name, nullptr, 0) >= 0; }

std::string join_path(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

Result<UniqueFd> open_dir_at(int dir_fd, const std::string& name) {
  int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return FailErrno(errno, "open directory");
  return UniqueFd(fd);
}

Result<UniqueFd> open_file_at(int dir_fd, const std::string& name) {
  // O_NONBLOCK: a file swapped for a fifo since the lstat must not hang the writer.
  int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return FailErrno(errno, "open");
  return UniqueFd(fd);
}

Result<std::string> read_link_at(int dir_fd, const std::string& name) {
  std::string buf(256, '\0');
  while (true) {
    ssize_t n = ::readlinkat(dir_fd, name.c_str(), buf.data(), buf.size());
    if (n < 0) return FailErrno(errno, "read symlink");
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    buf.resize(buf.size() * 2);
  }
}

bool same_time(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

// Whether two files hold the same bytes (both opened by the caller, same size).
Result<bool> same_content(int a, int b, int64_t size) {
  std::vector<char> x(kReadChunk), y(kReadChunk);
  int64_t off = 0;
  while (off < size) {
    size_t want = static_cast<size_t>(std::min<int64_t>(size - off, static_cast<int64_t>(kReadChunk)));
    ssize_t n = ::pread(a, x.data(), want, off);
    ssize_t m = ::pread(b, y.data(), want, off);
    if (n < 0 || m < 0) return FailErrno(errno, "read to compare");
    if (n != m) return false;
    if (n == 0) return true;
    if (std::memcmp(x.data(), y.data(), static_cast<size_t>(n)) != 0) return false;
    off += n;
  }
  return true;
}

// Walks a tree (and, for a diff, its parent tree alongside) and writes the layer's entries.
class TreeWriter {
 public:
  TreeWriter(LayerTarSink& sink, DiffSource source, const std::set<std::string>& exclude)
      : sink_(sink), source_(source), exclude_(exclude) {}

  // Writes what dir_fd holds under rel; parent_fd < 0 means there is no parent tree to
  // compare against (everything in dir_fd goes into the layer).
  Result<void> walk(int dir_fd, int parent_fd, const std::string& rel);

 private:
  Result<void> visit(int dir_fd, int parent_fd, const std::string& rel, const std::string& name,
                     bool in_child, bool in_parent);
  Result<void> write_node(int dir_fd, const std::string& name, const std::string& path,
                          const struct stat& st, int parent_fd, bool in_parent);
  Result<void> write_dir(const std::string& path, UniqueFd dir, int parent_sub_fd, bool write_entry);
  Result<void> write_marker(const std::string& path);
  Result<bool> unchanged(int dir_fd, int parent_fd, const std::string& name, const struct stat& st,
                         const struct stat& pst);
  Result<bool> skip_excluded(int dir_fd, const std::string& name, const std::string& path,
                             const struct stat& st, bool in_parent);
  Entry new_entry(const std::string& path, const struct stat& st);
  Result<void> add_xattrs(struct archive_entry* e, int fd, const std::string& lpath);

  LayerTarSink& sink_;
  DiffSource source_;
  const std::set<std::string>& exclude_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;  // inode -> first path written
};

Result<void> TreeWriter::walk(int dir_fd, int parent_fd, const std::string& rel) {
  std::vector<std::string> names = TRY_CTX(quote(rel.empty() ? "." : rel), list_dir_at(dir_fd));
  std::vector<std::string> parent_names;
  if (parent_fd >= 0) parent_names = TRY_CTX(fmt::format("parent {}", quote(rel.empty() ? "." : rel)), list_dir_at(parent_fd));
  // Both lists are sorted: merge them so every name is visited once, in order.
  size_t i = 0, j = 0;
  while (i < names.size() || j < parent_names.size()) {
    if (j == parent_names.size() || (i < names.size() && names[i] < parent_names[j])) {
      TRY(visit(dir_fd, parent_fd, rel, names[i++], true, false));
    } else if (i == names.size() || parent_names[j] < names[i]) {
      TRY(visit(dir_fd, parent_fd, rel, parent_names[j++], false, true));
    } else {
      TRY(visit(dir_fd, parent_fd, rel, names[i], true, true));
      ++i;
      ++j;
    }
  }
  return {};
}

Result<void> TreeWriter::write_marker(const std::string& path) {
  // Whiteouts and opaque markers are empty files owned by root, mode 0, mtime 0: they say
  // only what is gone, so the layer does not depend on when it went.
  Entry e(archive_entry_new());
  if (!e) return Fail(ErrorCode::Internal, "tar entry {}: out of memory", quote(path));
  archive_entry_set_pathname(e.get(), path.c_str());
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0);
  archive_entry_set_size(e.get(), 0);
  archive_entry_set_mtime(e.get(), 0, 0);
  return sink_.header(e.get(), path);
}

Result<void> TreeWriter::visit(int dir_fd, int parent_fd, const std::string& rel, const std::string& name,
                               bool in_child, bool in_parent) {
  std::string path = join_path(rel, name);
  if (!in_child) return write_marker(join_path(rel, std::string(kWhiteoutPrefix) + name));
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};  // removed while we walked
    return FailErrno(errno, "stat {}", quote(path));
  }
  if (source_ == DiffSource::OverlayUpper && S_ISCHR(st.st_mode) && st.st_rdev == 0)
    return write_marker(join_path(rel, std::string(kWhiteoutPrefix) + name));
  if (starts_with(name, kWhiteoutPrefix))
    return Fail(ErrorCode::InvalidArgument, "{}: a file named like a whiteout cannot be stored in a layer", quote(path));
  if (TRY_CTX(quote(path), skip_excluded(dir_fd, name, path, st, in_parent))) return {};
  TRY_CTX(quote(path), write_node(dir_fd, name, path, st, parent_fd, in_parent));
  return {};
}

Result<bool> TreeWriter::skip_excluded(int dir_fd, const std::string& name, const std::string& path,
                                       const struct stat& st, bool in_parent) {
  if (in_parent || !exclude_.count(path)) return false;
  if (S_ISREG(st.st_mode)) return st.st_size == 0;
  if (!S_ISDIR(st.st_mode)) return false;
  UniqueFd dir = TRY(open_dir_at(dir_fd, name));
  return TRY(list_dir_at(dir.get())).empty();
}

Result<bool> TreeWriter::unchanged(int dir_fd, int parent_fd, const std::string& name, const struct stat& st,
                                   const struct stat& pst) {
  if (st.st_dev == pst.st_dev && st.st_ino == pst.st_ino) return true;  // the very same inode
  if ((st.st_mode & S_IFMT) != (pst.st_mode & S_IFMT) || st.st_mode != pst.st_mode || st.st_uid != pst.st_uid ||
      st.st_gid != pst.st_gid || !same_time(st.st_mtim, pst.st_mtim))
    return false;
  if (S_ISLNK(st.st_mode)) {
    auto a = read_link_at(dir_fd, name);
    auto b = read_link_at(parent_fd, name);
    return a && b && *a == *b;
  }
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    if (st.st_rdev != pst.st_rdev) return false;
  }
  if (S_ISREG(st.st_mode) && st.st_size != pst.st_size) return false;
  Xattrs a, b;
  UniqueFd fa, fb;
  if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
    fa = TRY(S_ISDIR(st.st_mode) ? open_dir_at(dir_fd, name) : open_file_at(dir_fd, name));
    fb = TRY_CTX("parent", S_ISDIR(st.st_mode) ? open_dir_at(parent_fd, name) : open_file_at(parent_fd, name));
    a = TRY(read_xattrs(fa.get(), ""));
    b = TRY_CTX("parent", read_xattrs(fb.get(), ""));
  } else {
    a = TRY(read_xattrs(-1, proc_path(dir_fd, name)));
    b = TRY_CTX("parent", read_xattrs(-1, proc_path(parent_fd, name)));
  }
  if (a != b) return false;
  // A whole-second mtime may come from a filesystem or a tool that drops nanoseconds: then an
  // equal size and time prove nothing, and the bytes decide (as containerd does).
  if (S_ISREG(st.st_mode) && st.st_mtim.tv_nsec == 0) return same_content(fa.get(), fb.get(), st.st_size);
  return true;
}

Entry TreeWriter::new_entry(const std::string& path, const struct stat& st) {
  Entry e(archive_entry_new());
  if (!e) return e;
  archive_entry_set_pathname(e.get(), path.c_str());
  archive_entry_set_filetype(e.get(), st.st_mode & S_IFMT);
  archive_entry_set_perm(e.get(), st.st_mode & 07777);
  archive_entry_set_uid(e.get(), st.st_uid);
  archive_entry_set_gid(e.get(), st.st_gid);
  // Whole seconds, as Docker writes them: nanoseconds would add a pax header per entry and
  // make layers differ between filesystems.
  archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, 0);
  archive_entry_set_size(e.get(), 0);
  return e;
}

Result<void> TreeWriter::add_xattrs(struct archive_entry* e, int fd, const std::string& lpath) {
  for (const auto& [k, v] : TRY(read_xattrs(fd, lpath))) archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
  return {};
}

Result<void> TreeWriter::write_node(int dir_fd, const std::string& name, const std::string& path,
                                    const struct stat& st, int parent_fd, bool in_parent) {
  struct stat pst {};
  bool parent_same_type = false;
  if (in_parent) {
    if (::fstatat(parent_fd, name.c_str(), &pst, AT_SYMLINK_NOFOLLOW) != 0) return FailErrno(errno, "stat in the parent");
    parent_same_type = (pst.st_mode & S_IFMT) == (st.st_mode & S_IFMT);
  }
  if (S_ISDIR(st.st_mode)) {
    UniqueFd dir = TRY(open_dir_at(dir_fd, name));
    if (!parent_same_type) return write_dir(path, std::move(dir), -1, true);
    UniqueFd parent_dir = TRY_CTX("parent", open_dir_at(parent_fd, name));
    bool same = TRY(unchanged(dir_fd, parent_fd, name, st, pst));
    return write_dir(path, std::move(dir), parent_dir.get(), !same);
  }
  if (parent_same_type && TRY(unchanged(dir_fd, parent_fd, name, st, pst))) return {};

  Entry e = new_entry(path, st);
  if (!e) return Fail(ErrorCode::Internal, "out of memory");
  if (st.st_nlink > 1) {
    auto [it, first] = links_.try_emplace({st.st_dev, st.st_ino}, path);
    if (!first) {
      archive_entry_set_filetype(e.get(), AE_IFREG);
      archive_entry_set_hardlink(e.get(), it->second.c_str());
      return sink_.header(e.get(), path);
    }
  }
  switch (st.st_mode & S_IFMT) {
    case S_IFREG: {
      UniqueFd fd = TRY(open_file_at(dir_fd, name));
      struct stat fst;
      if (::fstat(fd.get(), &fst) != 0) return FailErrno(errno, "stat");
      if (!S_ISREG(fst.st_mode) || fst.st_ino != st.st_ino) return Fail(ErrorCode::Conflict, "replaced while the layer was written");
      if (source_ == DiffSource::OverlayUpper &&
          (has_xattr(fd.get(), "trusted.overlay.metacopy") || has_xattr(fd.get(), "user.overlay.metacopy")))
        return Fail(ErrorCode::Unavailable, "overlay metacopy file holds no data (mount without metacopy=on)");
      TRY(add_xattrs(e.get(), fd.get(), ""));
      archive_entry_set_size(e.get(), fst.st_size);
      TRY(sink_.header(e.get(), path));
      std::vector<char> buf(kReadChunk);
      for (int64_t left = fst.st_size; left > 0;) {
        ssize_t n = ::read(fd.get(), buf.data(), static_cast<size_t>(std::min<int64_t>(left, kReadChunk)));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return FailErrno(errno, "read");
        if (n == 0) return Fail(ErrorCode::Conflict, "shrank by {} bytes while the layer was written", left);
        TRY(sink_.data(std::string_view(buf.data(), static_cast<size_t>(n)), path));
        left -= n;
      }
      return {};
    }
    case S_IFLNK: {
      std::string target = TRY(read_link_at(dir_fd, name));
      archive_entry_set_symlink(e.get(), target.c_str());
      return sink_.header(e.get(), path);
    }
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO:
      if (!S_ISFIFO(st.st_mode)) archive_entry_set_rdev(e.get(), st.st_rdev);
      TRY(add_xattrs(e.get(), -1, proc_path(dir_fd, name)));
      return sink_.header(e.get(), path);
    default:
      return {};  // sockets are not stored in layers (as Docker)
  }
}

Result<void> TreeWriter::write_dir(const std::string& path, UniqueFd dir, int parent_sub_fd, bool write_entry) {
  struct stat st;
  if (::fstat(dir.get(), &st) != 0) return FailErrno(errno, "stat");
  bool opaque = false;
  if (source_ == DiffSource::OverlayUpper) {
    opaque = xattr_value(dir.get(), "trusted.overlay.opaque") == "y" ||
             xattr_value(dir.get(), "user.overlay.opaque") == "y";
    if (has_xattr(dir.get(), "trusted.overlay.redirect") || has_xattr(dir.get(), "user.overlay.redirect"))
      return Fail(ErrorCode::Unavailable, "overlay redirect (a renamed directory) cannot be stored as a layer (mount with redirect_dir=off)");
  }
  if (write_entry) {
    Entry e = new_entry(path + "/", st);
    if (!e) return Fail(ErrorCode::Internal, "out of memory");
    TRY(add_xattrs(e.get(), dir.get(), ""));
    TRY(sink_.header(e.get(), path + "/"));
  }
  if (opaque) TRY(write_marker(path + "/" + std::string(kOpaqueMarker)));
  return walk(dir.get(), parent_sub_fd, path);
}

Result<UniqueFd> open_root(const std::string& dir, std::string_view what) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return FailErrno(errno, "open {} {}", what, dir);
  return UniqueFd(fd);
}

}  // namespace

Result<LayerBlob> write_layer(const std::string& dir, DiffSource source, ContentStore& content,
                              oci::Compression compression, const std::set<std::string>& exclude) {
  std::string ctx = fmt::format("write layer from {}", dir);
  UniqueFd root = TRY_CTX(ctx, open_root(dir, "directory"));
  auto sink = TRY_CTX(ctx, LayerTarSink::open(content, compression));
  TreeWriter writer(*sink, source, exclude);
  TRY_CTX(ctx, writer.walk(root.get(), -1, ""));
  return TRY_CTX(ctx, sink->finish());
}

Result<LayerBlob> write_layer_diff(const std::string& parent_dir, const std::string& child_dir, ContentStore& content,
                                   oci::Compression compression, const std::set<std::string>& exclude) {
  std::string ctx = fmt::format("write layer from {} over {}", child_dir, parent_dir);
  UniqueFd child = TRY_CTX(ctx, open_root(child_dir, "directory"));
  UniqueFd parent = TRY_CTX(ctx, open_root(parent_dir, "parent directory"));
  auto sink = TRY_CTX(ctx, LayerTarSink::open(content, compression));
  TreeWriter writer(*sink, DiffSource::FullTree, exclude);
  TRY_CTX(ctx, writer.walk(child.get(), parent.get(), ""));
  return TRY_CTX(ctx, sink->finish());
}

}  // namespace berth::image
