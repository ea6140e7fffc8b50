#include "build/path_match.h"

#include <utility>

#include "base/strings.h"

namespace berth::build {
namespace {

constexpr char32_t kRuneError = 0xFFFD;

// Go's utf8.DecodeRuneInString: an invalid or short sequence is (RuneError, 1).
std::pair<char32_t, size_t> decode_rune(std::string_view s) {
  if (s.empty()) return {kRuneError, 0};
  auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80) return {b0, 1};
  size_t n;
  char32_t r, min;
  if (b0 >= 0xC2 && b0 <= 0xDF) { n = 2; r = b0 & 0x1F; min = 0x80; }
  else if (b0 >= 0xE0 && b0 <= 0xEF) { n = 3; r = b0 & 0x0F; min = 0x800; }
  else if (b0 >= 0xF0 && b0 <= 0xF4) { n = 4; r = b0 & 0x07; min = 0x10000; }
  else return {kRuneError, 1};
  if (s.size() < n) return {kRuneError, 1};
  for (size_t i = 1; i < n; ++i) {
    auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) != 0x80) return {kRuneError, 1};
    r = (r << 6) | (b & 0x3F);
  }
  if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) return {kRuneError, 1};
  return {r, n};
}

Unexpected bad_pattern(std::string_view pattern) {
  return Fail(ErrorCode::InvalidArgument, "syntax error in pattern {}", quote(pattern));
}

// Go's getEsc: one possibly escaped character of a class; false when malformed.
bool get_esc(std::string_view& chunk, char32_t& r) {
  if (chunk.empty() || chunk[0] == '-' || chunk[0] == ']') return false;
  if (chunk[0] == '\\') {
    chunk.remove_prefix(1);
    if (chunk.empty()) return false;
  }
  auto [rune, n] = decode_rune(chunk);
  if (rune == kRuneError && n == 1) return false;
  r = rune;
  chunk.remove_prefix(n);
  return !chunk.empty();
}

// Parses a class body after '[' (Go's rules); chunk ends up after the closing ']'.
bool parse_class(std::string_view& chunk, bool& negated,
                 std::vector<std::pair<char32_t, char32_t>>& ranges) {
  negated = false;
  if (!chunk.empty() && chunk[0] == '^') {
    negated = true;
    chunk.remove_prefix(1);
  }
  while (true) {
    if (!chunk.empty() && chunk[0] == ']' && !ranges.empty()) {
      chunk.remove_prefix(1);
      return true;
    }
    char32_t lo, hi;
    if (!get_esc(chunk, lo)) return false;
    hi = lo;
    if (chunk[0] == '-') {
      chunk.remove_prefix(1);
      if (!get_esc(chunk, hi)) return false;
    }
    ranges.emplace_back(lo, hi);
  }
}

bool class_has(const std::vector<std::pair<char32_t, char32_t>>& ranges, char32_t r) {
  for (auto [lo, hi] : ranges) {
    if (lo <= r && r <= hi) return true;
  }
  return false;
}

// Go's scanChunk: leading stars, then up to the next '*' outside a class.
void scan_chunk(std::string_view& pattern, bool& star, std::string_view& chunk) {
  star = false;
  while (!pattern.empty() && pattern[0] == '*') {
    pattern.remove_prefix(1);
    star = true;
  }
  bool inrange = false;
  size_t i = 0;
  for (; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\') {
      if (i + 1 < pattern.size()) ++i;
    } else if (c == '[') {
      inrange = true;
    } else if (c == ']') {
      inrange = false;
    } else if (c == '*' && !inrange) {
      break;
    }
  }
  chunk = pattern.substr(0, i);
  pattern = pattern.substr(i);
}

enum class ChunkResult { Match, NoMatch, Bad };

