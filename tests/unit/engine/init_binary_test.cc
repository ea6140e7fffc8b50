// init_binary: the berth-init berth carries is written once per runroot, runs, and a damaged
// copy is replaced.
#include "engine/init_binary.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "base/fs.h"
#include "init/image.h"

namespace berth::engine {
namespace {

class InitBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-init-binary-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(base_); }
  std::string base_;
};

// The exit status of `path -- args...`.
int run(const std::string& path, std::vector<std::string> args) {
  pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> argv = {const_cast<char*>(path.c_str())};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(99);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(InitBinaryTest, WritesTheCarriedProgramOnceAndItRuns) {
  std::string runroot = base_ + "/run";
  auto path = init_binary(runroot);
  ASSERT_TRUE(path) << path.error().what();
  EXPECT_EQ(*path, runroot + "/berth-init-" + std::string(init::image_digest().substr(0, 16)));
  auto bytes = read_file(*path);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, init::image());
  struct stat st;
  ASSERT_EQ(::stat(path->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0555u);
  // It is the init: the command's exit status, 127 for a command that is not there.
  EXPECT_EQ(run(*path, {"--", "/bin/sh", "-c", "exit 7"}), 7);
  EXPECT_EQ(run(*path, {"--", "/nonexistent/command"}), 127);
  EXPECT_EQ(run(*path, {"no-dashes"}), 127);

  struct stat again;
  ASSERT_TRUE(init_binary(runroot));
  ASSERT_EQ(::stat(path->c_str(), &again), 0);
  EXPECT_EQ(again.st_ino, st.st_ino) << "a good copy is not written again";
}

TEST_F(InitBinaryTest, ATruncatedCopyIsReplaced) {
  std::string runroot = base_ + "/run";
  auto path = init_binary(runroot);
  ASSERT_TRUE(path);
  ::chmod(path->c_str(), 0755);
  ASSERT_TRUE(write_file(*path, "#!/bin/sh\nexit 0\n", 0755));
  ASSERT_TRUE(init_binary(runroot));
  auto bytes = read_file(*path);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, init::image());
}

}  // namespace
}  // namespace berth::engine
