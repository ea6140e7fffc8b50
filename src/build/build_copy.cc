// COPY and ADD: sources matched in the context (or read from another stage), the cache key
// over their content, and the copy into a new layer.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/root_path.h"
#include "base/strings.h"
#include "build/build_internal.h"
#include "build/path_match.h"
#include "engine/container_user.h"

namespace berth::build::detail {

Result<void> Builder::copy_step(BuildState& st, const Instruction& ins, int vertex, bool add) {
  auto c = TRY(decode_copy(ins, st.lookup(), '\\'));
  std::string keyword = add ? "ADD" : "COPY";
  std::vector<std::string> urls;
  for (const auto& s : c.sources) {
    if (starts_with(s, "git@") || (add && s.ends_with(".git")))
      return Fail(ErrorCode::InvalidArgument, "{}:{}: ADD {}: git sources are not supported", ins.file, ins.start.line, s);
    if (!is_url_source(s)) continue;
    if (!add || !c.from.empty())
      return Fail(ErrorCode::InvalidArgument, "{}:{}: {} {}: source can't be a URL for COPY{}", ins.file, ins.start.line,
                  keyword, s, add ? " --from" : "");
    urls.push_back(s);
  }
  if (!c.checksum.empty() && urls.size() != c.sources.size())
    return Fail(ErrorCode::InvalidArgument, "{}:{}: {} --checksum: checksum can't be specified for non-HTTP(S) sources",
                ins.file, ins.start.line, keyword);
  std::string workdir = st.config.config.working_dir.empty() ? "/" : st.config.config.working_dir;
  std::string dest = c.dest;
  bool dest_is_dir = dest.ends_with("/") || dest == "." || dest.ends_with("/.");
  if (!starts_with(dest, "/")) dest = workdir + "/" + dest;
  dest = clean_path(dest);
  CopyOwner owner;
  if (!c.chmod.empty()) {
    auto mode = parse_uint("0" + c.chmod, "--chmod");
    char* end = nullptr;
    unsigned long m = std::strtoul(c.chmod.c_str(), &end, 8);
    if (!mode || !end || *end || m > 07777)
      return Fail(ErrorCode::InvalidArgument, "{}:{}: invalid --chmod={}: want an octal mode", ins.file, ins.start.line, c.chmod);
    owner.mode = static_cast<uint32_t>(m);
  }

  std::vector<std::string> parts = {st.key, keyword, dest, "chown=" + c.chown, "chmod=" + c.chmod, "from=" + c.from};
  std::vector<std::string> paths;
  const BuildState* from = nullptr;
  BuildState scratch;
  if (!c.from.empty()) {
    from = TRY(source_state(c.from, scratch));
    parts.push_back(from->key);
    for (const auto& d : from->config.diff_ids) parts.push_back(d.to_string());
    for (const auto& s : c.sources) {
      if (has_wildcards(s)) TRY_CTX(fmt::format("{}:{}: {} source {}", ins.file, ins.start.line, keyword, s),
                                    path_match(go_clean(s), ""));
      paths.push_back(has_wildcards(s) ? go_clean("/" + s) : clean_path("/" + s));
    }
  } else {
    for (const auto& s : c.sources) {
      if (is_url_source(s)) continue;
      auto matched = context_->match(s);
      if (!matched) {
        Error e = matched.error();
        return Err(e.context(fmt::format("{}:{}: {}", ins.file, ins.start.line, keyword)));
      }
      for (auto& p : *matched) paths.push_back(std::move(p));
    }
    if (!paths.empty()) parts.push_back(TRY(context_->content_digest(paths)).to_string());
  }
  for (const auto& p : paths) parts.push_back(p);
  for (const auto& f : c.inline_sources) {
    parts.push_back("inline " + f.name);
    parts.push_back(f.data);
  }
  // URLs: with --checksum the key holds it (and the download waits for a cache miss), else
  // the body is fetched now and its digest keys the step.
  std::vector<std::unique_ptr<Download>> downloads(urls.size());
  for (size_t i = 0; i < urls.size(); ++i) {
    parts.push_back("url " + urls[i]);
    if (!c.checksum.empty()) {
      parts.push_back("checksum " + c.checksum);
      continue;
    }
    downloads[i] = TRY(download_url(urls[i], engine_.root + "/builds", ""));
    parts.push_back(downloads[i]->digest.to_string());
  }
  if (paths.size() + urls.size() + c.inline_sources.size() > 1 && !dest_is_dir) {
    if (c.sources.size() + c.inline_sources.size() > 1 || c.from.empty()) {
      bool all_files = true;
      for (const auto& p : paths) {
        auto it = context_->entries().find(p);
        if (from || it == context_->entries().end() || S_ISDIR(it->second.mode)) all_files = false;
      }
      if (c.sources.size() + c.inline_sources.size() > 1 || all_files)
        return Fail(ErrorCode::InvalidArgument,
                    "{}:{}: When using {} with more than one source file, the destination must be a directory and end with a /",
                    ins.file, ins.start.line, keyword);
    }
  }
  std::string key = hash_parts(parts);
  st.key = key;
  std::string created_by = display_text(ins) + " # buildkit";
  std::unique_ptr<StateView> view;
  return layer_step(st, key, created_by, vertex, [&](const std::string& rootfs, std::set<std::string>&) -> Result<void> {
    UniqueFd root = TRY(open_fd(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!c.chown.empty()) {
      auto u = TRY_CTX("--chown=" + c.chown, engine::resolve_container_user(root.get(), c.chown, {}));
      owner.uid = u.uid;
      owner.gid = u.gid;
    }
    if (from) {
      view = TRY(StateView::open(images_.snapshots(), engine_.root, *from));
      std::vector<std::string> matched;
      bool all_files = true;
      for (const auto& p : paths) {
        auto m = match_in_tree(view->dir(), p);
        if (!m) return Err(m.error().context(fmt::format("{}:{}: {}", ins.file, ins.start.line, keyword)));
        for (auto& one : *m) {
          struct stat sb;
          if (::stat((view->dir() + one).c_str(), &sb) != 0 || S_ISDIR(sb.st_mode)) all_files = false;
          matched.push_back(std::move(one));
        }
      }
      if (matched.size() > 1 && !dest_is_dir && all_files)
        return Fail(ErrorCode::InvalidArgument,
                    "{}:{}: When using {} with more than one source file, the destination must be a directory and end with a /",
                    ins.file, ins.start.line, keyword);
      TRY(copy_from_tree(view->dir(), matched, root.get(), dest, dest_is_dir, owner));
    } else if (!paths.empty()) {
      TRY(copy_from_context(*context_, paths, root.get(), dest, dest_is_dir, owner, add));
    }
    for (size_t i = 0; i < urls.size(); ++i) {
      if (!downloads[i]) downloads[i] = TRY(download_url(urls[i], engine_.root + "/builds", c.checksum));
      TRY(copy_file_into(downloads[i]->path, url_file_name(urls[i]), root.get(), dest, dest_is_dir, owner));
    }
    for (const auto& f : c.inline_sources) {
      std::string target = dest_is_dir || c.inline_sources.size() > 1 ? dest + "/" + f.name : dest;
      auto slash = target.rfind('/');
      std::string parent = slash == 0 ? "/" : target.substr(0, slash);
      UniqueFd p = TRY(open_in_root(root.get(), parent, ResolveCreate::Dir));
      std::string name = target.substr(slash + 1);
      ::unlinkat(p.get(), name.c_str(), 0);
      UniqueFd out(::openat(p.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
      if (!out) return FailErrno(errno, "{} <<{}: create {}", keyword, f.name, target);
      TRY(write_all(out.get(), f.data));
      if (::fchown(out.get(), owner.uid.value_or(0), owner.gid.value_or(0)) != 0) return FailErrno(errno, "chown {}", target);
      if (owner.mode && ::fchmod(out.get(), *owner.mode) != 0) return FailErrno(errno, "chmod {}", target);
    }
    return {};
  });
}

}  // namespace berth::build::detail
