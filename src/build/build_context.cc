#include "build/build_context.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "base/fs.h"
#include "base/root_path.h"
#include "base/strings.h"
#include "build/path_match.h"
#include "image/layer_apply.h"

namespace berth::build {
namespace {

constexpr int kMaxSymlinks = 255;

std::string join_rel(const std::string& dir, std::string_view name) {
  return dir.empty() ? std::string(name) : dir + "/" + std::string(name);
}

std::string parent_of(const std::string& rel) {
  size_t slash = rel.rfind('/');
  return slash == std::string::npos ? std::string() : rel.substr(0, slash);
}

Unexpected not_found(std::string_view source) {
  return Fail(ErrorCode::NotFound, "failed to compute cache key: {}: not found", quote(source));
}

// Opens rel under root for reading, never leaving root; rel must be a regular file.
Result<UniqueFd> open_regular_in_root(int root_fd, const std::string& rel) {
  UniqueFd path_fd = TRY_CTX("open " + quote(rel) + " in the build context", open_in_root(root_fd, rel));
  struct stat st;
  if (::fstat(path_fd.get(), &st) != 0) return FailErrno(errno, "stat {} in the build context", quote(rel));
  if (!S_ISREG(st.st_mode)) {
    return Fail(ErrorCode::InvalidArgument, "{} in the build context is not a regular file", quote(rel));
  }
  std::string proc = "/proc/self/fd/" + std::to_string(path_fd.get());
  int fd = ::open(proc.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return FailErrno(errno, "open {} in the build context", quote(rel));
  return UniqueFd(fd);
}

Result<std::string> read_in_root(int root_fd, const std::string& rel) {
  UniqueFd fd = TRY(open_regular_in_root(root_fd, rel));
  return TRY_CTX("read " + quote(rel), read_all(fd.get()));
}

void hash_field(Sha256& h, std::string_view field) {
  h.update(std::to_string(field.size()));
  h.update(":");
  h.update(field);
}

}  // namespace

Result<BuildContext> BuildContext::open(const std::string& dir, const std::string& dockerfile_rel) {
  BuildContext ctx;
  ctx.dir_ = dir;
  ctx.dockerfile_ = dockerfile_rel.empty() ? "Dockerfile" : dockerfile_rel;
  int fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return FailErrno(errno, "open build context {}", dir);
  ctx.root_.reset(fd);

  // "<Dockerfile>.dockerignore" beats ".dockerignore" (BuildKit).
  std::string ignore_text;
  bool found = false;
  for (const std::string& name : {ctx.dockerfile_ + ".dockerignore", std::string(".dockerignore")}) {
    Result<std::string> text = name[0] == '/' ? read_file(name) : read_in_root(ctx.root_.get(), name);
    if (text) {
      ignore_text = std::move(*text);
      found = true;
      break;
    }
    if (text.error().code() != ErrorCode::NotFound) {
      return Err(text.error().context("build context " + dir));
    }
  }
  if (found) ctx.ignore_ = TRY_CTX("build context " + dir, parse_dockerignore(ignore_text));

  ctx.entries_[""] = ContextEntry{.mode = S_IFDIR | 0755};
  struct stat st;
  if (::fstat(ctx.root_.get(), &st) == 0) ctx.entries_[""].mode = st.st_mode;
  int walk_fd = ::openat(ctx.root_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (walk_fd < 0) return FailErrno(errno, "open build context {}", dir);
  UniqueFd walk_root(walk_fd);
  TRY_CTX("walk build context " + dir, ctx.walk(walk_root.get(), "", IgnoreState{}));
  return ctx;
}

Result<void> BuildContext::walk(int dir_fd, const std::string& rel, const IgnoreState& state) {
  std::vector<std::string> names = TRY_CTX(quote(rel.empty() ? "." : rel), list_dir_at(dir_fd));
  for (const std::string& name : names) {
    std::string child = join_rel(rel, name);
    struct stat st;
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed while walking
      return FailErrno(errno, "stat {}", quote(child));
    }
    IgnoreState child_state;
    bool excluded = ignore_.excluded(child, state, &child_state);
    if (S_ISDIR(st.st_mode)) {
      if (excluded && !ignore_.must_walk_excluded_dir(child)) continue;
      int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return FailErrno(errno, "open directory {}", quote(child));
      UniqueFd sub(fd);
      entries_[child] = ContextEntry{.mode = st.st_mode};
      TRY(walk(sub.get(), child, child_state));
      // An excluded directory is sent only for the exceptions found inside it.
      if (excluded && entries_[child].children.empty()) {
        entries_.erase(child);
        continue;
      }
    } else {
      if (excluded) continue;
      ContextEntry entry{.mode = st.st_mode};
      if (S_ISREG(st.st_mode)) entry.size = st.st_size;
      if (S_ISLNK(st.st_mode)) {
        std::string target(static_cast<size_t>(st.st_size > 0 ? st.st_size : 0) + 256, '\0');
        ssize_t n = ::readlinkat(dir_fd, name.c_str(), target.data(), target.size());
        if (n < 0) return FailErrno(errno, "readlink {}", quote(child));
        target.resize(static_cast<size_t>(n));
        entry.link_target = std::move(target);
      }
      entries_[child] = std::move(entry);
    }
    entries_[rel].children.push_back(name);
  }
  return {};
}

Result<std::string> BuildContext::resolve(std::string_view rel, bool follow_last) const {
  std::vector<std::string> stack;  // components still to walk, the next one last
  auto push_path = [&](std::string_view path) {
    std::vector<std::string> parts = split(path, '/');
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) stack.push_back(std::move(*it));
  };
  push_path(rel);
  std::string cur;
  int links = 0;
  while (!stack.empty()) {
    std::string comp = std::move(stack.back());
    stack.pop_back();
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") {
      cur = parent_of(cur);
      continue;
    }
    std::string next = join_rel(cur, comp);
    auto it = entries_.find(next);
    if (it == entries_.end()) return Fail(ErrorCode::NotFound, "{}: not found", quote(next));
    bool last = std::all_of(stack.begin(), stack.end(),
                            [](const std::string& c) { return c.empty() || c == "."; });
    const ContextEntry& e = it->second;
    if (S_ISLNK(e.mode) && (!last || follow_last)) {
      if (++links > kMaxSymlinks) return Fail(ErrorCode::InvalidArgument, "{}: too many symlinks", quote(rel));
      if (starts_with(e.link_target, "/")) cur.clear();
      push_path(e.link_target);
      continue;
    }
    if (!last && !S_ISDIR(e.mode)) return Fail(ErrorCode::NotFound, "{}: not a directory", quote(next));
    cur = std::move(next);
  }
  return cur;
}

