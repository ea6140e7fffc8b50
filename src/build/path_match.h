// Path patterns as Docker evaluates them: Go's filepath.Match for COPY/ADD sources, and
// moby/patternmatcher's compiled patterns (where `**` spans directories) for .dockerignore.
// Paths are '/'-separated, relative, and already cleaned by the caller.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace berth::build {

// Go's filepath.Match: `*` any run of non-'/' bytes, `?` one non-'/' character, `[a-z]`,
// `[^a]` classes (a class may match '/'), `\x` the literal x. A malformed pattern is
// InvalidArgument naming it (Go's ErrBadPattern), whether or not name matched.
Result<bool> path_match(std::string_view pattern, std::string_view name);

// buildkit's containsWildcards: name holds an unescaped `*`, `?` or `[`.
bool has_wildcards(std::string_view name);

// Go's path.Clean on a '/'-separated path: "a//b/./c/.." is "a/b", "" is ".", "/.." is "/",
// a relative "../x" keeps its "..".
std::string go_clean(std::string_view path);

// One .dockerignore pattern compiled the way moby/patternmatcher does it: an exact, prefix
// ("dir/**") or suffix ("**/name") comparison when the pattern allows, else a pattern where
// `*` and `?` stay within a component, `**/` is any number of directories (zero included) and
// a trailing `**` is anything. `^` outside a class is a literal here (patternmatcher's regexp
// would make it an anchor that never matches).
class IgnorePattern {
 public:
  // pattern is already cleaned and stripped of a leading '!'. Malformed is InvalidArgument.
  static Result<IgnorePattern> compile(std::string_view pattern);

  // Whether path (relative, cleaned, '/'-separated) matches the whole pattern.
  bool matches(std::string_view path) const;
  const std::string& text() const { return text_; }

 private:
  enum class Kind { Exact, Prefix, Suffix, Glob };
  enum class Op { Byte, Star, Quest, Class, AnyStar, OptDirs };
  struct Token {
    Op op;
    char byte = 0;
    bool negated = false;
    std::vector<std::pair<char32_t, char32_t>> ranges = {};  // Class only
  };

  bool glob_matches(std::string_view path) const;

  std::string text_;
  Kind kind_ = Kind::Exact;
  std::vector<Token> tokens_;
};

}  // namespace berth::build
