// The line layer of the Dockerfile parser (BuildKit's parser.Parse): BOM, parser directives,
// comments, line continuations with the escape character, heredoc bodies.
#include <algorithm>
#include <optional>
#include <set>

#include "base/strings.h"
#include "build/dockerfile.h"
#include "build/dockerfile_line.h"

namespace berth::build {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }
bool is_regex_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alnum(char c) { return is_alpha(c) || (c >= '0' && c <= '9'); }

std::string_view trim_newline(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

size_t leading_space(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && is_space(s[i])) ++i;
  return i;
}

bool is_comment(std::string_view line) {
  line.remove_prefix(leading_space(line));
  return !line.empty() && line[0] == '#';
}

std::string comment_text(std::string_view line) {
  line.remove_prefix(leading_space(line));
  line.remove_prefix(1);
  while (!line.empty() && is_space(line.front())) line.remove_prefix(1);
  while (!line.empty() && is_space(line.back())) line.remove_suffix(1);
  return std::string(line);
}

// Parser directives: "# name=value" lines before anything else (BuildKit's DirectiveParser).
class DirectiveParser {
 public:
  // A directive on this line, or nothing. The first line that is not one ends the search.
  Result<std::optional<Directive>> parse_line(std::string_view line) {
    if (done_) return std::nullopt;
    if (line.empty() || line[0] != '#') return stop();
    line.remove_prefix(1);
    line.remove_prefix(leading_space(line));
    size_t i = 0;
    if (i >= line.size() || !is_alpha(line[i])) return stop();
    while (i < line.size() && is_alnum(line[i])) ++i;
    std::string name(line.substr(0, i));
    while (i < line.size() && is_regex_space(line[i])) ++i;
    if (i >= line.size() || line[i] != '=') return stop();
    ++i;
    size_t ws = i;
    while (i < line.size() && is_regex_space(line[i])) ++i;
    std::string_view value = line.substr(i);
    while (!value.empty() && is_regex_space(value.back())) value.remove_suffix(1);
    if (value.empty()) {
      if (i == ws) return stop();
      value = line.substr(i - 1, 1);  // the regex's lazy (.+?) takes the last blank
    }
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    if (name != "syntax" && name != "escape" && name != "check") return stop();
    if (!seen_.insert(name).second)
      return Fail(ErrorCode::InvalidArgument, "only one {} parser directive can be used", name);
    return Directive{name, std::string(value), {}};
  }

 private:
  std::optional<Directive> stop() {
    done_ = true;
    return std::nullopt;
  }
  bool done_ = false;
  std::set<std::string> seen_;
};

// Removes a trailing escape (plus blanks) that continues the line; false when the line ends
// the instruction. An escape preceded by another escape does not continue (as BuildKit).
bool trim_continuation(std::string_view& line, char escape) {
  std::string_view s = line;
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (s.empty() || s.back() != escape) return false;
  if (s.size() >= 2 && s[s.size() - 2] == escape) return false;
  s.remove_suffix(1);
  line = s;
  return true;
}

std::string file_error(std::string_view file, int line, int column, std::string_view message) {
  return fmt::format("{}:{}:{}: {}", file, line, column, message);
}

bool can_contain_heredoc(const Instruction& ins) {
  const Instruction& target = (ins.keyword == "ONBUILD" && !ins.onbuild.empty()) ? ins.onbuild[0] : ins;
  if (target.keyword != "RUN" && target.keyword != "COPY" && target.keyword != "ADD") return false;
  return !target.json_form;
}

}  // namespace

std::string heredoc_body(const Heredoc& heredoc) {
  if (!heredoc.strip_tabs) return heredoc.content;
  std::string out;
  bool at_start = true;
  for (char c : heredoc.content) {
    if (at_start && c == '\t') continue;
    at_start = c == '\n';
    out += c;
  }
  return out;
}