Result<std::vector<std::string>> BuildContext::match(std::string_view source) const {
  const std::string cleaned = go_clean("/" + std::string(source));
  const std::string rel = cleaned.substr(1);
  std::vector<std::string> comps = rel.empty() ? std::vector<std::string>{} : split(rel, '/');
  size_t k = 0;
  while (k < comps.size() && !has_wildcards(comps[k])) ++k;

  if (k == comps.size()) {
    auto real = resolve(rel, true);
    if (!real) {
      if (real.error().code() == ErrorCode::NotFound) return not_found(cleaned);
      return Err(real.error());
    }
    return std::vector<std::string>{rel.empty() ? "." : rel};
  }

  std::vector<std::string> head(comps.begin(), comps.begin() + static_cast<long>(k));
  std::vector<std::string> tail(comps.begin() + static_cast<long>(k), comps.end());
  const std::string pattern = join(tail, "/");
  TRY_CTX("COPY source " + quote(source), path_match(pattern, ""));
  auto base = resolve(join(head, "/"), true);
  if (!base) {
    if (base.error().code() == ErrorCode::NotFound) return not_found(cleaned);
    return Err(base.error());
  }
  const ContextEntry& base_entry = entries_.at(*base);
  if (!S_ISDIR(base_entry.mode)) return not_found(cleaned);

  // filepath.Walk order: lexical, a directory before its contents; a match is not descended.
  std::vector<std::string> out;
  auto visit = [&](auto&& self, const std::string& dir, const std::string& prefix) -> void {
    for (const std::string& name : entries_.at(dir).children) {
      std::string full = join_rel(dir, name);
      std::string sub = join_rel(prefix, name);
      bool is_dir = S_ISDIR(entries_.at(full).mode);
      auto m = path_match(pattern, sub);
      if (m && *m) {
        out.push_back(full);
        continue;
      }
      if (is_dir) self(self, full, sub);
    }
  };
  visit(visit, *base, "");
  if (out.empty()) return not_found(cleaned);
  return out;
}

