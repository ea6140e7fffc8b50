// Docker's shell lexer for Dockerfile variable substitution (BuildKit's shell/lex.go): $VAR,
// ${VAR}, ${VAR:-x} ${VAR-x} ${VAR:+x} ${VAR+x} ${VAR:?x} ${VAR?x}, ${VAR#p} ${VAR%p} (and ## %%),
// ${VAR/p/r}, single and double quotes, and the Dockerfile's escape character. Nothing is
// executed: no command substitution, no globbing.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace berth::build {

// Value of a variable, or nullopt when it is unset. An empty function means "nothing is set".
using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;

// Switches that the parser and the builder need beyond plain expansion (BuildKit's Lex fields).
struct ShellLexOptions {
  bool raw_quotes = false;     // keep the quote characters in the output
  bool raw_escapes = false;    // keep the escape characters in the output
  bool skip_unset = false;     // leave $VAR / ${VAR...} as written when VAR is unset
  bool skip_quotes = false;    // quotes are ordinary characters (heredoc bodies)
};

// One expansion: the text as one word, and the same text split into words on unquoted
// whitespace (quoted whitespace stays inside a word).
struct ShellExpansion {
  std::string word;
  std::vector<std::string> words;
};

// Expands `text` with every option spelled out. Errors: InvalidArgument naming the problem
// ("missing '}'", "VAR: message", "unexpected end of statement while looking for matching
// double-quote") and the text that was processed.
Result<ShellExpansion> shell_expand(std::string_view text, const EnvLookup& lookup, char escape,
                                    const ShellLexOptions& options);

// Expands variables and removes quotes/escapes; whitespace is kept (WORKDIR, USER, ENV values).
Result<std::string> expand_word(std::string_view text, const EnvLookup& lookup, char escape = '\\');

// Expands, then splits into words on unquoted whitespace (EXPOSE, heredoc words).
Result<std::vector<std::string>> expand_words(std::string_view text, const EnvLookup& lookup,
                                              char escape = '\\');

// Splits on unquoted whitespace without expanding, keeping quotes and escapes in the words
// (BuildKit's parseWords, used for ENV, LABEL and ARG before each word is expanded).
std::vector<std::string> split_quoted_words(std::string_view text, char escape = '\\');

// Whether `pattern` (shell wildcards * and ?, \ escapes) matches all of `text`.
bool shell_pattern_matches(std::string_view pattern, std::string_view text);

}  // namespace berth::build
