#include "base/error.h"

#include <gtest/gtest.h>

#include "base/strings.h"

namespace berth {
namespace {

Result<int> parse_twice(std::string_view s) {
  int64_t v = TRY_CTX("first", parse_int(s, "value"));
  return static_cast<int>(v * 2);
}

TEST(ErrorTest, ContextIsPrependedAndErrnoAppended) {
  Error e = SysError(ENOENT, "open /x");
  e.context("load bundle");
  EXPECT_EQ(e.code(), ErrorCode::NotFound);
  EXPECT_EQ(e.what(), "load bundle: open /x: No such file or directory");
}

TEST(ErrorTest, TryPropagatesWithContext) {
  auto ok = parse_twice("21");
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 42);
  auto bad = parse_twice("x");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(bad.error().what(), "first: value: invalid number \"x\"");
}

TEST(ErrorTest, ErrnoCategories) {
  EXPECT_EQ(code_for_errno(EEXIST), ErrorCode::AlreadyExists);
  EXPECT_EQ(code_for_errno(EACCES), ErrorCode::PermissionDenied);
  EXPECT_EQ(code_for_errno(EBUSY), ErrorCode::Conflict);
  EXPECT_EQ(code_for_errno(EIO), ErrorCode::Internal);
}

TEST(StringsTest, SplitJoinTrim) {
  EXPECT_EQ(split("a:b::c", ':'), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(join({"a", "b"}, ", "), "a, b");
  EXPECT_EQ(trim("  x y\n"), "x y");
  EXPECT_FALSE(parse_uint("-1", "n"));
  EXPECT_EQ(*parse_uint("0x10", "n"), 16u);
}

}  // namespace
}  // namespace berth
