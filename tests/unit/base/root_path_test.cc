#include "base/root_path.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace berth {
namespace {

namespace fs = std::filesystem;

class RootPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-rootpath-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ + "/root/etc");
    fs::create_directories(dir_ + "/root/usr/lib");
    fs::create_directories(dir_ + "/outside");
    root_fd_ = UniqueFd(::open((dir_ + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_fd_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The path, relative to the root, that an O_PATH fd points at.
  std::string where(const UniqueFd& fd) {
    std::string p = fs::read_symlink(fmt::format("/proc/self/fd/{}", fd.get()));
    std::string root = dir_ + "/root";
    return p.rfind(root, 0) == 0 ? (p.size() == root.size() ? "/" : p.substr(root.size())) : "OUTSIDE:" + p;
  }

  std::string dir_;
  UniqueFd root_fd_;
};

TEST_F(RootPathTest, ResolvesPlainPath) {
  auto fd = open_in_root(root_fd_.get(), "/usr/lib");
  ASSERT_TRUE(fd) << fd.error().what();
  EXPECT_EQ(where(*fd), "/usr/lib");
}

TEST_F(RootPathTest, AbsoluteSymlinkStaysInRoot) {
  fs::create_directory_symlink("/usr/lib", dir_ + "/root/lib");
  auto fd = open_in_root(root_fd_.get(), "/lib");
  ASSERT_TRUE(fd) << fd.error().what();
  EXPECT_EQ(where(*fd), "/usr/lib");
}

TEST_F(RootPathTest, RelativeSymlinkInsideRoot) {
  fs::create_directory_symlink("../usr/lib", dir_ + "/root/etc/lib");
  auto fd = open_in_root(root_fd_.get(), "/etc/lib");
  ASSERT_TRUE(fd) << fd.error().what();
  EXPECT_EQ(where(*fd), "/usr/lib");
}

TEST_F(RootPathTest, RelativeSymlinkEscapingIsRefused) {
  fs::create_directory_symlink("../../../outside", dir_ + "/root/etc/evil");
  auto fd = open_in_root(root_fd_.get(), "/etc/evil", ResolveCreate::Dir);
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().sys_errno(), EXDEV);
  EXPECT_NE(fd.error().what().find("escapes the root"), std::string::npos) << fd.error().what();
  EXPECT_FALSE(fs::exists(dir_ + "/outside/x"));
}

TEST_F(RootPathTest, DotDotAboveRootIsRefused) {
  auto fd = open_in_root(root_fd_.get(), "/../outside");
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().sys_errno(), EXDEV);
}

TEST_F(RootPathTest, CreatesMissingDirectories) {
  auto fd = open_in_root(root_fd_.get(), "/a/b/c", ResolveCreate::Dir);
  ASSERT_TRUE(fd) << fd.error().what();
  EXPECT_TRUE(fs::is_directory(dir_ + "/root/a/b/c"));
}

TEST_F(RootPathTest, CreatesFileThroughSymlinkedParent) {
  fs::create_directory_symlink("/usr", dir_ + "/root/u");
  auto fd = open_in_root(root_fd_.get(), "/u/new/file", ResolveCreate::File);
  ASSERT_TRUE(fd) << fd.error().what();
  EXPECT_TRUE(fs::is_regular_file(dir_ + "/root/usr/new/file"));
}

TEST_F(RootPathTest, MissingWithoutCreateIsNotFound) {
  auto fd = open_in_root(root_fd_.get(), "/nope/x");
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().code(), ErrorCode::NotFound);
}

TEST_F(RootPathTest, SymlinkLoopIsRefused) {
  fs::create_symlink("b", dir_ + "/root/a");
  fs::create_symlink("a", dir_ + "/root/b");
  auto fd = open_in_root(root_fd_.get(), "/a");
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().sys_errno(), ELOOP);
}

TEST_F(RootPathTest, FileInTheMiddleIsNotADirectory) {
  ASSERT_EQ(::close(::open((dir_ + "/root/etc/passwd").c_str(), O_CREAT | O_WRONLY, 0644)), 0);
  auto fd = open_in_root(root_fd_.get(), "/etc/passwd/x", ResolveCreate::Dir);
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().sys_errno(), ENOTDIR);
}

}  // namespace
}  // namespace berth
