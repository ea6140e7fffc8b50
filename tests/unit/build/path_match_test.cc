#include "build/path_match.h"

#include <gtest/gtest.h>

#include <string>

namespace berth::build {
namespace {

enum class Want { Yes, No, Bad };

struct MatchCase {
  std::string pattern;
  std::string name;
  Want want;
};

// Go's path/filepath match_test.go cases, plus a few of our own.
TEST(PathMatchTest, GoFilepathMatchTable) {
  const MatchCase cases[] = {
      {"abc", "abc", Want::Yes},
      {"*", "abc", Want::Yes},
      {"*c", "abc", Want::Yes},
      {"a*", "a", Want::Yes},
      {"a*", "abc", Want::Yes},
      {"a*", "ab/c", Want::No},
      {"a*/b", "abc/b", Want::Yes},
      {"a*/b", "a/c/b", Want::No},
      {"a*b*c*d*e*/f", "axbxcxdxe/f", Want::Yes},
      {"a*b*c*d*e*/f", "axbxcxdxexxx/f", Want::Yes},
      {"a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Want::No},
      {"a*b*c*d*e*/f", "axbxcxdxexxx/fff", Want::No},
      {"a*b?c*x", "abxbbxdbxebxczzx", Want::Yes},
      {"a*b?c*x", "abxbbxdbxebxczzy", Want::No},
      {"ab[c]", "abc", Want::Yes},
      {"ab[b-d]", "abc", Want::Yes},
      {"ab[e-g]", "abc", Want::No},
      {"ab[^c]", "abc", Want::No},
      {"ab[^b-d]", "abc", Want::No},
      {"ab[^e-g]", "abc", Want::Yes},
      {"a\\*b", "a*b", Want::Yes},
      {"a\\*b", "ab", Want::No},
      {"a?b", "a\u263Ab", Want::Yes},
      {"a[^a]b", "a\u263Ab", Want::Yes},
      {"a???b", "a\u263Ab", Want::No},
      {"a[^a][^a][^a]b", "a\u263Ab", Want::No},
      {"[a-\u03B6]*", "\u03B1", Want::Yes},
      {"*[a-\u03B6]", "A", Want::No},
      {"a?b", "a/b", Want::No},
      {"a*b", "a/b", Want::No},
      {"[\\]a]", "]", Want::Yes},
      {"[\\-]", "-", Want::Yes},
      {"[x\\-]", "x", Want::Yes},
      {"[x\\-]", "-", Want::Yes},
      {"[x\\-]", "z", Want::No},
      {"[\\-x]", "x", Want::Yes},
      {"[\\-x]", "-", Want::Yes},
      {"[\\-x]", "a", Want::No},
      {"[]a]", "]", Want::Bad},
      {"[-]", "-", Want::Bad},
      {"[x-]", "x", Want::Bad},
      {"[x-]", "-", Want::Bad},
      {"[x-]", "z", Want::Bad},
      {"[-x]", "x", Want::Bad},
      {"[-x]", "-", Want::Bad},
      {"[-x]", "a", Want::Bad},
      {"\\", "a", Want::Bad},
      {"[a-b-c]", "a", Want::Bad},
      {"[", "a", Want::Bad},
      {"[^", "a", Want::Bad},
      {"[^bc", "a", Want::Bad},
      {"a[", "a", Want::Bad},
      {"a[", "ab", Want::Bad},
      {"a[", "x", Want::Bad},
      {"a/b[", "x", Want::Bad},
      {"*x", "xxx", Want::Yes},
      // A class is not stopped by '/', and `**` is just two stars here.
      {"a[^x]b", "a/b", Want::Yes},
      {"**/*.go", "a/b.go", Want::Yes},
      {"**/*.go", "a/b/c.go", Want::No},
      {"*.go", "main.go", Want::Yes},
      {"*.go", "src/main.go", Want::No},
  };
  for (const auto& c : cases) {
    auto r = path_match(c.pattern, c.name);
    if (c.want == Want::Bad) {
      ASSERT_FALSE(r.has_value()) << c.pattern << " vs " << c.name;
      EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
      EXPECT_NE(r.error().message().find(c.pattern), std::string::npos) << r.error().message();
    } else {
      ASSERT_TRUE(r.has_value()) << c.pattern << ": " << r.error().what();
      EXPECT_EQ(*r, c.want == Want::Yes) << c.pattern << " vs " << c.name;
    }
  }
}

TEST(PathMatchTest, HasWildcards) {
  EXPECT_TRUE(has_wildcards("*.txt"));
  EXPECT_TRUE(has_wildcards("a?"));
  EXPECT_TRUE(has_wildcards("[ab]"));
  EXPECT_FALSE(has_wildcards("plain.txt"));
  EXPECT_FALSE(has_wildcards("a\\*b"));
}

TEST(PathMatchTest, GoClean) {
  EXPECT_EQ(go_clean(""), ".");
  EXPECT_EQ(go_clean("a//b/./c/.."), "a/b");
  EXPECT_EQ(go_clean("/../x"), "/x");
  EXPECT_EQ(go_clean("../x"), "../x");
  EXPECT_EQ(go_clean("a/../.."), "..");
  EXPECT_EQ(go_clean("./foo/"), "foo");
  EXPECT_EQ(go_clean("/"), "/");
}

// moby/patternmatcher's TestMatches table (single pattern, the path itself, no parents).
TEST(PathMatchTest, IgnorePatternTable) {
  const MatchCase cases[] = {
      {"**", "file", Want::Yes},
      {"**", "dir/file", Want::Yes},
      {"**/**", "dir/file", Want::Yes},
      {"dir/**", "dir/file", Want::Yes},
      {"dir/**", "dir/dir2/file", Want::Yes},
      {"**/dir", "dir", Want::Yes},
      {"**/dir2/*", "dir/dir2/file", Want::Yes},
      {"**/dir2/**", "dir/dir2/dir3/file", Want::Yes},
      {"**file", "file", Want::Yes},
      {"**file", "dir/file", Want::Yes},
      {"**/file", "dir/file", Want::Yes},
      {"**file", "dir/dir/file", Want::Yes},
      {"**/file", "dir/dir/file", Want::Yes},
      {"**/file*", "dir/dir/file", Want::Yes},
      {"**/file*", "dir/dir/file.txt", Want::Yes},
      {"**/file*txt", "dir/dir/file.txt", Want::Yes},
      {"**/file*.txt", "dir/dir/file.txt", Want::Yes},
      {"**/file*.txt*", "dir/dir/file.txt", Want::Yes},
      {"**/**/*.txt", "dir/dir/file.txt", Want::Yes},
      {"**/**/*.txt2", "dir/dir/file.txt", Want::No},
      {"**/*.txt", "file.txt", Want::Yes},
      {"**/**/*.txt", "file.txt", Want::Yes},
      {"a**/*.txt", "a/file.txt", Want::Yes},
      {"a**/*.txt", "a/dir/file.txt", Want::Yes},
      {"a**/*.txt", "a/dir/dir/file.txt", Want::Yes},
      {"a/*.txt", "a/dir/file.txt", Want::No},
      {"a/*.txt", "a/file.txt", Want::Yes},
      {"a/*.txt**", "a/file.txt", Want::Yes},
      {"a[b-d]e", "ae", Want::No},
      {"a[b-d]e", "ace", Want::Yes},
      {"a[b-d]e", "aae", Want::No},
      {"a[^b-d]e", "aze", Want::Yes},
      {".*", ".foo", Want::Yes},
      {".*", "foo", Want::No},
      {"abc.def", "abcdef", Want::No},
      {"abc.def", "abc.def", Want::Yes},
      {"abc.def", "abcZdef", Want::No},
      {"abc?def", "abcZdef", Want::Yes},
      {"abc?def", "abcdef", Want::No},
      {"a\\\\", "a\\", Want::Yes},
      {"**/foo/bar", "foo/bar", Want::Yes},
      {"**/foo/bar", "dir/foo/bar", Want::Yes},
      {"**/foo/bar", "dir/dir2/foo/bar", Want::Yes},
      {"abc/**", "abc", Want::No},
      {"abc/**", "abc/def", Want::Yes},
      {"abc/**", "abc/def/ghi", Want::Yes},
      {"**/.foo", ".foo", Want::Yes},
      {"**/.foo", "bar.foo", Want::No},
      {"a(b)c/def", "a(b)c/def", Want::Yes},
      {"a(b)c/def", "a(b)c/xyz", Want::No},
      {"a.|)$(}+{bc", "a.|)$(}+{bc", Want::Yes},
      {"dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", Want::Yes},
      {"a\\*b", "a*b", Want::Yes},
      {"a\\*b", "axb", Want::No},
      {"*.go", "main.go", Want::Yes},
      {"*.go", "src/main.go", Want::No},
  };
  for (const auto& c : cases) {
    auto p = IgnorePattern::compile(c.pattern);
    ASSERT_TRUE(p.has_value()) << c.pattern << ": " << p.error().what();
    EXPECT_EQ(p->matches(c.name), c.want == Want::Yes) << c.pattern << " vs " << c.name;
  }
}

TEST(PathMatchTest, IgnorePatternRejectsMalformed) {
  for (const char* bad : {"[", "a[", "[]a]", "\\", "[a-b-c]"}) {
    auto p = IgnorePattern::compile(bad);
    ASSERT_FALSE(p.has_value()) << bad;
    EXPECT_EQ(p.error().code(), ErrorCode::InvalidArgument);
  }
}

TEST(PathMatchTest, LongInputsStayPolynomial) {
  std::string name(3000, 'a');
  auto r = path_match("*a*a*a*a*a*a*a*a*a*b", name);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(*r);
  auto p = IgnorePattern::compile("**/a**/a**/a**/a**/a*b");
  ASSERT_TRUE(p.has_value());
  std::string path;
  for (int i = 0; i < 300; ++i) path += "aaaa/";
  EXPECT_FALSE(p->matches(path + "c"));
}

}  // namespace
}  // namespace berth::build
