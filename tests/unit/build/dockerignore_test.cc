#include "build/dockerignore.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace berth::build {
namespace {

IgnoreRules parse(const std::string& text) {
  auto r = parse_dockerignore(text);
  EXPECT_TRUE(r.has_value()) << r.error().what();
  return r ? std::move(*r) : IgnoreRules{};
}

std::vector<std::string> texts(const IgnoreRules& rules) {
  std::vector<std::string> out;
  for (const auto& r : rules.rules()) out.push_back((r.exception ? "!" : "") + r.pattern.text());
  return out;
}

TEST(DockerignoreTest, ParsesLinesLikeIgnorefileReadAll) {
  IgnoreRules rules = parse(
      "\xEF\xBB\xBF# comment\n"
      "\n"
      "   \t\n"
      "  *.log  \r\n"
      "/abs/path\n"
      "./dot/slash/\n"
      "a//b/../c\n"
      "! spaced\n"
      "!/rooted\n"
      "  # not a comment\n");
  EXPECT_EQ(texts(rules), (std::vector<std::string>{"*.log", "abs/path", "dot/slash", "a/c", "!spaced",
                                                      "!rooted", "# not a comment"}));
  EXPECT_EQ(rules.rules()[1].line, 5);
}

TEST(DockerignoreTest, LoneBangIsAnErrorNamingTheLine) {
  auto r = parse_dockerignore("*.o\n\n!\n");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(r.error().message().find("line 3"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("\"!\""), std::string::npos);
  // "!/" cleans to "!" once more in patternmatcher.New.
  EXPECT_FALSE(parse_dockerignore("!/\n").has_value());
}

TEST(DockerignoreTest, MalformedPatternNamesTheLine) {
  auto r = parse_dockerignore("ok\n[\n");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("line 2"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("\"[\""), std::string::npos) << r.error().message();
}

struct Case {
  std::string ignore;
  std::string path;
  bool excluded;
};

TEST(DockerignoreTest, ExcludedTable) {
  const Case cases[] = {
      {"*.go", "main.go", true},
      {"*.go", "src/main.go", false},
      {"*.go", "main.gox", false},
      {"**/*.go", "src/lib/main.go", true},
      {"**/*.go", "main.go", true},
      {"*.md\n!important.md", "important.md", false},
      {"*.md\n!important.md", "other.md", true},
      {"!important.md\n*.md", "important.md", true},  // last match wins
      {"docs\n!docs/keep", "docs", true},
      {"docs\n!docs/keep", "docs/keep", false},
      {"docs\n!docs/keep", "docs/keep/deep", false},
      {"docs\n!docs/keep", "docs/other", true},
      {"docs/\n!docs/README.md", "docs/README.md", false},
      {"docs/*\n!docs/README.md", "docs/README.md", false},
      {"docs", "docs/a/b/c", true},  // a pattern matching a parent matches the path
      {"/secret", "secret", true},
      {"/secret", "sub/secret", false},
      {"./build", "build/out", true},
      {"\\*", "*", true},
      {"\\*", "x", false},
      {"a\\[b", "a[b", true},
      {"**\n!util/docker/web", "util/docker/web/foo", false},
      {"**\n!util/docker/web\nutil/docker/web/foo", "util/docker/web/foo", true},
      {"node_modules\n", "node_modules/x/y", true},
      {"**/node_modules", "a/b/node_modules/c", true},
      {"", "anything", false},
      {"# only a comment", "x", false},
      {"*\n!Dockerfile", "Dockerfile", false},
      {"*\n!Dockerfile", "src", true},
  };
  for (const auto& c : cases) {
    IgnoreRules rules = parse(c.ignore);
    EXPECT_EQ(rules.excluded(c.path), c.excluded) << c.ignore << " / " << c.path;
  }
}

TEST(DockerignoreTest, WalkStateMatchesStatelessCheck) {
  IgnoreRules rules = parse("docs\n!docs/keep\n**/tmp\n!**/tmp/keep.txt\n");
  const std::vector<std::string> paths = {"docs", "docs/keep", "docs/keep/x", "docs/y",
                                          "a", "a/tmp", "a/tmp/keep.txt", "a/tmp/drop"};
  for (const std::string& p : paths) {
    IgnoreState state;
    bool walked = false;
    for (size_t slash = 0;;) {
      slash = p.find('/', slash);
      IgnoreState next;
      walked = rules.excluded(std::string_view(p).substr(0, slash), state, &next);
      state = std::move(next);
      if (slash == std::string::npos) break;
      ++slash;
    }
    EXPECT_EQ(walked, rules.excluded(p)) << p;
  }
  EXPECT_FALSE(rules.excluded("a/tmp/keep.txt"));
  EXPECT_TRUE(rules.excluded("a/tmp/drop"));
}

TEST(DockerignoreTest, ExcludedDirectoriesWalkedOnlyForExceptions) {
  IgnoreRules plain = parse("docs\nbuild\n");
  EXPECT_FALSE(plain.must_walk_excluded_dir("docs"));

  IgnoreRules prefix = parse("docs\nbuild\n!docs/keep/*\n");
  EXPECT_TRUE(prefix.must_walk_excluded_dir("docs"));
  EXPECT_TRUE(prefix.must_walk_excluded_dir("docs/keep"));
  EXPECT_FALSE(prefix.must_walk_excluded_dir("build"));
  EXPECT_FALSE(prefix.must_walk_excluded_dir("doc"));

  IgnoreRules wild = parse("docs\n!**/*.md\n");
  EXPECT_TRUE(wild.must_walk_excluded_dir("docs"));
  EXPECT_TRUE(wild.must_walk_excluded_dir("anything"));
}

}  // namespace
}  // namespace berth::build
