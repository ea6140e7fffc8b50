#include "build/shell_words.h"

#include <algorithm>

#include "base/strings.h"

namespace berth::build {
namespace {

constexpr int kEof = -1;

bool is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }
bool is_digit(int c) { return c >= '0' && c <= '9'; }
bool is_name_char(int c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}
bool is_special_param(int c) {
  return c == '@' || c == '*' || c == '#' || c == '?' || c == '-' || c == '$' || c == '!' || c == '0';
}

// A shell wildcard pattern as tokens: a literal byte, '?' (any one byte) or '*' (any run).
struct PatternToken {
  enum Kind { Literal, One, Any } kind;
  char c = 0;
};

Result<std::vector<PatternToken>> compile_pattern(std::string_view pattern) {
  std::vector<PatternToken> out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '*') {
      out.push_back({PatternToken::Any});
    } else if (c == '?') {
      out.push_back({PatternToken::One});
    } else if (c == '\\') {
      if (i + 1 < pattern.size() && (pattern[i + 1] == '}' || pattern[i + 1] == '/')) continue;
      if (i + 1 >= pattern.size())
        return Fail(ErrorCode::InvalidArgument, "invalid pattern ({}) in substitution: trailing '\\'", pattern);
      char n = pattern[++i];
      if (n != '*' && n != '?' && n != '\\')
        return Fail(ErrorCode::InvalidArgument, "invalid pattern ({}) in substitution: invalid escape '\\{}'",
                    pattern, n);
      out.push_back({PatternToken::Literal, n});
    } else {
      out.push_back({PatternToken::Literal, c});
    }
  }
  return out;
}

// ok[L] is true when the tokens match exactly text[0, L). O(tokens * text).
std::vector<bool> prefix_matches(const std::vector<PatternToken>& tokens, std::string_view text) {
  std::vector<bool> reach(text.size() + 1, false), next(text.size() + 1);
  reach[0] = true;
  for (const auto& t : tokens) {
    std::fill(next.begin(), next.end(), false);
    bool any = false;
    for (size_t p = 0; p <= text.size(); ++p) {
      if (t.kind == PatternToken::Any) {
        any = any || reach[p];
        next[p] = any;
      } else if (reach[p] && p < text.size() && (t.kind == PatternToken::One || text[p] == t.c)) {
        next[p + 1] = true;
      }
    }
    reach.swap(next);
  }
  return reach;
}

// Length of the prefix of text the pattern matches (shortest or longest), or npos.
size_t match_prefix(const std::vector<PatternToken>& tokens, std::string_view text, bool longest) {
  auto ok = prefix_matches(tokens, text);
  if (longest) {
    for (size_t l = ok.size(); l-- > 0;)
      if (ok[l]) return l;
  } else {
    for (size_t l = 0; l < ok.size(); ++l)
      if (ok[l]) return l;
  }
  return std::string_view::npos;
}

// Collects the words of an expansion: unquoted whitespace ends a word.
struct Words {
  std::string buf;
  std::vector<std::string> words;
  bool in_word = false;

  void add_char(char c) {
    if (is_space(static_cast<unsigned char>(c)) && in_word) {
      if (!buf.empty()) {
        words.push_back(std::move(buf));
        buf.clear();
        in_word = false;
      }
    } else if (!is_space(static_cast<unsigned char>(c))) {
      add_raw_char(c);
    }
  }
  void add_raw_char(char c) {
    buf += c;
    in_word = true;
  }
  void add_string(std::string_view s) {
    for (char c : s) add_char(c);
  }
  void add_raw_string(std::string_view s) {
    buf += s;
    in_word = true;
  }
  std::vector<std::string> take() {
    if (!buf.empty()) words.push_back(std::move(buf));
    buf.clear();
    return std::move(words);
  }
};

class Lexer {
 public:
  Lexer(std::string_view text, const EnvLookup& lookup, char escape, const ShellLexOptions& options)
      : text_(text), lookup_(lookup), escape_(static_cast<unsigned char>(escape)), opt_(options),
        raw_escapes_(options.raw_escapes) {}

  Result<ShellExpansion> run() { return process_stop_on(kEof, raw_escapes_); }

 private:
  int peek() const { return pos_ < text_.size() ? static_cast<unsigned char>(text_[pos_]) : kEof; }
  int next() { return pos_ < text_.size() ? static_cast<unsigned char>(text_[pos_++]) : kEof; }

  std::optional<std::string> get_env(const std::string& name) const {
    if (!lookup_) return std::nullopt;
    return lookup_(name);
  }

  Result<ShellExpansion> process_stop_on(int stop, bool raw_escapes) {
    bool saved = raw_escapes_;
    raw_escapes_ = raw_escapes;
    auto r = process_stop_on_inner(stop);
    raw_escapes_ = saved;
    return r;
  }

