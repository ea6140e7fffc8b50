// The instruction layer of the Dockerfile parser (BuildKit's splitCommand, extractBuilderFlags
// and line_parsers.go): keyword, builder flags, and the argument shape of each keyword.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>

#include "base/strings.h"
#include "build/dockerfile_line.h"
#include "build/shell_words.h"

namespace berth::build {
namespace {

constexpr std::array<std::string_view, 18> kInstructions = {
    "ADD",  "ARG",     "CMD",        "COPY",  "ENTRYPOINT", "ENV",  "EXPOSE", "FROM",       "HEALTHCHECK",
    "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL",      "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }
// BuildKit's reWhitespace: [\t\v\f\r ]
bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r'; }

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
  return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    prev.swap(cur);
  }
  return prev[b.size()];
}

std::string unknown_instruction(std::string_view keyword) {
  std::string msg = fmt::format("unknown instruction: {}", keyword);
  if (keyword.size() > 32) return msg;
  std::string up = upper(keyword);
  std::string_view best;
  size_t best_d = std::max<size_t>(1, up.size() / 3) + 1;
  for (auto k : kInstructions) {
    size_t d = edit_distance(up, k);
    if (d < best_d) {
      best_d = d;
      best = k;
    }
  }
  if (!best.empty()) msg += fmt::format(" (did you mean {}?)", best);
  return msg;
}

// Splits on runs of [\t\v\f\r ] (text is already trimmed).
std::vector<std::string> whitespace_words(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_ws(s[i])) ++i;
    size_t start = i;
    while (i < s.size() && !is_ws(s[i])) ++i;
    if (i > start) out.emplace_back(s.substr(start, i - start));
  }
  return out;
}

// A JSON array of strings, or nothing when the text is not valid JSON (shell form then).
// An array holding a non-string is an error, as in Docker.
Result<std::optional<std::vector<std::string>>> parse_json_array(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && is_space(text[i])) ++i;
  if (i >= text.size() || text[i] != '[') return std::nullopt;
  auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& e : j) {
    if (!e.is_string())
      return Fail(ErrorCode::InvalidArgument, "when using JSON array syntax, arrays must be comprised of strings only");
    out.push_back(e.get<std::string>());
  }
  return out;
}

struct Split {
  std::string keyword;
  size_t keyword_offset = 0;
  std::vector<Flag> flags;
  std::vector<size_t> flag_offsets;
  size_t args_offset = 0;
  std::string_view args;
};

// BuildKit's extractBuilderFlags: leading "--name[=value]" words, quotes and escapes removed.
void extract_flags(std::string_view line, size_t base, char escape, Split& out) {
  enum { InSpaces, InWord, InQuote } phase = InSpaces;
  std::string word;
  size_t word_start = 0;
  char quote_char = 0;
  bool blank_ok = false;
  auto push = [&](std::string w) {
    out.flags.push_back({std::move(w), "", false, {}});
    out.flag_offsets.push_back(base + word_start);
  };
  for (size_t pos = 0; pos <= line.size(); ++pos) {
    char ch = pos < line.size() ? line[pos] : 0;
    if (phase == InSpaces) {
      if (pos == line.size()) break;
      if (is_space(ch)) continue;
      if (ch != '-' || pos + 1 == line.size() || line[pos + 1] != '-') {
        out.args_offset = base + pos;
        out.args = line.substr(pos);
        return;
      }
      phase = InWord;
      word_start = pos;
    }
    if (pos == line.size()) {
      if (word != "--" && (blank_ok || !word.empty())) push(std::move(word));
      break;
    }
    if (phase == InWord) {
      if (is_space(ch)) {
        phase = InSpaces;
        if (word == "--") {
          out.args_offset = base + pos;
          out.args = line.substr(pos);
          return;
        }
        if (blank_ok || !word.empty()) push(std::move(word));
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote_char = ch;
        blank_ok = true;
        phase = InQuote;
        continue;
      }
      if (ch == escape) {
        if (pos + 1 == line.size()) continue;
        ch = line[++pos];
      }
      word += ch;
      continue;
    }
    if (ch == quote_char) {
      phase = InWord;
      continue;
    }
    if (ch == escape) {
      if (pos + 1 == line.size()) {
        phase = InWord;
        continue;
      }
      ch = line[++pos];
    }
    word += ch;
  }
  out.args_offset = base + line.size();
  out.args = {};
}

