#include "engine/container_copy.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "base/fs.h"
#include "base/root_path.h"
#include "base/strings.h"
#include "base/unique_fd.h"
#include "engine/container_copy_tree.h"
#include "image/layer_apply.h"

namespace berth::engine {
namespace {

using copy_detail::Owner;
using copy_detail::SourceObject;
using copy_detail::TreeCopier;

constexpr int kMaxDestinationLinks = 40;

// What the spelling of a SRC or DEST path asks for, before anything is looked up.
struct PathSpec {
  bool dir_required = false;  // ends in "/", "/." or "/..": must be a directory
  bool contents = false;      // ends in "/.": the directory's contents, not the directory
};

PathSpec spec_of(std::string_view raw) {
  PathSpec spec;
  size_t end = raw.size();
  while (end > 0 && raw[end - 1] == '/') --end;
  if (end < raw.size()) spec.dir_required = true;
  std::string_view trimmed = raw.substr(0, end);
  size_t slash = trimmed.rfind('/');
  std::string_view last = slash == std::string_view::npos ? trimmed : trimmed.substr(slash + 1);
  if (last == ".") spec.contents = spec.dir_required = true;
  if (last == "..") spec.dir_required = true;
  return spec;
}

std::pair<std::string, std::string> split_last(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  if (slash == 0) return {"/", path.substr(1)};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

std::string join_display(const std::string& dir, const std::string& name) {
  if (!dir.empty() && dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

// The base name a host SRC is copied under ("" for the host root).
std::string host_base_name(const std::string& raw) {
  std::string path = raw;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  std::string base = split_last(path).second;
  if (base.empty() || base == "." || base == "..") base = split_last(absolute_path(raw)).second;
  return base;
}

Result<UniqueFd> open_root(const std::string& root) {
  int fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return FailErrno(errno, "open container root {}", root);
  return UniqueFd(fd);
}

// A failed in-root lookup of what (as the user spelled it): missing is Docker's message, an
// escape a refusal naming the symlink.
Error container_lookup_error(const Error& e, const std::string& what) {
  if (e.sys_errno() == ENOENT) {
    return Error(ErrorCode::NotFound, fmt::format("Could not find the file {} in container", what));
  }
  if (e.sys_errno() == EXDEV) {
    return Error(ErrorCode::PermissionDenied,
                 fmt::format("{}: path leads outside the container root", e.message()));
  }
  Error out = e;
  out.context(fmt::format("container path {}", what));
  return out;
}

Result<SourceObject> open_container_source(int root_fd, const std::string& raw, bool follow) {
  if (raw.empty()) return Fail(ErrorCode::InvalidArgument, "the container source path is empty");
  PathSpec spec = spec_of(raw);
  std::string path = clean_path(raw);
  SourceObject src;
  src.display = raw;
  if (path == "/" || spec.dir_required || follow) {
    auto fd = open_in_root(root_fd, path);
    if (!fd) return Err(container_lookup_error(fd.error(), raw));
    src.fd = std::move(*fd);
  } else {
    auto [parent_path, base] = split_last(path);
    auto parent = open_in_root(root_fd, parent_path);
    if (!parent) return Err(container_lookup_error(parent.error(), raw));
    int fd = ::openat(parent->get(), base.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
      return Err(container_lookup_error(SysError(errno, fmt::format("open {}", raw)), raw));
    src.fd = UniqueFd(fd);
  }
  if (::fstat(src.fd.get(), &src.st) != 0) return FailErrno(errno, "stat {}", raw);
  if (spec.dir_required && !S_ISDIR(src.st.st_mode)) {
    return Fail(ErrorCode::InvalidArgument, "source {} is not a directory", raw);
  }
  src.name = path == "/" ? "" : split_last(path).second;
  src.contents_only = spec.contents || src.name.empty();
  return src;
}

Result<SourceObject> open_host_source(const std::string& raw, bool follow) {
  if (raw.empty()) return Fail(ErrorCode::InvalidArgument, "the host source path is empty");
  PathSpec spec = spec_of(raw);
  int flags = O_PATH | O_CLOEXEC | (follow || spec.dir_required ? 0 : O_NOFOLLOW);
  int fd = ::open(raw.c_str(), flags);
  if (fd < 0) return FailErrno(errno, "lstat {}", raw);
  SourceObject src;
  src.fd = UniqueFd(fd);
  src.display = raw;
  if (::fstat(src.fd.get(), &src.st) != 0) return FailErrno(errno, "stat {}", raw);
  if (spec.dir_required && !S_ISDIR(src.st.st_mode)) {
    return Fail(ErrorCode::InvalidArgument, "source {} is not a directory", raw);
  }
  src.name = host_base_name(raw);
  src.contents_only = spec.contents || src.name.empty();
  return src;
}

// Where a copy lands: name in parent, and when that exists as a directory, the directory itself.
struct Destination {
  UniqueFd parent;
  std::string name;
  bool exists = false;
  bool is_dir = false;
  UniqueFd dir;
  std::string display;
};

// Finds DEST as docker cp does: a symlink at DEST is followed (its target taken relative to the
// link's directory) and looked up again. With root_fd >= 0 every lookup is in-root; with -1 the
// path is a host path.
Result<Destination> find_destination(int root_fd, const std::string& raw) {
  if (raw.empty()) return Fail(ErrorCode::InvalidArgument, "the destination path is empty");
  bool in_container = root_fd >= 0;
  auto lookup_error = [&](const Error& e, const std::string& what) {
    if (in_container) return container_lookup_error(e, what);
    Error out = e;
    out.context(fmt::format("destination {}", raw));
    return out;
  };
  std::string path = raw;
  if (in_container) {
    path = clean_path(raw);
  } else {
    while (path.size() > 1 && path.back() == '/') path.pop_back();
  }
  Destination d;
  d.display = raw;
  for (int hops = 0; hops <= kMaxDestinationLinks; ++hops) {
    auto [parent_path, base] = split_last(path);
    if (path == "/" || base == "." || base == "..") {
      auto fd = in_container ? open_in_root(root_fd, path)
                             : open_fd(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (!fd) return Err(lookup_error(fd.error(), path));
      d.dir = std::move(*fd);
      d.exists = d.is_dir = true;
      return d;
    }
    auto parent = in_container ? open_in_root(root_fd, parent_path)
                               : open_fd(parent_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (!parent) return Err(lookup_error(parent.error(), parent_path));
    struct stat st;
    if (::fstatat(parent->get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT)
        return Err(lookup_error(SysError(errno, fmt::format("stat {}", path)), path));
      d.parent = std::move(*parent);
      d.name = base;
      return d;
    }
    if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t n = ::readlinkat(parent->get(), base.c_str(), target, sizeof(target) - 1);
      if (n < 0) return FailErrno(errno, "destination {}: read symlink {}", raw, path);
      std::string t(target, static_cast<size_t>(n));
      path = t.starts_with('/') ? t : join_display(parent_path, t);
      if (in_container) path = clean_path(path);
      continue;
    }
    d.exists = true;
    d.is_dir = S_ISDIR(st.st_mode);
    if (d.is_dir) {
      int fd = ::openat(parent->get(), base.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return FailErrno(errno, "open destination {}", raw);
      d.dir = UniqueFd(fd);
    }
    d.parent = std::move(*parent);
    d.name = base;
    return d;
  }
  return Fail(ErrorCode::InvalidArgument, "destination {}: too many levels of symbolic links", raw);
}

// docker cp's rules for one SRC and one DEST.
Result<void> copy_by_rules(const SourceObject& src, const Destination& dst,
                           const PathSpec& dst_spec, Owner owner) {
  TreeCopier copier(owner);
  int fd = src.fd.get();
  if (S_ISDIR(src.st.st_mode)) {
    if (dst.exists && !dst.is_dir) {
      return Fail(ErrorCode::InvalidArgument, "cannot copy directory {} to file {}", src.display,
                  dst.display);
    }
    if (!dst.exists)
      return copier.copy(fd, src.st, src.display, dst.parent.get(), dst.name, dst.display);
    if (src.contents_only) return copier.copy_children(fd, src.display, dst.dir.get(), dst.display);
    return copier.copy(fd, src.st, src.display, dst.dir.get(), src.name,
                       join_display(dst.display, src.name));
  }
  if (dst_spec.dir_required && !dst.is_dir) {
    if (!dst.exists) {
      return Fail(ErrorCode::NotFound,
                  "destination directory {} must be a directory: no such directory", dst.display);
    }
    return Fail(ErrorCode::InvalidArgument, "destination directory {} must be a directory",
                dst.display);
  }
  if (dst.is_dir) {
    return copier.copy(fd, src.st, src.display, dst.dir.get(), src.name,
                       join_display(dst.display, src.name));
  }
  return copier.copy(fd, src.st, src.display, dst.parent.get(), dst.name, dst.display);
}

}  // namespace

Result<void> copy_into_container(const std::string& root, const std::string& host_src,
                                 const std::string& container_dst, const CopyOptions& options) {
  UniqueFd root_fd = TRY(open_root(root));
  SourceObject src = TRY(open_host_source(host_src, options.follow_link));
  Destination dst = TRY(find_destination(root_fd.get(), container_dst));
  return copy_by_rules(src, dst, spec_of(container_dst),
                       options.archive ? Owner::Keep : Owner::Root);
}

Result<void> copy_from_container(const std::string& root, const std::string& container_src,
                                 const std::string& host_dst, const CopyOptions& options) {
  UniqueFd root_fd = TRY(open_root(root));
  SourceObject src = TRY(open_container_source(root_fd.get(), container_src, options.follow_link));
  Destination dst = TRY(find_destination(-1, host_dst));
  return copy_by_rules(src, dst, spec_of(host_dst), options.archive ? Owner::Keep : Owner::Caller);
}

Result<void> copy_from_container_tar(const std::string& root, const std::string& container_src,
                                     int out_fd, const CopyOptions& options) {
  UniqueFd root_fd = TRY(open_root(root));
  SourceObject src = TRY(open_container_source(root_fd.get(), container_src, options.follow_link));
  return copy_detail::write_tree_tar(src, out_fd);
}

Result<void> copy_tar_into_container(const std::string& root, int in_fd,
                                     const std::string& container_dst, const CopyOptions& options) {
  UniqueFd root_fd = TRY(open_root(root));
  Destination dst = TRY(find_destination(root_fd.get(), container_dst));
  if (!dst.exists)
    return Fail(ErrorCode::NotFound, "Could not find the file {} in container", container_dst);
  if (!dst.is_dir)
    return Fail(ErrorCode::InvalidArgument, "destination {} must be a directory",
                quote(container_dst));
  image::ApplyOptions apply;
  apply.layer_name = "from stdin";
  // A cp archive is not a layer: ".wh." names are not overlay whiteouts, and devices stay out.
  apply.whiteouts = image::Snapshotter::Whiteouts::Delete;
  apply.allow_devices = false;
  apply.preserve_ownership = options.archive;
  // The resolved directory is reached through its descriptor, never by its path again.
  std::string target = fmt::format("/proc/self/fd/{}", dst.dir.get());
  TRY_CTX(fmt::format("extract tar into {}", container_dst),
          image::apply_layer(in_fd, target, apply));
  return {};
}

}  // namespace berth::engine