// Go's matchChunk: on Match, s is left after the matched prefix. After a mismatch the chunk
// is still parsed so that a malformed pattern is reported.
ChunkResult match_chunk(std::string_view chunk, std::string_view& s) {
  bool failed = false;
  while (!chunk.empty()) {
    if (!failed && s.empty()) failed = true;
    switch (chunk[0]) {
      case '[': {
        char32_t r = 0;
        if (!failed) {
          auto [rune, n] = decode_rune(s);
          r = rune;
          s.remove_prefix(n);
        }
        chunk.remove_prefix(1);
        bool negated;
        std::vector<std::pair<char32_t, char32_t>> ranges;
        if (!parse_class(chunk, negated, ranges)) return ChunkResult::Bad;
        if (class_has(ranges, r) == negated) failed = true;
        break;
      }
      case '?':
        if (!failed) {
          if (s[0] == '/') failed = true;
          s.remove_prefix(decode_rune(s).second);
        }
        chunk.remove_prefix(1);
        break;
      case '\\':
        chunk.remove_prefix(1);
        if (chunk.empty()) return ChunkResult::Bad;
        [[fallthrough]];
      default:
        if (!failed) {
          if (chunk[0] != s[0]) failed = true;
          s.remove_prefix(1);
        }
        chunk.remove_prefix(1);
    }
  }
  return failed ? ChunkResult::NoMatch : ChunkResult::Match;
}

}  // namespace

Result<bool> path_match(std::string_view pattern, std::string_view name) {
  const std::string_view whole = pattern;
  while (!pattern.empty()) {
    bool star;
    std::string_view chunk;
    scan_chunk(pattern, star, chunk);
    if (star && chunk.empty()) return name.find('/') == std::string_view::npos;
    std::string_view t = name;
    ChunkResult r = match_chunk(chunk, t);
    if (r == ChunkResult::Match && (t.empty() || !pattern.empty())) {
      name = t;
      continue;
    }
    if (r == ChunkResult::Bad) return bad_pattern(whole);
    bool advanced = false;
    if (star) {
      for (size_t i = 0; i < name.size() && name[i] != '/'; ++i) {
        t = name.substr(i + 1);
        r = match_chunk(chunk, t);
        if (r == ChunkResult::Match) {
          if (pattern.empty() && !t.empty()) continue;
          name = t;
          advanced = true;
          break;
        }
        if (r == ChunkResult::Bad) return bad_pattern(whole);
      }
    }
    if (advanced) continue;
    // No match: the rest of the pattern must still be well formed.
    while (!pattern.empty()) {
      scan_chunk(pattern, star, chunk);
      std::string_view empty;
      if (match_chunk(chunk, empty) == ChunkResult::Bad) return bad_pattern(whole);
    }
    return false;
  }
  return name.empty();
}

bool has_wildcards(std::string_view name) {
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c == '\\') {
      ++i;
    } else if (c == '*' || c == '?' || c == '[') {
      return true;
    }
  }
  return false;
}

std::string go_clean(std::string_view path) {
  if (path.empty()) return ".";
  bool rooted = path[0] == '/';
  std::vector<std::string_view> out;
  size_t dotdots = 0;  // leading ".." kept in a relative path
  for (size_t pos = 0; pos <= path.size();) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view comp = path.substr(pos, end - pos);
    pos = end + 1;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") {
      if (out.size() > dotdots) {
        out.pop_back();
      } else if (!rooted) {
        out.push_back(comp);
        ++dotdots;
      }
      continue;
    }
    out.push_back(comp);
  }
  std::string result = rooted ? "/" : "";
  for (size_t i = 0; i < out.size(); ++i) {
    if (i) result += '/';
    result += out[i];
  }
  return result.empty() ? "." : result;
}

