// Docker-compatible credential storage: config.json entries and credential helper programs.
#include "image/credentials.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "base/fs.h"

namespace berth::image {
namespace {

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-creds-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/docker/config.json";
  }
  void TearDown() override {
    if (!old_path_.empty()) ::setenv("PATH", old_path_.c_str(), 1);
    (void)remove_all(dir_);
  }
  nlohmann::json config() {
    return nlohmann::json::parse(read_file(path_).value_or("null"), nullptr, false);
  }
  // Installs docker-credential-test in a dir put first in PATH: it keeps one secret per server
  // in files under dir_/helper-db and logs each call.
  void install_helper() {
    ASSERT_TRUE(make_dirs(dir_ + "/bin").has_value());
    ASSERT_TRUE(make_dirs(dir_ + "/helper-db").has_value());
    std::string db = dir_ + "/helper-db";
    std::string script = "#!/bin/sh\n"
                         "db=" + db + "\n"
                         "input=$(cat)\n"
                         "echo \"$1 $input\" >> $db/log\n"
                         "key=$(printf %s \"$input\" | md5sum | cut -c1-8)\n"
                         "case $1 in\n"
                         "get)\n"
                         "  if [ -f $db/$key ]; then cat $db/$key; else echo 'credentials not found in native keychain'; exit 1; fi;;\n"
                         "store)\n"
                         "  server=$(printf %s \"$input\" | sed 's/.*\"ServerURL\":\"\\([^\"]*\\)\".*/\\1/')\n"
                         "  key=$(printf %s \"$server\" | md5sum | cut -c1-8)\n"
                         "  printf %s \"$input\" > $db/$key;;\n"
                         "erase)\n"
                         "  rm $db/$key || { echo 'credentials not found in native keychain'; exit 1; };;\n"
                         "esac\n";
    ASSERT_TRUE(write_file(dir_ + "/bin/docker-credential-test", script, 0755).has_value());
    old_path_ = ::getenv("PATH") ? ::getenv("PATH") : "";
    ::setenv("PATH", (dir_ + "/bin:" + old_path_).c_str(), 1);
  }
  std::string dir_, path_, old_path_;
};

TEST_F(CredentialsTest, StoreGetEraseWithMode0600) {
  CredentialStore store(path_);
  auto none = store.get("localhost:5000");
  ASSERT_TRUE(none.has_value()) << none.error().what();
  EXPECT_FALSE(none->has_value());

  ASSERT_TRUE(store.store("localhost:5000", AuthConfig{"user", "pw:with:colons", ""}).has_value());
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir_ + "/docker").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(config()["auths"]["localhost:5000"]["auth"], "dXNlcjpwdzp3aXRoOmNvbG9ucw==");

  auto got = store.get("localhost:5000");
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ((*got)->username, "user");
  EXPECT_EQ((*got)->password, "pw:with:colons");
  auto via_lookup = store.lookup()("localhost:5000");
  ASSERT_TRUE(via_lookup.has_value());
  EXPECT_EQ(via_lookup->username, "user");

  ASSERT_TRUE(store.erase("localhost:5000").has_value());
  EXPECT_FALSE(store.get("localhost:5000").value().has_value());
  auto again = store.erase("localhost:5000");
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), ErrorCode::NotFound);
}

TEST_F(CredentialsTest, DockerHubUsesTheIndexKey) {
  EXPECT_EQ(credential_key("docker.io"), "https://index.docker.io/v1/");
  EXPECT_EQ(credential_key("ghcr.io"), "ghcr.io");
  CredentialStore store(path_);
  ASSERT_TRUE(store.store("docker.io", AuthConfig{"hub", "pw", ""}).has_value());
  EXPECT_TRUE(config()["auths"].contains("https://index.docker.io/v1/"));
  EXPECT_EQ(store.get("docker.io").value()->username, "hub");
}

