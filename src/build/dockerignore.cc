#include "build/dockerignore.h"

#include "base/strings.h"

namespace berth::build {
namespace {

// Go's strings.TrimSpace for the ASCII whitespace a .dockerignore holds.
std::string_view trim_space(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// fsutil's patternWithoutTrailingGlob.
std::string_view without_trailing_glob(std::string_view p) {
  for (std::string_view glob : {"/**", "/*"}) {
    if (p.size() >= glob.size() && p.substr(p.size() - glob.size()) == glob) {
      p.remove_suffix(glob.size());
    }
  }
  return p;
}

}  // namespace

Result<IgnoreRules> parse_dockerignore(std::string_view text) {
  IgnoreRules rules;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_no == 0 && starts_with(line, "\xEF\xBB\xBF")) line.remove_prefix(3);
    ++line_no;
    // ignorefile.ReadAll: comments are recognised before trimming.
    if (starts_with(line, "#")) continue;
    std::string_view pattern = trim_space(line);
    if (pattern.empty()) continue;
    bool invert = pattern[0] == '!';
    if (invert) pattern = trim_space(pattern.substr(1));
    std::string cleaned;
    if (!pattern.empty()) {
      cleaned = go_clean(pattern);
      if (cleaned.size() > 1 && cleaned[0] == '/') cleaned.erase(0, 1);
    }
    if (invert) cleaned = std::string("!").append(cleaned);
    // patternmatcher.New trims and cleans the whole text once more, "!" included.
    cleaned = go_clean(trim_space(cleaned));
    IgnoreRule rule;
    rule.line = line_no;
    std::string_view body = cleaned;
    if (body[0] == '!') {
      if (body.size() == 1) {
        return Fail(ErrorCode::InvalidArgument, ".dockerignore line {}: illegal exclusion pattern: \"!\"",
                    line_no);
      }
      rule.exception = true;
      body.remove_prefix(1);
    }
    auto compiled = IgnorePattern::compile(body);
    if (!compiled) {
      return Fail(ErrorCode::InvalidArgument, ".dockerignore line {}: {}", line_no,
                  compiled.error().message());
    }
    rule.pattern = std::move(*compiled);
    if (rule.exception) {
      rules.has_exceptions_ = true;
      if (without_trailing_glob(body).find_first_of("*[]?^\\") != std::string_view::npos) {
        rules.only_prefix_exceptions_ = false;
      }
    }
    rules.rules_.push_back(std::move(rule));
  }
  return rules;
}

bool IgnoreRules::excluded(std::string_view rel_path, const IgnoreState& parent,
                           IgnoreState* state) const {
  const bool have_parent = parent.matched.size() == rules_.size() && !rules_.empty();
  IgnoreState local;
  IgnoreState& out = state ? *state : local;
  out.matched.assign(rules_.size(), 0);
  bool matched = false;
  for (size_t i = 0; i < rules_.size(); ++i) {
    const IgnoreRule& rule = rules_[i];
    bool match = have_parent && parent.matched[i];
    if (!match) {
      // An inclusion cannot change a path already excluded, nor an exception one not excluded.
      if (rule.exception != matched) continue;
      match = rule.pattern.matches(rel_path);
      if (!match && !have_parent) {
        for (size_t slash = rel_path.find('/'); slash != std::string_view::npos;
             slash = rel_path.find('/', slash + 1)) {
          if (rule.pattern.matches(rel_path.substr(0, slash))) {
            match = true;
            break;
          }
        }
      }
    }
    out.matched[i] = match;
    if (match) matched = !rule.exception;
  }
  return matched;
}

bool IgnoreRules::excluded(std::string_view rel_path) const {
  IgnoreState state;
  bool result = false;
  for (size_t slash = 0;;) {
    slash = rel_path.find('/', slash);
    std::string_view prefix = rel_path.substr(0, slash);
    IgnoreState next;
    result = excluded(prefix, state, &next);
    state = std::move(next);
    if (slash == std::string_view::npos) break;
    ++slash;
  }
  return result;
}

bool IgnoreRules::must_walk_excluded_dir(std::string_view rel_dir) const {
  if (!has_exceptions_) return false;
  if (!only_prefix_exceptions_) return true;
  std::string dir_slash = std::string(rel_dir) + "/";
  for (const IgnoreRule& rule : rules_) {
    if (!rule.exception) continue;
    std::string pat = std::string(without_trailing_glob(rule.pattern.text())) + "/";
    if (starts_with(pat, dir_slash)) return true;
  }
  return false;
}

}  // namespace berth::build
