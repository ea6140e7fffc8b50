// COPY and ADD's file work: context entries (with .dockerignore already applied) or another
// stage's tree copied into the step's root, every destination reached through directory
// descriptors resolved inside that root.
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "base/fs.h"
#include "base/root_path.h"
#include "base/strings.h"
#include "build/build_internal.h"
#include "build/path_match.h"
#include "engine/container_copy_tree.h"
#include "image/layer_apply.h"

namespace berth::build::detail {
namespace {

Result<UniqueFd> open_dir(int dir_fd, const std::string& name, const std::string& what) {
  UniqueFd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return FailErrno(errno, "open directory {}", what);
  return fd;
}

// Makes name a directory in dir_fd (keeping one that exists); returns it opened.
Result<UniqueFd> make_dir(int dir_fd, const std::string& name, mode_t mode, const std::string& what) {
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) {
    if (::unlinkat(dir_fd, name.c_str(), 0) != 0) return FailErrno(errno, "replace {}", what);
  }
  if (::mkdirat(dir_fd, name.c_str(), mode & 07777) != 0 && errno != EEXIST) return FailErrno(errno, "mkdir {}", what);
  return open_dir(dir_fd, name, what);
}

Result<void> clear_non_dir(int dir_fd, const std::string& name, const std::string& what) {
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return {};
  if (S_ISDIR(st.st_mode)) return Fail(ErrorCode::Conflict, "cannot replace the directory {} with a file", what);
  if (::unlinkat(dir_fd, name.c_str(), 0) != 0) return FailErrno(errno, "replace {}", what);
  return {};
}

Result<void> apply_owner(int dir_fd, const std::string& name, const CopyOwner& owner, bool is_link) {
  uid_t uid = owner.uid.value_or(0);
  gid_t gid = owner.gid.value_or(0);
  if (::fchownat(dir_fd, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0) return FailErrno(errno, "chown {}", name);
  if (owner.mode && !is_link && ::fchmodat(dir_fd, name.c_str(), *owner.mode, 0) != 0)
    return FailErrno(errno, "chmod {}", name);
  return {};
}

Result<void> copy_file_data(int src, int dst, const std::string& what) {
  while (true) {
    ssize_t n = ::sendfile(dst, src, nullptr, 1 << 30);
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailErrno(errno, "copy {}", what);
    }
    if (n == 0) return {};
  }
}

// Writes the regular file src (an open fd with stat st) as name in dir_fd.
Result<void> write_file_from(int src, const struct stat& st, int dir_fd, const std::string& name,
                             const CopyOwner& owner, const std::string& what) {
  TRY(clear_non_dir(dir_fd, name, what));
  UniqueFd out(::openat(dir_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) return FailErrno(errno, "create {}", what);
  TRY(copy_file_data(src, out.get(), what));
  if (::fchown(out.get(), owner.uid.value_or(0), owner.gid.value_or(0)) != 0) return FailErrno(errno, "chown {}", what);
  if (::fchmod(out.get(), owner.mode.value_or(st.st_mode & 07777)) != 0) return FailErrno(errno, "chmod {}", what);
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  ::futimens(out.get(), times);
  return {};
}

class ContextCopier {
 public:
  ContextCopier(const BuildContext& ctx, const CopyOwner& owner) : ctx_(ctx), owner_(owner) {}

  // Copies context entry rel as name in dir_fd (a directory merges into an existing one).
  Result<void> copy(const std::string& rel, int dir_fd, const std::string& name, const std::string& what) {
    auto it = ctx_.entries().find(rel == "." ? "" : rel);
    if (it == ctx_.entries().end()) return Fail(ErrorCode::NotFound, "\"/{}\": not found", rel);
    const ContextEntry& e = it->second;
    if (S_ISDIR(e.mode)) {
      UniqueFd d = TRY(make_dir(dir_fd, name, e.mode, what));
      TRY(copy_children(rel, d.get(), what));
      return apply_owner(dir_fd, name, with_mode(e.mode), false);
    }
    if (S_ISLNK(e.mode)) {
      TRY(clear_non_dir(dir_fd, name, what));
      if (::symlinkat(e.link_target.c_str(), dir_fd, name.c_str()) != 0) return FailErrno(errno, "symlink {}", what);
      return apply_owner(dir_fd, name, owner_, true);
    }
    if (!S_ISREG(e.mode)) return {};
    UniqueFd src(::openat(ctx_.root_fd(), rel.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!src) return FailErrno(errno, "open {} in the build context", rel);
    struct stat st;
    if (::fstat(src.get(), &st) != 0) return FailErrno(errno, "stat {}", rel);
    return write_file_from(src.get(), st, dir_fd, name, owner_, what);
  }

  // Copies the children of context directory rel into dir_fd.
  Result<void> copy_children(const std::string& rel, int dir_fd, const std::string& what) {
    std::string key = rel == "." ? "" : rel;
    auto it = ctx_.entries().find(key);
    if (it == ctx_.entries().end()) return Fail(ErrorCode::NotFound, "\"/{}\": not found", rel);
    for (const auto& child : it->second.children)
      TRY(copy(key.empty() ? child : key + "/" + child, dir_fd, child, what + "/" + child));
    return {};
  }

 private:
  CopyOwner with_mode(mode_t mode) const {
    CopyOwner o = owner_;
    if (!o.mode) o.mode = mode & 07777;
    return o;
  }
  const BuildContext& ctx_;
  CopyOwner owner_;
};

// The tar and compressed-tar formats ADD extracts, recognised by their first bytes.
bool is_archive(int fd) {
  unsigned char head[512] = {};
  ssize_t n = ::pread(fd, head, sizeof head, 0);
  if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b) return true;
  if (n >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd) return true;
  return n >= 262 && std::string_view(reinterpret_cast<char*>(head) + 257, 5) == "ustar";
}

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The directory a copy writes into and the name it writes: dest itself when it is (or must
// be) a directory, else its parent and its last component.
struct Target {
  UniqueFd dir;
  std::string name;  // empty: into dir under the source's own name
};

Result<Target> resolve_target(int root_fd, const std::string& dest, bool dest_is_dir) {
  Target t;
  bool exists_dir = false;
  if (auto fd = open_in_root(root_fd, dest, ResolveCreate::None)) {
    struct stat st;
    exists_dir = ::fstat(fd->get(), &st) == 0 && S_ISDIR(st.st_mode);
  }
  if (dest_is_dir || exists_dir || dest == "/") {
    UniqueFd p = TRY_CTX("COPY destination " + dest, open_in_root(root_fd, dest, ResolveCreate::Dir));
    t.dir = TRY(open_dir(p.get(), ".", dest));
    return t;
  }
  auto slash = dest.rfind('/');
  std::string parent = slash == 0 ? "/" : dest.substr(0, slash);
  UniqueFd p = TRY_CTX("COPY destination " + dest, open_in_root(root_fd, parent, ResolveCreate::Dir));
  t.dir = TRY(open_dir(p.get(), ".", parent));
  t.name = dest.substr(slash + 1);
  return t;
}

}  // namespace

Result<void> copy_from_context(const BuildContext& ctx, const std::vector<std::string>& paths, int root_fd,
                               const std::string& dest, bool dest_is_dir, const CopyOwner& owner,
                               bool extract_archives) {
  ContextCopier copier(ctx, owner);
  for (const auto& rel : paths) {
    auto it = ctx.entries().find(rel == "." ? "" : rel);
    bool is_dir = it != ctx.entries().end() && S_ISDIR(it->second.mode);
    if (is_dir) {
      UniqueFd p = TRY_CTX("COPY destination " + dest, open_in_root(root_fd, dest, ResolveCreate::Dir));
      UniqueFd d = TRY(open_dir(p.get(), ".", dest));
      TRY(copier.copy_children(rel, d.get(), dest));
      continue;
    }
    if (extract_archives && it != ctx.entries().end() && S_ISREG(it->second.mode)) {
      UniqueFd src(::openat(ctx.root_fd(), rel.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (src && is_archive(src.get())) {
        UniqueFd p = TRY_CTX("ADD destination " + dest, open_in_root(root_fd, dest, ResolveCreate::Dir));
        UniqueFd d = TRY(open_dir(p.get(), ".", dest));
        image::ApplyOptions apply;
        apply.layer_name = rel;
        apply.whiteouts = image::Snapshotter::Whiteouts::Delete;
        apply.allow_devices = false;
        TRY_CTX("ADD " + rel, image::apply_layer(src.get(), fmt::format("/proc/self/fd/{}", d.get()), apply));
        continue;
      }
    }
    Target t = TRY(resolve_target(root_fd, dest, dest_is_dir));
    if (it != ctx.entries().end() && S_ISLNK(it->second.mode)) {
      // A selected symlink is followed: COPY copies what it points to.
      UniqueFd src = TRY_CTX("COPY " + rel, open_in_root(ctx.root_fd(), rel, ResolveCreate::None));
      UniqueFd data(::openat(src.get(), ".", O_RDONLY | O_CLOEXEC));
      struct stat st;
      if (!data || ::fstat(data.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        if (::fstat(src.get(), &st) == 0 && !S_ISDIR(st.st_mode))
          return Fail(ErrorCode::InvalidArgument, "COPY {}: unsupported file type", rel);
      }
      if (data && S_ISREG(st.st_mode)) {
        std::string name = t.name.empty() ? base_name(rel) : t.name;
        TRY(write_file_from(data.get(), st, t.dir.get(), name, owner, dest));
        continue;
      }
      return Fail(ErrorCode::InvalidArgument, "COPY {}: a symlink to a directory is not supported", rel);
    }
    TRY(copier.copy(rel, t.dir.get(), t.name.empty() ? base_name(rel) : t.name, dest));
  }
  return {};
}

namespace {

Result<void> own_tree(int dir_fd, const std::string& name, const CopyOwner& owner) {
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return FailErrno(errno, "stat {}", name);
  TRY(apply_owner(dir_fd, name, owner, S_ISLNK(st.st_mode)));
  if (!S_ISDIR(st.st_mode)) return {};
  UniqueFd d = TRY(open_dir(dir_fd, name, name));
  for (const auto& child : TRY(list_dir_at(d.get()))) TRY(own_tree(d.get(), child, owner));
  return {};
}

}  // namespace

Result<void> copy_from_tree(const std::string& src_root, const std::vector<std::string>& paths, int root_fd,
                            const std::string& dest, bool dest_is_dir, const CopyOwner& owner) {
  UniqueFd src_root_fd = TRY(open_fd(src_root, O_PATH | O_DIRECTORY | O_CLOEXEC));
  bool chown = owner.uid || owner.gid || owner.mode;
  for (const auto& path : paths) {
    UniqueFd src = TRY_CTX(fmt::format("\"{}\": not found", path), open_in_root(src_root_fd.get(), path, ResolveCreate::None));
    struct stat st;
    if (::fstat(src.get(), &st) != 0) return FailErrno(errno, "stat {}", path);
    engine::copy_detail::TreeCopier copier(engine::copy_detail::Owner::Keep);
    if (S_ISDIR(st.st_mode)) {
      UniqueFd p = TRY_CTX("COPY destination " + dest, open_in_root(root_fd, dest, ResolveCreate::Dir));
      UniqueFd d = TRY(open_dir(p.get(), ".", dest));
      TRY(copier.copy_children(src.get(), path, d.get(), dest));
      if (chown) {
        for (const auto& child : TRY(list_dir_at(TRY(open_dir(src.get(), ".", path)).get())))
          TRY(own_tree(d.get(), child, owner));
      }
      continue;
    }
    Target t = TRY(resolve_target(root_fd, dest, dest_is_dir));
    std::string name = t.name.empty() ? base_name(path) : t.name;
    TRY(copier.copy(src.get(), st, path, t.dir.get(), name, dest));
    if (chown) TRY(own_tree(t.dir.get(), name, owner));
  }
  return {};
}

Result<void> copy_file_into(const std::string& src_path, const std::string& name, int root_fd,
                            const std::string& dest, bool dest_is_dir, const CopyOwner& owner) {
  UniqueFd src(::open(src_path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!src) return FailErrno(errno, "open {}", src_path);
  struct stat st;
  if (::fstat(src.get(), &st) != 0) return FailErrno(errno, "stat {}", src_path);
  Target t = TRY(resolve_target(root_fd, dest, dest_is_dir));
  return write_file_from(src.get(), st, t.dir.get(), t.name.empty() ? name : t.name, owner, dest);
}

Result<std::vector<std::string>> match_in_tree(const std::string& src_root, const std::string& source) {
  const std::string cleaned = go_clean("/" + source);
  if (!has_wildcards(cleaned)) return std::vector<std::string>{cleaned};
  std::vector<std::string> comps = split(cleaned.substr(1), '/');
  size_t k = 0;
  while (k < comps.size() && !has_wildcards(comps[k])) ++k;
  std::string head = "/" + join(std::vector<std::string>(comps.begin(), comps.begin() + static_cast<long>(k)), "/");
  std::string pattern = join(std::vector<std::string>(comps.begin() + static_cast<long>(k), comps.end()), "/");
  TRY_CTX("COPY source " + source, path_match(pattern, ""));
  auto not_found = [&] {
    return Fail(ErrorCode::NotFound, "failed to compute cache key: \"{}\": not found", cleaned);
  };
  UniqueFd root = TRY(open_fd(src_root, O_PATH | O_DIRECTORY | O_CLOEXEC));
  auto base = open_in_root(root.get(), head, ResolveCreate::None);
  if (!base) return not_found();
  UniqueFd base_dir(::openat(base->get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!base_dir) return not_found();
  // filepath.Walk: lexical order, a directory before its contents, a match not descended.
  std::vector<std::string> out;
  std::string prefix = head == "/" ? "" : head;
  auto visit = [&](auto&& self, int dir_fd, const std::string& rel) -> Result<void> {
    auto names = TRY(list_dir_at(dir_fd));
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      std::string sub = rel.empty() ? name : rel + "/" + name;
      struct stat st;
      if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return FailErrno(errno, "stat {}", sub);
      auto m = path_match(pattern, sub);
      if (m && *m) {
        out.push_back(prefix + "/" + sub);
        continue;
      }
      if (!S_ISDIR(st.st_mode)) continue;
      UniqueFd child = TRY(open_dir(dir_fd, name, sub));
      TRY(self(self, child.get(), sub));
    }
    return {};
  };
  TRY(visit(visit, base_dir.get(), ""));
  if (out.empty()) return not_found();
  return out;
}

}  // namespace berth::build::detail