TEST_F(CredentialsTest, UnknownMembersArePreserved) {
  ASSERT_TRUE(make_dirs(dir_ + "/docker").has_value());
  ASSERT_TRUE(write_file(path_, R"({"auths":{"other:1":{"auth":"YTpi","email":"x@y"}},"psFormat":"table","proxies":{"default":{"httpProxy":"p"}}})").has_value());
  CredentialStore store(path_);
  EXPECT_EQ(store.get("other:1").value()->password, "b");
  ASSERT_TRUE(store.store("new:2", AuthConfig{"u", "p", ""}).has_value());
  auto j = config();
  EXPECT_EQ(j["psFormat"], "table");
  EXPECT_EQ(j["proxies"]["default"]["httpProxy"], "p");
  EXPECT_EQ(j["auths"]["other:1"]["email"], "x@y");
  EXPECT_EQ(j["auths"]["other:1"]["auth"], "YTpi");
  ASSERT_TRUE(store.erase("new:2").has_value());
  EXPECT_EQ(config()["psFormat"], "table");
}

TEST_F(CredentialsTest, MalformedConfigNamesTheField) {
  ASSERT_TRUE(make_dirs(dir_ + "/docker").has_value());
  ASSERT_TRUE(write_file(path_, R"({"auths":{"h":{"auth":"!!notbase64"}}})").has_value());
  auto got = CredentialStore(path_).get("h");
  ASSERT_FALSE(got.has_value());
  EXPECT_NE(got.error().what().find("auths.h.auth"), std::string::npos) << got.error().what();
  EXPECT_FALSE(CredentialStore(path_).lookup()("h").has_value());
}

TEST_F(CredentialsTest, CredentialHelperStoresGetsAndErases) {
  ASSERT_NO_FATAL_FAILURE(install_helper());
  ASSERT_TRUE(make_dirs(dir_ + "/docker").has_value());
  ASSERT_TRUE(write_file(path_, R"({"credHelpers":{"reg.example:443":"test"}})").has_value());
  CredentialStore store(path_);
  auto none = store.get("reg.example:443");
  ASSERT_TRUE(none.has_value()) << none.error().what();
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(store.store("reg.example:443", AuthConfig{"bob", "hunter2", ""}).has_value());
  auto got = store.get("reg.example:443");
  ASSERT_TRUE(got.has_value()) << got.error().what();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->username, "bob");
  EXPECT_EQ((*got)->password, "hunter2");
  EXPECT_FALSE(config().contains("auths"));  // the secret went to the helper only
  ASSERT_TRUE(store.erase("reg.example:443").has_value());
  EXPECT_FALSE(store.get("reg.example:443").value().has_value());
  auto log = read_file(dir_ + "/helper-db/log");
  ASSERT_TRUE(log.has_value());
  EXPECT_NE(log->find("get reg.example:443"), std::string::npos) << *log;
  EXPECT_NE(log->find("erase reg.example:443"), std::string::npos) << *log;
  // Other registries still use auths.
  ASSERT_TRUE(store.store("plain:1", AuthConfig{"a", "b", ""}).has_value());
  EXPECT_TRUE(config()["auths"].contains("plain:1"));
}

TEST_F(CredentialsTest, MissingHelperIsAClearError) {
  ASSERT_TRUE(make_dirs(dir_ + "/docker").has_value());
  ASSERT_TRUE(write_file(path_, R"({"credsStore":"berth-does-not-exist"})").has_value());
  auto got = CredentialStore(path_).get("localhost:5000");
  ASSERT_FALSE(got.has_value());
  EXPECT_NE(got.error().what().find("docker-credential-berth-does-not-exist"), std::string::npos)
      << got.error().what();
  EXPECT_NE(got.error().what().find("not installed"), std::string::npos) << got.error().what();
}

TEST(DockerConfigPath, FollowsDockerConfigEnv) {
  const char* old = ::getenv("DOCKER_CONFIG");
  std::string saved = old ? old : "";
  ::setenv("DOCKER_CONFIG", "/tmp/somewhere", 1);
  EXPECT_EQ(default_docker_config_path(), "/tmp/somewhere/config.json");
  if (old) ::setenv("DOCKER_CONFIG", saved.c_str(), 1);
  else ::unsetenv("DOCKER_CONFIG");
}

}  // namespace
}  // namespace berth::image