  Result<ShellExpansion> process_stop_on_inner(int stop) {
    if (++depth_ > 200) return Fail(ErrorCode::InvalidArgument, "substitutions nested too deeply");
    struct DepthGuard {
      int& d;
      ~DepthGuard() { --d; }
    } guard{depth_};
    std::string result;
    Words words;
    while (peek() != kEof) {
      int ch = peek();
      if (stop != kEof && ch == stop) {
        next();
        return ShellExpansion{std::move(result), words.take()};
      }
      if (ch == '$' || ch == '<' || (!opt_.skip_quotes && (ch == '\'' || ch == '"'))) {
        std::string tmp;
        if (ch == '$') tmp = TRY(process_dollar());
        else if (ch == '<') tmp = process_possible_heredoc();
        else if (ch == '\'') tmp = TRY(process_single_quote());
        else tmp = TRY(process_double_quote());
        result += tmp;
        if (ch == '$') words.add_string(tmp);
        else words.add_raw_string(tmp);
        continue;
      }
      ch = next();
      if (ch == escape_) {
        if (raw_escapes_) {
          words.add_raw_char(static_cast<char>(ch));
          result += static_cast<char>(ch);
        }
        ch = next();
        if (ch == kEof) break;
        words.add_raw_char(static_cast<char>(ch));
      } else {
        words.add_char(static_cast<char>(ch));
      }
      result += static_cast<char>(ch);
    }
    if (stop != kEof)
      return Fail(ErrorCode::InvalidArgument, "unexpected end of statement while looking for matching {}",
                  static_cast<char>(stop));
    return ShellExpansion{std::move(result), words.take()};
  }

  Result<std::string> process_single_quote() {
    std::string out;
    int ch = next();
    if (opt_.raw_quotes) out += static_cast<char>(ch);
    while (true) {
      ch = next();
      if (ch == kEof)
        return Fail(ErrorCode::InvalidArgument, "unexpected end of statement while looking for matching single-quote");
      if (ch == '\'') {
        if (opt_.raw_quotes) out += '\'';
        return out;
      }
      out += static_cast<char>(ch);
    }
  }

  Result<std::string> process_double_quote() {
    std::string out;
    int ch = next();
    if (opt_.raw_quotes) out += static_cast<char>(ch);
    while (true) {
      int p = peek();
      if (p == kEof)
        return Fail(ErrorCode::InvalidArgument, "unexpected end of statement while looking for matching double-quote");
      if (p == '"') {
        next();
        if (opt_.raw_quotes) out += '"';
        return out;
      }
      if (p == '$') {
        out += TRY(process_dollar());
        continue;
      }
      ch = next();
      if (ch == escape_) {
        if (raw_escapes_) out += static_cast<char>(ch);
        int n = peek();
        if (n == kEof) continue;
        if (n == '"' || n == '$' || n == escape_) ch = next();
      }
      out += static_cast<char>(ch);
    }
  }

  std::string process_name() {
    std::string name;
    while (peek() != kEof) {
      int ch = peek();
      if (name.empty() && is_digit(ch)) {
        while (peek() != kEof && is_digit(peek())) name += static_cast<char>(next());
        return name;
      }
      if (name.empty() && is_special_param(ch)) return std::string(1, static_cast<char>(next()));
      if (!is_name_char(ch)) break;
      name += static_cast<char>(next());
    }
    return name;
  }

  std::string process_possible_heredoc() {
    next();
    if (peek() != '<') return "<";
    next();
    std::string out = "<<";
    while (peek() == ' ' || peek() == '\t' || peek() == '\r') out += static_cast<char>(next());
    return out;
  }

  static Unexpected missing_brace() { return Fail(ErrorCode::InvalidArgument, "syntax error: missing '}}'"); }

  Result<std::string> process_dollar() {
    next();
    if (peek() != '{') {
      std::string name = process_name();
      if (name.empty()) return std::string("$");
      auto v = get_env(name);
      if (!v && opt_.skip_unset) return "$" + name;
      return v.value_or("");
    }
    next();
    int p = peek();
    if (p == kEof) return missing_brace();
    if (p == '{' || p == '}' || p == ':') return Fail(ErrorCode::InvalidArgument, "syntax error: bad substitution");
    std::string name = process_name();
    int ch = next();
    if (ch == kEof) return missing_brace();
    std::string chs(1, static_cast<char>(ch));
    if (ch == '}') {
      auto v = get_env(name);
      if (!v && opt_.skip_unset) return "${" + name + "}";
      return v.value_or("");
    }
    if (ch == '/') return process_replace(name);
    bool null_is_unset = false;
    if (ch == ':') {
      null_is_unset = true;
      ch = next();
      if (ch == kEof) return missing_brace();
      chs += static_cast<char>(ch);
    }
    bool trim = ch == '#' || ch == '%';
    bool known = trim || ch == '+' || ch == '-' || ch == '?';
    if (!known && !null_is_unset) return Fail(ErrorCode::InvalidArgument, "unsupported modifier ({}) in substitution", chs);
    if (null_is_unset && trim) return Fail(ErrorCode::InvalidArgument, "unsupported modifier ({}) in substitution", chs);
    auto word_r = process_stop_on('}', trim);
    if (!word_r) {
      if (peek() == kEof) return missing_brace();
      return Err(std::move(word_r.error()));
    }
    std::string word = std::move(word_r->word);
    auto value = get_env(name);
    if (!value && opt_.skip_unset) return "${" + name + chs + word + "}";
    bool empty = !value || (null_is_unset && value->empty());
    switch (ch) {
      case '-':
        return empty ? word : *value;
      case '+':
        return empty ? std::string() : word;
      case '?':
        if (!value) return Fail(ErrorCode::InvalidArgument, "{}: {}", name, word.empty() ? "is not allowed to be unset" : word);
        if (empty) return Fail(ErrorCode::InvalidArgument, "{}: {}", name, word.empty() ? "is not allowed to be empty" : word);
        return *value;
      case '#':
      case '%': {
        bool greedy = !word.empty() && word[0] == ch;
        if (greedy) word.erase(0, 1);
        auto tokens = TRY(compile_pattern(word));
        std::string v = value.value_or("");
        if (ch == '#') {
          size_t l = match_prefix(tokens, v, greedy);
          return l == std::string::npos ? v : v.substr(l);
        }
        std::reverse(tokens.begin(), tokens.end());
        std::string rv(v.rbegin(), v.rend());
        size_t l = match_prefix(tokens, rv, greedy);
        return l == std::string::npos ? v : v.substr(0, v.size() - l);
      }
      default:
        return Fail(ErrorCode::InvalidArgument, "unsupported modifier ({}) in substitution", chs);
    }
  }