Split split_command(std::string_view text, size_t base, char escape) {
  Split s;
  size_t b = 0, e = text.size();
  while (b < e && is_space(text[b])) ++b;
  while (e > b && is_space(text[e - 1])) --e;
  std::string_view line = text.substr(b, e - b);
  s.keyword_offset = base + b;
  size_t k = 0;
  while (k < line.size() && !is_ws(line[k])) ++k;
  s.keyword = std::string(line.substr(0, k));
  size_t r = k;
  while (r < line.size() && is_ws(line[r])) ++r;
  if (k == line.size()) {
    s.args_offset = base + e;
    return s;
  }
  extract_flags(line.substr(r), base + b + r, escape, s);
  return s;
}

}  // namespace

bool is_known_instruction(std::string_view keyword) {
  std::string up = upper(keyword);
  return std::find(kInstructions.begin(), kInstructions.end(), up) != kInstructions.end();
}

namespace detail {

Position LogicalLine::pos_at(size_t offset) const {
  const Piece* p = &pieces.front();
  for (const auto& piece : pieces)
    if (piece.offset <= offset) p = &piece;
  return {p->line, p->column + static_cast<int>(offset - p->offset)};
}

Error LogicalLine::error_at(size_t offset, std::string_view message) const {
  Position p = pos_at(offset);
  return Error(ErrorCode::InvalidArgument, fmt::format("{}:{}:{}: {}", file, p.line, p.column, message));
}

Result<Instruction> parse_instruction_text(const LogicalLine& line, size_t begin, char escape, bool nested) {
  Split s = split_command(std::string_view(line.text).substr(begin), begin, escape);
  Instruction ins;
  ins.original = s.keyword;
  ins.keyword = upper(s.keyword);
  ins.start = line.pos_at(s.keyword_offset);
  for (size_t i = 0; i < s.flags.size(); ++i) {
    Flag f = std::move(s.flags[i]);
    std::string_view w = f.name;
    if (starts_with(w, "--")) w.remove_prefix(2);
    auto eq = w.find('=');
    Flag out{std::string(w.substr(0, eq)), "", eq != std::string_view::npos, line.pos_at(s.flag_offsets[i])};
    if (out.has_value) out.value = std::string(w.substr(eq + 1));
    ins.flags.push_back(std::move(out));
  }
  // The arguments, trimmed.
  std::string_view args = s.args;
  size_t args_offset = s.args_offset;
  while (!args.empty() && is_space(args.front())) {
    args.remove_prefix(1);
    ++args_offset;
  }
  while (!args.empty() && is_space(args.back())) args.remove_suffix(1);
  ins.text = std::string(args);
  ins.args_pos = line.pos_at(std::min(args_offset, line.text.empty() ? 0 : line.text.size() - 1));
  auto fail = [&](std::string_view msg) { return Err(line.error_at(s.keyword_offset, msg)); };

  const std::string& k = ins.keyword;
  if (!is_known_instruction(k)) {
    if (nested) {
      if (!args.empty()) ins.args.push_back(ins.text);
      return ins;
    }
    return fail(unknown_instruction(s.keyword));
  }
  auto maybe_json = [&](std::string_view text) -> Result<bool> {
    auto j = parse_json_array(text);
    if (!j) return fail(fmt::format("{}: {}", k, j.error().message()));
    if (!*j) return false;
    ins.json_form = true;
    ins.args = std::move(**j);
    return true;
  };

  if (k == "FROM" || k == "EXPOSE") {
    ins.args = whitespace_words(args);
  } else if (k == "ADD" || k == "COPY" || k == "VOLUME") {
    if (!TRY(maybe_json(args))) ins.args = whitespace_words(args);
  } else if (k == "RUN" || k == "CMD" || k == "ENTRYPOINT" || k == "SHELL") {
    if (!args.empty() && !TRY(maybe_json(args))) ins.args.push_back(ins.text);
  } else if (k == "ENV" || k == "LABEL") {
    auto words = split_quoted_words(args, escape);
    if (!words.empty() && words[0].find('=') == std::string::npos) {
      auto sep = std::find_if(args.begin(), args.end(), is_ws);
      if (sep == args.end()) return fail(fmt::format("{} must have two arguments", k));
      auto rest = std::find_if_not(sep, args.end(), is_ws);
      ins.args = {std::string(args.begin(), sep), std::string(rest, args.end())};
    } else {
      for (const auto& w : words)
        if (w.find('=') == std::string::npos)
          return fail(fmt::format("Syntax error - can't find = in {}. Must be of the form: name=value", quote(w)));
      ins.args = std::move(words);
    }
  } else if (k == "ARG") {
    ins.args = split_quoted_words(args, escape);
  } else if (k == "HEALTHCHECK") {
    size_t sep = 0;
    while (sep < args.size() && !is_space(args[sep])) ++sep;
    if (sep > 0) {
      size_t next = sep;
      while (next < args.size() && is_space(args[next])) ++next;
      ins.args.emplace_back(args.substr(0, sep));
      std::string_view cmd = args.substr(next);
      std::vector<std::string> head = std::move(ins.args);
      if (!cmd.empty() && !TRY(maybe_json(cmd))) ins.args.emplace_back(cmd);
      ins.args.insert(ins.args.begin(), head.begin(), head.end());
    }
  } else if (k == "ONBUILD") {
    if (args.empty()) return fail("ONBUILD requires at least one argument");
    ins.args.push_back(ins.text);
    if (nested) return ins;  // the outer ONBUILD refuses the chain
    auto inner = TRY(parse_instruction_text(line, args_offset, escape, true));
    if (inner.keyword == "ONBUILD") return fail("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    if (inner.keyword == "FROM" || inner.keyword == "MAINTAINER")
      return fail(fmt::format("{} isn't allowed as an ONBUILD trigger", inner.keyword));
    ins.onbuild.push_back(std::move(inner));
  } else if (!args.empty()) {  // MAINTAINER USER WORKDIR STOPSIGNAL
    ins.args.push_back(ins.text);
  }
  if (k == "FROM" && ins.args.empty() && !nested) return fail("FROM requires at least one argument");
  return ins;
}

Result<bool> parse_heredoc_word(std::string_view word, Heredoc& out) {
  // ^(\d*)<<(-?)\s*([^<]*)$
  size_t i = 0;
  while (i < word.size() && word[i] >= '0' && word[i] <= '9') ++i;
  std::string_view digits = word.substr(0, i);
  if (word.substr(i, 2) != "<<") return false;
  i += 2;
  bool chomp = i < word.size() && word[i] == '-';
  if (chomp) ++i;
  while (i < word.size() && (word[i] == ' ' || word[i] == '\t' || word[i] == '\n' || word[i] == '\f' || word[i] == '\r'))
    ++i;
  std::string_view rest = word.substr(i);
  if (rest.find('<') != std::string_view::npos || rest.empty()) return false;
  ShellLexOptions opt;
  opt.skip_unset = true;
  auto words = TRY(shell_expand(rest, {}, '\\', opt));
  if (words.words.size() != 1) return false;
  opt.raw_quotes = true;
  auto raw = TRY(shell_expand(rest, {}, '\\', opt));
  if (raw.words.size() != 1)
    return Fail(ErrorCode::InvalidArgument, "internal lexing of heredoc produced inconsistent results: {}", rest);
  auto quotes = [](const std::string& s) { return std::count(s.begin(), s.end(), '\'') + std::count(s.begin(), s.end(), '"'); };
  out = Heredoc{};
  out.name = words.words[0];
  out.expand = quotes(words.words[0]) == quotes(raw.words[0]);
  out.strip_tabs = chomp;
  int fd = 0;
  for (char c : digits) fd = std::min(fd * 10 + (c - '0'), 1 << 20);
  out.fd = fd;
  return true;
}

Result<std::vector<Heredoc>> heredocs_in_line(const LogicalLine& line) {
  ShellLexOptions opt;
  opt.raw_quotes = opt.raw_escapes = opt.skip_unset = true;
  auto words = shell_expand(line.text, {}, '\\', opt);
  std::vector<Heredoc> out;
  if (!words) return out;
  size_t search = 0;
  for (const auto& w : words->words) {
    Heredoc h;
    bool ok = false;
    auto r = parse_heredoc_word(w, h);
    if (!r) return Err(line.error_at(0, r.error().message()));
    ok = *r;
    if (!ok) continue;
    size_t at = line.text.find("<<", search);
    if (at != std::string::npos) {
      h.pos = line.pos_at(at);
      search = at + 2;
    }
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace detail
}  // namespace berth::build
