// .dockerignore: which context files `berth build` leaves out, with exactly the rules of
// `docker build` (moby/patternmatcher ignorefile.ReadAll + tonistiigi/fsutil's walk filter).
//
// The rules are pure path matching. The Dockerfile and .dockerignore themselves are always
// read by the builder even when a pattern names them (Docker sends both regardless); like
// BuildKit, a COPY still cannot see them when they are excluded.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "build/path_match.h"

namespace berth::build {

// One cleaned pattern of a .dockerignore and whether it is a `!` exception.
struct IgnoreRule {
  IgnorePattern pattern;
  bool exception = false;
  int line = 0;  // 1-based line in the file, for messages
};

// What matched a directory, carried down to its children while walking (patternmatcher's
// MatchInfo: per pattern, whether it matched this path or one of its parents).
struct IgnoreState {
  std::vector<char> matched;
};

class IgnoreRules {
 public:
  // Checks path (relative to the context, cleaned, '/'-separated) given the state of its
  // parent directory (an empty state for top-level paths); state receives this path's.
  // The last matching pattern wins; a pattern matching a parent matches the path too.
  bool excluded(std::string_view rel_path, const IgnoreState& parent, IgnoreState* state) const;
  // The same, computed from scratch by checking every parent of rel_path first.
  bool excluded(std::string_view rel_path) const;
  // An excluded directory must still be walked when an exception could match inside it.
  bool must_walk_excluded_dir(std::string_view rel_dir) const;

  bool empty() const { return rules_.empty(); }
  const std::vector<IgnoreRule>& rules() const { return rules_; }

 private:
  friend Result<IgnoreRules> parse_dockerignore(std::string_view text);
  std::vector<IgnoreRule> rules_;
  bool has_exceptions_ = false;
  bool only_prefix_exceptions_ = true;  // no exception has a wildcard before a trailing glob
};

// Parses a .dockerignore: a UTF-8 BOM is dropped, lines starting with '#' are comments,
// whitespace is trimmed, blank lines skipped, `!` marks an exception, paths are cleaned and a
// leading "/" removed. A lone "!" or a malformed pattern is InvalidArgument naming the line.
Result<IgnoreRules> parse_dockerignore(std::string_view text);

}  // namespace berth::build
