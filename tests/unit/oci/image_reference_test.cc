#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "oci/image_reference.h"

namespace berth::oci {
namespace {

using ::testing::HasSubstr;

const std::string kHex(64, 'a');
const std::string kDigest = "sha256:" + std::string("0123456789abcdef") + std::string(48, 'e');

struct ValidCase {
  std::string input;
  std::string canonical;
  std::string familiar;
};

std::vector<ValidCase> valid_cases() {
  return {
      {"redis", "docker.io/library/redis:latest", "redis:latest"},
      {"redis:7.2", "docker.io/library/redis:7.2", "redis:7.2"},
      {"user/app", "docker.io/user/app:latest", "user/app:latest"},
      {"docker.io/library/redis", "docker.io/library/redis:latest", "redis:latest"},
      {"docker.io/redis", "docker.io/library/redis:latest", "redis:latest"},
      {"index.docker.io/user/app:v1", "docker.io/user/app:v1", "user/app:v1"},
      {"index.docker.io/redis", "docker.io/library/redis:latest", "redis:latest"},
      {"docker.io/library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest"},
      {"localhost/app", "localhost/app:latest", "localhost/app:latest"},
      {"localhost:5000/app:1", "localhost:5000/app:1", "localhost:5000/app:1"},
      // No '/': the first component cannot be a domain, so "5000" is a tag, as in Docker.
      {"localhost:5000", "docker.io/library/localhost:5000", "localhost:5000"},
      {"ghcr.io/org/team/app:1.0.0-rc.1", "ghcr.io/org/team/app:1.0.0-rc.1",
       "ghcr.io/org/team/app:1.0.0-rc.1"},
      {"127.0.0.1:5000/x/y", "127.0.0.1:5000/x/y:latest", "127.0.0.1:5000/x/y:latest"},
      {"[::1]:5000/app", "[::1]:5000/app:latest", "[::1]:5000/app:latest"},
      {"Registry.Example.COM/app", "Registry.Example.COM/app:latest",
       "Registry.Example.COM/app:latest"},
      // An uppercase first component is taken as a domain (newer distribution/reference).
      {"Foo/bar", "Foo/bar:latest", "Foo/bar:latest"},
      {"app/sub/deep:TAG_1", "docker.io/app/sub/deep:TAG_1", "app/sub/deep:TAG_1"},
      {"user/a_b.c__d-e---f9", "docker.io/user/a_b.c__d-e---f9:latest",
       "user/a_b.c__d-e---f9:latest"},
      {"redis@" + kDigest, "docker.io/library/redis@" + kDigest, "redis@" + kDigest},
      {"redis:7@" + kDigest, "docker.io/library/redis:7@" + kDigest, "redis:7@" + kDigest},
      {"127.0.0.1:5000/x@" + kDigest, "127.0.0.1:5000/x@" + kDigest,
       "127.0.0.1:5000/x@" + kDigest},
      {"redis:_" + std::string(127, 'x'), "docker.io/library/redis:_" + std::string(127, 'x'),
       "redis:_" + std::string(127, 'x')},
      // docker.io/a/ plus 243 characters is exactly the 255-character limit.
      {"a/" + std::string(243, 'b'), "docker.io/a/" + std::string(243, 'b') + ":latest",
       "a/" + std::string(243, 'b') + ":latest"},
  };
}

TEST(ImageReference, ParsesAndNormalisesLikeDocker) {
  for (const auto& c : valid_cases()) {
    SCOPED_TRACE(c.input);
    auto r = parse_image_reference(c.input);
    ASSERT_TRUE(r.has_value()) << r.error().what();
    EXPECT_EQ(r->to_string(), c.canonical);
    EXPECT_EQ(r->familiar(), c.familiar);

    auto again = parse_image_reference(r->to_string());
    ASSERT_TRUE(again.has_value()) << again.error().what();
    EXPECT_EQ(*again, *r);
    auto from_familiar = parse_image_reference(r->familiar());
    ASSERT_TRUE(from_familiar.has_value()) << from_familiar.error().what();
    EXPECT_EQ(*from_familiar, *r);
  }
}

TEST(ImageReference, SplitsFields) {
  auto r = parse_image_reference("localhost:5000/team/app:1@" + kDigest);
  ASSERT_TRUE(r.has_value()) << r.error().what();
  EXPECT_EQ(r->domain, "localhost:5000");
  EXPECT_EQ(r->path, "team/app");
  EXPECT_EQ(r->tag, "1");
  EXPECT_EQ(r->digest, kDigest);
  EXPECT_EQ(r->name(), "localhost:5000/team/app");
}

TEST(ImageReference, DigestOnlyHasNoDefaultTag) {
  auto r = parse_image_reference("user/app@" + kDigest);
  ASSERT_TRUE(r.has_value()) << r.error().what();
  EXPECT_EQ(r->tag, "");
  EXPECT_EQ(r->digest, kDigest);
}

struct InvalidCase {
  std::string input;
  std::string message;  // a fragment of the error message
};

std::vector<InvalidCase> invalid_cases() {
  return {
      {"", "empty reference"},
      {" ", "invalid repository path component"},
      {"red is", "invalid repository path component \"red is\""},
      {"redis ", "invalid repository path component"},
      {"redis\n", "invalid repository path component \"redis\\x0a\""},
      {"redis:", "invalid tag \"\""},
      {"a:b:c", "invalid reference \"a:b:c\": invalid tag"},
      {"redis:-tag", "invalid tag"},
      {"redis:.tag", "invalid tag"},
      {"redis:" + std::string(129, 'x'), "invalid tag"},
      {"redis@", "invalid digest"},
      {"redis:7@", "invalid digest"},
      {"redis@sha256:abc", "invalid digest"},
      {"redis@sha256:" + std::string(63, 'a'), "want 64 lowercase hex digits"},
      {"redis@sha256:" + std::string(65, 'a'), "want 64 lowercase hex digits"},
      {"redis@sha256:" + std::string(64, 'A'), "want 64 lowercase hex digits"},
      {"redis@sha256:" + std::string(64, 'g'), "want 64 lowercase hex digits"},
      {"redis@sha512:" + std::string(128, 'a'), "unsupported digest algorithm \"sha512\""},
      {"redis@" + kHex, "invalid digest"},
      {"redis@" + kDigest + "@" + kDigest, "invalid digest"},
      {"Redis", "invalid reference \"Redis\": repository name must be lowercase"},
      {"user/Redis:tag", "repository name must be lowercase"},
      {"ghcr.io/Org/app", "repository name must be lowercase"},
      {"localhost:5000/", "missing repository path"},
      {":tag", "missing repository path"},
      {"@" + kDigest, "missing repository path"},
      {"localhost:port/app", "invalid domain \"localhost:port\""},
      {"localhost:/app", "invalid domain"},
      {"-bad.com/app", "invalid domain"},
      {"bad-.com/app", "invalid domain"},
      {"a..com/app", "invalid domain"},
      {"my_registry.com/app", "invalid domain"},
      {"[::1/app", "invalid domain"},
      {"[]:5000/app", "invalid domain"},
      {"[::g]/app", "invalid domain"},
      {"/redis", "invalid repository path component \"\""},
      {"a//b", "invalid repository path component \"\""},
      {"a/", "invalid repository path component \"\""},
      {"a..b", "invalid repository path component"},
      {"a___b", "invalid repository path component"},
      {"a-_b", "invalid repository path component"},
      {"a-", "invalid repository path component"},
      {"_a", "invalid repository path component"},
      {"a/b$c", "invalid repository path component \"b$c\""},
      {kHex, "64-character hex image id"},
      {"a/" + std::string(244, 'b'), "must not be more than 255 characters"},
      {"registry.example.com/" + std::string(240, 'b'), "must not be more than 255 characters"},
  };
}

TEST(ImageReference, RejectsInvalidWithReason) {
  for (const auto& c : invalid_cases()) {
    SCOPED_TRACE(c.input);
    auto r = parse_image_reference(c.input);
    ASSERT_FALSE(r.has_value()) << "parsed as " << r->to_string();
    EXPECT_EQ(r.error().code(), ErrorCode::InvalidArgument);
    EXPECT_THAT(r.error().message(), HasSubstr(c.message));
  }
}

}  // namespace
}  // namespace berth::oci