  // ${VAR/pattern/replacement} and ${VAR//pattern/replacement}; wildcards match greedily.
  Result<std::string> process_replace(const std::string& name) {
    bool all = peek() == '/';
    if (all) next();
    auto pattern = process_stop_on('/', true);
    if (!pattern) {
      if (peek() == kEof) return Fail(ErrorCode::InvalidArgument, "syntax error: missing '/' in ${{}}");
      return Err(std::move(pattern.error()));
    }
    auto repl = process_stop_on('}', true);
    if (!repl) {
      if (peek() == kEof) return missing_brace();
      return Err(std::move(repl.error()));
    }
    auto value = get_env(name);
    if (!value && opt_.skip_unset) return "${" + name + "/" + pattern->word + "/" + repl->word + "}";
    auto tokens = TRY(compile_pattern(pattern->word));
    std::string v = value.value_or(""), out;
    size_t i = 0;
    bool replaced = false;
    while (i <= v.size()) {
      size_t l = (all || !replaced) ? match_prefix(tokens, std::string_view(v).substr(i), true) : std::string::npos;
      if (l != std::string::npos) {
        out += repl->word;
        replaced = true;
        if (l > 0) {
          i += l;
          continue;
        }
      }
      if (i < v.size()) out += v[i];
      ++i;
    }
    return out;
  }

  std::string_view text_;
  const EnvLookup& lookup_;
  int escape_;
  ShellLexOptions opt_;
  bool raw_escapes_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Result<ShellExpansion> shell_expand(std::string_view text, const EnvLookup& lookup, char escape,
                                    const ShellLexOptions& options) {
  Lexer lexer(text, lookup, escape, options);
  auto r = lexer.run();
  if (!r) {
    r.error().context(fmt::format("failed to process {}", quote(text)));
    return r;
  }
  return r;
}

Result<std::string> expand_word(std::string_view text, const EnvLookup& lookup, char escape) {
  auto r = TRY(shell_expand(text, lookup, escape, {}));
  return std::move(r.word);
}

Result<std::vector<std::string>> expand_words(std::string_view text, const EnvLookup& lookup, char escape) {
  auto r = TRY(shell_expand(text, lookup, escape, {}));
  return std::move(r.words);
}

std::vector<std::string> split_quoted_words(std::string_view rest, char escape) {
  enum { InSpaces, InWord, InQuote } phase = InSpaces;
  std::vector<std::string> words;
  std::string word;
  char quote_char = 0;
  bool blank_ok = false;
  for (size_t pos = 0; pos <= rest.size(); ++pos) {
    char ch = pos < rest.size() ? rest[pos] : 0;
    if (phase == InSpaces) {
      if (pos == rest.size()) break;
      if (is_space(static_cast<unsigned char>(ch))) continue;
      phase = InWord;
    }
    if (pos == rest.size()) {
      if (blank_ok || !word.empty()) words.push_back(word);
      break;
    }
    if (phase == InWord) {
      if (is_space(static_cast<unsigned char>(ch))) {
        phase = InSpaces;
        if (blank_ok || !word.empty()) words.push_back(word);
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote_char = ch;
        blank_ok = true;
        phase = InQuote;
      }
      if (ch == escape) {
        if (pos + 1 == rest.size()) continue;
        word += ch;
        ch = rest[++pos];
      }
      word += ch;
      continue;
    }
    // InQuote
    if (ch == quote_char) phase = InWord;
    if (ch == escape && quote_char != '\'') {
      if (pos + 1 == rest.size()) {
        phase = InWord;
        continue;
      }
      word += ch;
      ch = rest[++pos];
    }
    word += ch;
  }
  return words;
}

bool shell_pattern_matches(std::string_view pattern, std::string_view text) {
  auto tokens = compile_pattern(pattern);
  if (!tokens) return false;
  return prefix_matches(*tokens, text)[text.size()];
}

}  // namespace berth::build
