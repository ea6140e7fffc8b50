// The build context of `berth build`: the directory (or stdin tar) whose files COPY and ADD
// may read, walked once with the .dockerignore applied, so excluded files are invisible.
//
// Every read goes through an O_PATH descriptor of the root and resolves in that root: a
// symlink in the context can never lead outside it (absolute targets and ".." are clamped at
// the context root, as Docker's fs.RootPath does).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/digest.h"
#include "base/error.h"
#include "base/unique_fd.h"
#include "build/dockerignore.h"

namespace berth::build {

// One visible entry of the context, keyed by its relative path ("" is the root).
struct ContextEntry {
  mode_t mode = 0;                    // st_mode: type and permission bits
  int64_t size = 0;                   // regular files
  std::string link_target = {};       // symlinks
  std::vector<std::string> children = {};  // directories: visible names, sorted
};

class BuildContext {
 public:
  // Walks dir. dockerfile_rel (relative to dir) selects "<dockerfile>.dockerignore" over
  // ".dockerignore" when present, as BuildKit does.
  static Result<BuildContext> open(const std::string& dir, const std::string& dockerfile_rel);
  // A context from a tar stream (`berth build - < ctx.tar`), extracted with the layer
  // extractor's safety rules into tmp_dir (created; the caller removes it).
  static Result<BuildContext> from_tar(int fd, const std::string& tmp_dir,
                                       const std::string& dockerfile_rel = "Dockerfile");

  // COPY/ADD source resolution. source is a path or a pattern (Go filepath.Match per
  // component from the first wildcard on) relative to the root; ".." stops at the root
  // ("../x" is "/x"). Returns context-relative paths ("." for the root). Nothing visible
  // matching is NotFound: `failed to compute cache key: "/missing.txt": not found`.
  Result<std::vector<std::string>> match(std::string_view source) const;

  // A stable sha256 over the selected paths (as returned by match): names, type and
  // permission bits, symlink targets and file contents, directories recursively in sorted
  // order. A selected symlink is followed (COPY copies what it points to); nested ones are
  // not. mtimes, uid and gid are left out (COPY sets 0:0 unless --chown).
  Result<Digest> content_digest(const std::vector<std::string>& paths) const;

  // The Dockerfile's text, read even when .dockerignore excludes it.
  Result<std::string> read_dockerfile() const;

  const std::string& dir() const { return dir_; }
  int root_fd() const { return root_.get(); }
  const IgnoreRules& ignore() const { return ignore_; }
  const std::map<std::string, ContextEntry>& entries() const { return entries_; }

 private:
  Result<void> walk(int dir_fd, const std::string& rel, const IgnoreState& state);
  // Lexical resolution over the walked entries; symlinks followed (the last one only when
  // follow_last), ".." and absolute targets clamped at the root.
  Result<std::string> resolve(std::string_view rel, bool follow_last) const;
  Result<void> hash_tree(Sha256& h, const std::string& name, const std::string& real) const;

  std::string dir_;
  std::string dockerfile_;
  UniqueFd root_;
  IgnoreRules ignore_;
  std::map<std::string, ContextEntry> entries_;
};

}  // namespace berth::build