Result<void> BuildContext::hash_tree(Sha256& h, const std::string& name, const std::string& real) const {
  const ContextEntry& e = entries_.at(real);
  char type = S_ISDIR(e.mode) ? 'd' : S_ISLNK(e.mode) ? 'l' : S_ISREG(e.mode) ? 'f' : 'o';
  hash_field(h, std::string(1, type));
  hash_field(h, name);
  hash_field(h, fmt::format("{:o}", e.mode & 07777));
  if (S_ISLNK(e.mode)) hash_field(h, e.link_target);
  if (S_ISREG(e.mode)) {
    UniqueFd fd = TRY(open_regular_in_root(root_.get(), real));
    Sha256 content;
    char buf[65536];
    int64_t total = 0;
    while (true) {
      ssize_t n = ::read(fd.get(), buf, sizeof(buf));
      if (n < 0) {
        if (errno == EINTR) continue;
        return FailErrno(errno, "read {} in the build context", quote(real));
      }
      if (n == 0) break;
      content.update(std::string_view(buf, static_cast<size_t>(n)));
      total += n;
    }
    hash_field(h, std::to_string(total));
    hash_field(h, content.digest().hex);
  }
  if (S_ISDIR(e.mode)) {
    for (const std::string& child : e.children) {
      TRY(hash_tree(h, name == "." ? child : name + "/" + child, join_rel(real, child)));
    }
  }
  return {};
}

Result<Digest> BuildContext::content_digest(const std::vector<std::string>& paths) const {
  std::set<std::string> selected;
  for (const std::string& p : paths) selected.insert(go_clean("/" + p).substr(1));
  Sha256 h;
  hash_field(h, "berth build context v1");
  for (const std::string& rel : selected) {
    std::string name = rel.empty() ? "." : rel;
    auto real = resolve(rel, true);
    if (!real) {
      if (real.error().code() == ErrorCode::NotFound) return not_found("/" + rel);
      return Err(real.error());
    }
    TRY_CTX("digest " + quote(name), hash_tree(h, name, *real));
  }
  return h.digest();
}

Result<std::string> BuildContext::read_dockerfile() const {
  if (starts_with(dockerfile_, "/")) return read_file(dockerfile_);
  return TRY_CTX("read Dockerfile", read_in_root(root_.get(), dockerfile_));
}

Result<BuildContext> BuildContext::from_tar(int fd, const std::string& tmp_dir,
                                            const std::string& dockerfile_rel) {
  TRY(make_dirs(tmp_dir, 0700));
  image::ApplyOptions opts;
  opts.layer_name = "build context";
  opts.whiteouts = image::Snapshotter::Whiteouts::Delete;
  opts.allow_devices = false;
  opts.preserve_ownership = false;
  TRY_CTX("extract build context from tar", image::apply_layer(fd, tmp_dir, opts));
  return open(tmp_dir, dockerfile_rel);
}

}  // namespace berth::build