Result<IgnorePattern> IgnorePattern::compile(std::string_view pattern) {
  // patternmatcher rejects what filepath.Match rejects.
  TRY(path_match(pattern, "."));
  IgnorePattern p;
  p.text_ = std::string(pattern);
  Kind kind = Kind::Exact;
  size_t pos = 0;
  for (int iter = 0; pos < pattern.size(); ++iter) {
    char ch = pattern[pos++];
    if (ch == '*') {
      if (pos < pattern.size() && pattern[pos] == '*') {
        ++pos;
        if (pos < pattern.size() && pattern[pos] == '/') ++pos;
        if (pos == pattern.size()) {
          if (kind == Kind::Exact) {
            kind = Kind::Prefix;
          } else {
            p.tokens_.push_back({.op = Op::AnyStar});
            kind = Kind::Glob;
          }
        } else {
          p.tokens_.push_back({.op = Op::OptDirs});
          kind = Kind::Glob;
        }
        if (iter == 0) kind = Kind::Suffix;
      } else {
        p.tokens_.push_back({.op = Op::Star});
        kind = Kind::Glob;
      }
    } else if (ch == '?') {
      p.tokens_.push_back({.op = Op::Quest});
      kind = Kind::Glob;
    } else if (ch == '\\') {
      if (pos == pattern.size()) return bad_pattern(pattern);
      // The escaped character, all bytes of it.
      size_t n = std::max<size_t>(1, decode_rune(pattern.substr(pos)).second);
      for (size_t i = 0; i < n; ++i) p.tokens_.push_back({.op = Op::Byte, .byte = pattern[pos + i]});
      pos += n;
      kind = Kind::Glob;
    } else if (ch == '[') {
      std::string_view rest = pattern.substr(pos);
      Token t{.op = Op::Class};
      if (!parse_class(rest, t.negated, t.ranges)) return bad_pattern(pattern);
      pos = pattern.size() - rest.size();
      p.tokens_.push_back(std::move(t));
      kind = Kind::Glob;
    } else if (ch == ']') {
      p.tokens_.push_back({.op = Op::Byte, .byte = ch});
      kind = Kind::Glob;
    } else {
      p.tokens_.push_back({.op = Op::Byte, .byte = ch});
    }
  }
  p.kind_ = kind;
  if (kind != Kind::Glob) p.tokens_.clear();
  return p;
}

bool IgnorePattern::matches(std::string_view path) const {
  switch (kind_) {
    case Kind::Exact:
      return path == text_;
    case Kind::Prefix:
      return starts_with(path, std::string_view(text_).substr(0, text_.size() - 2));
    case Kind::Suffix: {
      std::string_view suffix = std::string_view(text_).substr(2);
      if (path.size() >= suffix.size() && path.substr(path.size() - suffix.size()) == suffix) return true;
      return !suffix.empty() && suffix[0] == '/' && path == suffix.substr(1);
    }
    case Kind::Glob:
      return glob_matches(path);
  }
  return false;
}

// A forward simulation over (position, state): state 2i is "at token i", 2i+1 is "inside
// the (.*/)? of token i", 2m accepts. O(path × pattern), no backtracking.
bool IgnorePattern::glob_matches(std::string_view s) const {
  const size_t m = tokens_.size();
  const size_t states = 2 * m + 1;
  const size_t accept = 2 * m;
  std::vector<char> reach((s.size() + 1) * states, 0);
  auto at = [&](size_t pos, size_t st) -> char& { return reach[pos * states + st]; };
  at(0, 0) = 1;
  for (size_t pos = 0; pos <= s.size(); ++pos) {
    for (size_t st = 0; st < accept; st += 2) {
      if (!at(pos, st)) continue;
      Op op = tokens_[st / 2].op;
      if (op == Op::Star || op == Op::AnyStar || op == Op::OptDirs) at(pos, st + 2) = 1;
    }
    if (pos == s.size()) break;
    const char c = s[pos];
    for (size_t st = 0; st < accept; ++st) {
      if (!at(pos, st)) continue;
      const Token& tok = tokens_[st / 2];
      const size_t next = (st / 2) * 2 + 2;
      if (st % 2 == 1) {  // inside (.*/)?
        if (c != '\n') at(pos + 1, st) = 1;
        if (c == '/') at(pos + 1, next) = 1;
        continue;
      }
      switch (tok.op) {
        case Op::Byte:
          if (c == tok.byte) at(pos + 1, next) = 1;
          break;
        case Op::Star:
          if (c != '/') at(pos + 1, st) = 1;
          break;
        case Op::AnyStar:
          if (c != '\n') at(pos + 1, st) = 1;
          break;
        case Op::OptDirs:
          if (c != '\n') at(pos + 1, st + 1) = 1;
          if (c == '/') at(pos + 1, next) = 1;
          break;
        case Op::Quest: {
          auto [r, n] = decode_rune(s.substr(pos));
          if (r != '/') at(pos + n, next) = 1;
          break;
        }
        case Op::Class: {
          auto [r, n] = decode_rune(s.substr(pos));
          if (class_has(tok.ranges, r) != tok.negated) at(pos + n, next) = 1;
          break;
        }
      }
    }
  }
  return at(s.size(), accept) != 0;
}

}  // namespace berth::build
