// The parsers behind registry authentication: WWW-Authenticate challenges, token responses,
// error bodies, and base64.
#include "image/registry_auth.h"

#include <gtest/gtest.h>

namespace berth::image {
namespace {

TEST(ChallengeParser, DockerHubHeader) {
  auto c = parse_www_authenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull")");
  ASSERT_TRUE(c.has_value()) << c.error().what();
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0].scheme, "bearer");
  EXPECT_EQ((*c)[0].param("realm"), "https://auth.docker.io/token");
  EXPECT_EQ((*c)[0].param("service"), "registry.docker.io");
  EXPECT_EQ((*c)[0].param("scope"), "repository:library/ubuntu:pull");
  EXPECT_EQ((*c)[0].param("missing"), "");
}

TEST(ChallengeParser, QuotedCommasAndEscapes) {
  auto c = parse_www_authenticate(
      R"(Bearer realm="https://a.example/t?x=1,2", scope="repository:a:pull,push" , error="say \"hi\" \\ ok")");
  ASSERT_TRUE(c.has_value()) << c.error().what();
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0].param("realm"), "https://a.example/t?x=1,2");
  EXPECT_EQ((*c)[0].param("scope"), "repository:a:pull,push");
  EXPECT_EQ((*c)[0].param("error"), R"(say "hi" \ ok)");
}

TEST(ChallengeParser, CaseInsensitiveNamesAndTokenValues) {
  auto c = parse_www_authenticate("BASIC Realm=registry");
  ASSERT_TRUE(c.has_value()) << c.error().what();
  EXPECT_EQ((*c)[0].scheme, "basic");
  EXPECT_EQ((*c)[0].param("realm"), "registry");
}

TEST(ChallengeParser, MultipleChallenges) {
  auto c = parse_www_authenticate(
      R"(Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple", Bearer realm="https://t/x",service=s)");
  ASSERT_TRUE(c.has_value()) << c.error().what();
  ASSERT_EQ(c->size(), 3u);
  EXPECT_EQ((*c)[0].scheme, "newauth");
  EXPECT_EQ((*c)[0].param("type"), "1");
  EXPECT_EQ((*c)[0].param("title"), R"(Login to "apps")");
  EXPECT_EQ((*c)[1].scheme, "basic");
  EXPECT_EQ((*c)[1].param("realm"), "simple");
  EXPECT_EQ((*c)[2].scheme, "bearer");
  EXPECT_EQ((*c)[2].param("service"), "s");
}

TEST(ChallengeParser, Token68AndBareScheme) {
  auto c = parse_www_authenticate("Negotiate abc123==, Bearer");
  ASSERT_TRUE(c.has_value()) << c.error().what();
  ASSERT_EQ(c->size(), 2u);
  EXPECT_EQ((*c)[0].token68, "abc123==");
  EXPECT_EQ((*c)[1].scheme, "bearer");
  EXPECT_TRUE((*c)[1].params.empty());
}

TEST(ChallengeParser, RejectsGarbage) {
  for (const char* bad : {"", "   ,  ", "=realm", R"(Bearer realm="unterminated)", "Bearer a=b, c=",
                          "Bearer realm=\"a\" junk", "Bearer realm=a b=c d", "\"quoted\"",
                          "Bearer ,realm=@"}) {
    auto c = parse_www_authenticate(bad);
    EXPECT_FALSE(c.has_value()) << bad;
    if (!c) {
      EXPECT_EQ(c.error().code(), ErrorCode::InvalidArgument);
    }
  }
}

TEST(TokenResponse, TokenOrAccessToken) {
  auto t = parse_token_response(R"({"token":"abc","expires_in":300,"issued_at":"2024-01-01T00:00:00Z"})");
  ASSERT_TRUE(t.has_value()) << t.error().what();
  EXPECT_EQ(t->token, "abc");
  EXPECT_EQ(t->expires_in, 300);
  auto a = parse_token_response(R"({"access_token":"xyz","refresh_token":"r"})");
  ASSERT_TRUE(a.has_value()) << a.error().what();
  EXPECT_EQ(a->token, "xyz");
  EXPECT_EQ(a->expires_in, 60);
  EXPECT_EQ(a->refresh_token, "r");
}

TEST(TokenResponse, Errors) {
  EXPECT_FALSE(parse_token_response("{}").has_value());
  EXPECT_FALSE(parse_token_response("not json").has_value());
  EXPECT_FALSE(parse_token_response("[]").has_value());
  auto t = parse_token_response(R"({"token":5})");
  ASSERT_FALSE(t.has_value());
  EXPECT_NE(t.error().what().find("token"), std::string::npos) << t.error().what();
}

TEST(RegistryErrors, MessagesAndCategories) {
  Error e = registry_error(404, R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"1"}}]})");
  EXPECT_EQ(e.code(), ErrorCode::NotFound);
  EXPECT_EQ(e.what(), "manifest unknown");
  e = registry_error(401, R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]})");
  EXPECT_EQ(e.code(), ErrorCode::PermissionDenied);
  EXPECT_EQ(e.what(), "unauthorized: authentication required");
  e = registry_error(400, R"({"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]})");
  EXPECT_EQ(e.code(), ErrorCode::NotFound);
  e = registry_error(403, "<html>denied</html>");
  EXPECT_EQ(e.code(), ErrorCode::PermissionDenied);
  e = registry_error(503, "");
  EXPECT_EQ(e.code(), ErrorCode::Unavailable);
  EXPECT_EQ(e.what(), "unexpected HTTP status 503");
  e = registry_error(429, R"({"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]})");
  EXPECT_EQ(e.code(), ErrorCode::Unavailable);
  EXPECT_EQ(e.what(), "toomanyrequests: slow down");
  EXPECT_TRUE(parse_registry_errors(R"({"errors":"x"})").empty());
  EXPECT_TRUE(parse_registry_errors("").empty());
  EXPECT_EQ(parse_registry_errors(R"({"errors":[1,{"code":"DENIED"}]})").size(), 1u);
}

TEST(Base64, RoundTripAndRejects) {
  EXPECT_EQ(base64_encode("user:pass"), "dXNlcjpwYXNz");
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("a"), "YQ==");
  EXPECT_EQ(base64_decode("YQ==").value_or("?"), "a");
  EXPECT_EQ(base64_decode("dXNlcjpwYXNz").value_or("?"), "user:pass");
  EXPECT_EQ(base64_decode("YWI=").value_or("?"), "ab");
  EXPECT_FALSE(base64_decode("YQ=").has_value());
  EXPECT_FALSE(base64_decode("Y=Q=").has_value());
  EXPECT_FALSE(base64_decode("****").has_value());
}

}  // namespace
}  // namespace berth::image