Result<Dockerfile> parse_dockerfile(std::string_view text, std::string_view name) {
  std::vector<std::string_view> lines;
  for (size_t start = 0; start < text.size();) {
    size_t nl = text.find('\n', start);
    size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    lines.push_back(text.substr(start, end - start));
    start = end;
  }
  if (!lines.empty() && starts_with(lines[0], "\xEF\xBB\xBF")) lines[0].remove_prefix(3);

  Dockerfile df;
  DirectiveParser directives;
  std::vector<std::string> comments;
  int current = 0;
  size_t idx = 0;

  // Feeds a line to the directive parser; true when it was a directive.
  auto directive_line = [&](std::string_view token, int line_no) -> Result<bool> {
    auto d = directives.parse_line(token);
    if (!d) return Fail(ErrorCode::InvalidArgument, "{}", file_error(name, line_no, 1, d.error().message()));
    if (!*d) return false;
    (*d)->pos = {line_no, 1};
    if ((*d)->name == "escape") {
      if ((*d)->value != "`" && (*d)->value != "\\")
        return Fail(ErrorCode::InvalidArgument, "{}",
                    file_error(name, line_no, 1,
                               fmt::format("invalid escape token '{}' does not match ` or \\", (*d)->value)));
      df.escape = (*d)->value[0];
    }
    df.directives.push_back(std::move(**d));
    return true;
  };

  while (idx < lines.size()) {
    std::string_view raw = lines[idx++];
    if (is_comment(raw)) {
      std::string c = comment_text(raw);
      if (c.empty()) comments.clear();
      else comments.push_back(std::move(c));
    }
    std::string_view token = trim_newline(raw);
    size_t lead = leading_space(token);
    token.remove_prefix(lead);
    bool was_directive = TRY(directive_line(token, current + 1));
    if (was_directive && !comments.empty()) comments.pop_back();
    if (is_comment(token)) token = {};
    ++current;
    int start_line = current;

    bool continued = trim_continuation(token, df.escape);
    if (!continued && token.empty()) continue;

    detail::LogicalLine line;
    line.file = name;
    line.pieces.push_back({0, current, static_cast<int>(lead) + 1});
    line.text.assign(token);
    int end_col = static_cast<int>(lead + trim_newline(raw).size() - lead);
    while (continued && idx < lines.size()) {
      std::string_view next = lines[idx++];
      std::string_view t = trim_newline(next);
      (void)TRY(directive_line(t, current + 1));
      ++current;
      if (is_comment(next)) continue;
      if (leading_space(t) == t.size()) continue;  // empty continuation line
      end_col = static_cast<int>(t.size());
      continued = trim_continuation(t, df.escape);
      line.pieces.push_back({line.text.size(), current, 1});
      line.text.append(t);
    }

    auto ins = TRY(detail::parse_instruction_text(line, 0, df.escape, false));
    ins.end = {current, std::max(end_col, 1)};
    if (can_contain_heredoc(ins) && line.text.find("<<") != std::string::npos) {
      auto heredocs = TRY(detail::heredocs_in_line(line));
      for (auto& h : heredocs) {
        bool terminated = false;
        while (idx < lines.size()) {
          std::string_view body = lines[idx++];
          ++current;
          std::string_view candidate = trim_newline(body);
          if (h.strip_tabs) {
            while (!candidate.empty() && candidate.front() == '\t') candidate.remove_prefix(1);
          }
          if (candidate == h.name) {
            terminated = true;
            break;
          }
          h.content.append(body);
        }
        if (!terminated)
          return Fail(ErrorCode::InvalidArgument, "{}",
                      file_error(name, start_line, ins.start.column, "unterminated heredoc " + h.name));
      }
      if (ins.keyword == "ONBUILD" && !ins.onbuild.empty()) ins.onbuild[0].heredocs = heredocs;
      ins.heredocs = std::move(heredocs);
    }
    ins.last_line = current;
    ins.file = std::string(name);
    if (!ins.onbuild.empty()) {
      ins.onbuild[0].file = ins.file;
      ins.onbuild[0].end = ins.end;
      ins.onbuild[0].last_line = ins.last_line;
    }
    ins.comments = std::move(comments);
    comments.clear();
    df.instructions.push_back(std::move(ins));
  }
  if (df.instructions.empty())
    return Fail(ErrorCode::InvalidArgument, "{}", file_error(name, std::max(current, 1), 1, "file with no instructions"));
  return df;
}

}  // namespace berth::build
