// Docker's shell lexer: substitutions, quotes, escapes, word splitting (cases from BuildKit's
// shell/envVarTest and wordsTest).
#include "build/shell_words.h"

#include <gtest/gtest.h>

#include <map>

namespace berth::build {
namespace {

EnvLookup env() {
  static const std::map<std::string, std::string, std::less<>> vars = {
      {"PWD", "/home"}, {"SHELL", "bash"}, {"EMPTY", ""}, {"KOREAN", "한국어"}, {"FILE", "/a/b/c.tar.gz"}};
  return [](std::string_view n) -> std::optional<std::string> {
    auto it = vars.find(n);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

struct WordCase {
  const char* in;
  const char* out;
};

TEST(ShellWords, ExpandWord) {
  const WordCase cases[] = {
      {"hello", "hello"},
      {"he'll'o", "hello"},
      {"he\"ll\"o", "hello"},
      {"$PWD", "/home"},
      {"${PWD}", "/home"},
      {"'$PWD'", "$PWD"},
      {"\"$PWD\"", "/home"},
      {"\\$PWD", "$PWD"},
      {"\"\\$PWD\"", "$PWD"},
      {"\"a\\b\"", "a\\b"},
      {"${UNSET:-def}", "def"},
      {"${EMPTY:-def}", "def"},
      {"${EMPTY-def}", ""},
      {"${PWD:-def}", "/home"},
      {"${PWD:+alt}", "alt"},
      {"${EMPTY:+alt}", ""},
      {"${EMPTY+alt}", "alt"},
      {"${UNSET+alt}", ""},
      {"${UNSET:-${PWD}x}", "/homex"},
      {"$", "$"},
      {"a $ b", "a $ b"},
      {"$UNSET", ""},
      {"${KOREAN}", "한국어"},
      {"${FILE#*/}", "a/b/c.tar.gz"},
      {"${FILE##*/}", "c.tar.gz"},
      {"${FILE%.*}", "/a/b/c.tar"},
      {"${FILE%%.*}", "/a/b/c"},
      {"${FILE/a/x}", "/x/b/c.tar.gz"},
      {"${FILE//\\//_}", "_a_b_c.tar.gz"},
      {"  keep  spaces ", "  keep  spaces "},
      {"trailing\\", "trailing"},
  };
  for (const auto& c : cases) {
    auto r = expand_word(c.in, env());
    ASSERT_TRUE(r) << c.in << ": " << r.error().what();
    EXPECT_EQ(*r, c.out) << c.in;
  }
}

TEST(ShellWords, BacktickEscape) {
  auto r = expand_word("`$PWD and \\ stays", env(), '`');
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "$PWD and \\ stays");
}

TEST(ShellWords, Errors) {
  const WordCase cases[] = {
      {"${PWD", "missing '}'"},
      {"${PWD:-x", "missing '}'"},
      {"${}", "bad substitution"},
      {"${UNSET:?must be set}", "UNSET: must be set"},
      {"${EMPTY:?}", "EMPTY: is not allowed to be empty"},
      {"${UNSET?}", "UNSET: is not allowed to be unset"},
      {"'open", "matching single-quote"},
      {"\"open", "matching double-quote"},
      {"${PWD:#x}", "unsupported modifier"},
  };
  for (const auto& c : cases) {
    auto r = expand_word(c.in, env());
    ASSERT_FALSE(r) << c.in;
    EXPECT_NE(r.error().message().find(c.out), std::string::npos) << c.in << " -> " << r.error().message();
    EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
  }
}

TEST(ShellWords, ExpandWords) {
  struct Case {
    const char* in;
    std::vector<std::string> out;
  } cases[] = {
      {"a b  c", {"a", "b", "c"}},
      {"'a b' c", {"a b", "c"}},
      {"\"$SHELL x\" y", {"bash x", "y"}},
      {"a\\ b", {"a b"}},
      {"$PWD/x ${SHELL}", {"/home/x", "bash"}},
      {"", {}},
  };
  for (const auto& c : cases) {
    auto r = expand_words(c.in, env());
    ASSERT_TRUE(r) << c.in;
    EXPECT_EQ(*r, c.out) << c.in;
  }
}

TEST(ShellWords, SplitQuotedWordsKeepsQuotes) {
  EXPECT_EQ(split_quoted_words("a=1 b=\"x y\" c='p q'"),
            (std::vector<std::string>{"a=1", "b=\"x y\"", "c='p q'"}));
  EXPECT_EQ(split_quoted_words("a\\ b c"), (std::vector<std::string>{"a\\ b", "c"}));
  EXPECT_EQ(split_quoted_words("x=\"\""), (std::vector<std::string>{"x=\"\""}));
}

TEST(ShellWords, RawAndSkipUnsetOptions) {
  ShellLexOptions opt;
  opt.raw_quotes = opt.raw_escapes = opt.skip_unset = true;
  auto r = shell_expand("cat <<\"EOF\" $X ${Y:-z}", {}, '\\', opt);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->words, (std::vector<std::string>{"cat", "<<\"EOF\"", "$X", "${Y:-z}"}));
}

TEST(ShellWords, PatternMatch) {
  EXPECT_TRUE(shell_pattern_matches("*.go", "main.go"));
  EXPECT_TRUE(shell_pattern_matches("a?c", "abc"));
  EXPECT_FALSE(shell_pattern_matches("a?c", "ac"));
  EXPECT_TRUE(shell_pattern_matches("a\\*", "a*"));
  EXPECT_FALSE(shell_pattern_matches("a\\*", "ab"));
}

}  // namespace
}  // namespace berth::build
