// KernelMountOps calls that need no privilege (the tmpcopyup copy, fifo nodes, links) and
// the RecordingMountOps fake itself.
#include "runtime/mount_ops.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/fs.h"
#include "base/unique_fd.h"

namespace berth::runtime {
namespace {

class MountOpsTest : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-ops-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { (void)remove_all(dir_); }

  UniqueFd open_path(const std::string& p) {
    return UniqueFd(::open(p.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  }

  std::string dir_;
};

TEST_F(MountOpsTest, CopyTreeCopiesContentModesAndLinks) {
  const std::string src = dir_ + "/src";
  ASSERT_TRUE(make_dirs(src + "/sub/deeper").has_value());
  ASSERT_TRUE(write_file(src + "/a.txt", "alpha", 0640).has_value());
  ASSERT_TRUE(write_file(src + "/sub/deeper/b.txt", std::string(200000, 'b'), 0600).has_value());
  ASSERT_EQ(::chmod((src + "/sub").c_str(), 0710), 0);
  ASSERT_EQ(::chmod(src.c_str(), 0750), 0);
  ASSERT_EQ(::symlink("../a.txt", (src + "/sub/link").c_str()), 0);
  ASSERT_EQ(::mkfifo((src + "/fifo").c_str(), 0600), 0);
  ASSERT_TRUE(make_dirs(dir_ + "/dst").has_value());

  KernelMountOps ops;
  UniqueFd from = open_path(src);
  UniqueFd to = open_path(dir_ + "/dst");
  ASSERT_EQ(ops.copy_tree(from.get(), to.get(), true), 0) << std::strerror(errno);

  EXPECT_EQ(*read_file(dir_ + "/dst/a.txt"), "alpha");
  EXPECT_EQ(read_file(dir_ + "/dst/sub/deeper/b.txt")->size(), 200000u);
  struct stat st;
  ASSERT_EQ(::stat((dir_ + "/dst/a.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  ASSERT_EQ(::stat((dir_ + "/dst/sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0710u);
  ASSERT_EQ(::stat((dir_ + "/dst").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);  // root_attrs
  char link[64] = {};
  ASSERT_GT(::readlink((dir_ + "/dst/sub/link").c_str(), link, sizeof(link) - 1), 0);
  EXPECT_STREQ(link, "../a.txt");
  ASSERT_EQ(::lstat((dir_ + "/dst/fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

TEST_F(MountOpsTest, CopyTreeWithoutRootAttrsKeepsTheTargetMode) {
  ASSERT_TRUE(make_dirs(dir_ + "/src").has_value());
  ASSERT_TRUE(make_dirs(dir_ + "/dst").has_value());
  ASSERT_EQ(::chmod((dir_ + "/src").c_str(), 0700), 0);
  ASSERT_EQ(::chmod((dir_ + "/dst").c_str(), 01777), 0);
  KernelMountOps ops;
  UniqueFd from = open_path(dir_ + "/src");
  UniqueFd to = open_path(dir_ + "/dst");
  ASSERT_EQ(ops.copy_tree(from.get(), to.get(), false), 0);
  struct stat st;
  ASSERT_EQ(::stat((dir_ + "/dst").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);
}

TEST_F(MountOpsTest, MakeNodeSetsModeWithoutUmask) {
  KernelMountOps ops;
  UniqueFd d = open_path(dir_);
  mode_t old = ::umask(022);
  int r = ops.make_node(d.get(), "pipe", S_IFIFO | 0666, 0, ::getuid(), ::getgid());
  ::umask(old);
  ASSERT_EQ(r, 0) << std::strerror(errno);
  struct stat st;
  ASSERT_EQ(::stat((dir_ + "/pipe").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0666u);
  EXPECT_EQ(ops.make_node(d.get(), "pipe", S_IFIFO | 0666, 0, ::getuid(), ::getgid()), -1);
  EXPECT_EQ(errno, EEXIST);
}

TEST_F(MountOpsTest, RecordingShowsDescriptorsAsPaths) {
  RecordingMountOps ops;
  UniqueFd d = open_path(dir_);
  EXPECT_EQ(ops.mount_at("tmpfs", d.get(), "tmpfs", MS_NOSUID | MS_NODEV, "size=1m"), 0);
  EXPECT_EQ(ops.bind_fd(d.get(), d.get(), MS_BIND | MS_REC), 0);
  EXPECT_EQ(ops.symlinkat("pts/ptmx", d.get(), "ptmx"), 0);
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  EXPECT_EQ(ops.mount_setattr(d.get(), AT_RECURSIVE, &attr), 0);
  EXPECT_EQ(ops.calls, (std::vector<std::string>{
                           "mount tmpfs " + dir_ + " tmpfs 0x6 size=1m",
                           "mount " + dir_ + " " + dir_ + " - 0x5000 -",
                           "symlink " + dir_ + "/ptmx -> pts/ptmx",
                           "mount_setattr " + dir_ + " 0x8000 set=0x1 clr=0x0",
                       }));
  // Nothing was created: the fake only records.
  EXPECT_NE(::access((dir_ + "/ptmx").c_str(), F_OK), 0);
}

TEST_F(MountOpsTest, RecordingFailsTheChosenCallOnce) {
  RecordingMountOps ops;
  ops.fail_on("umount2", EBUSY);
  EXPECT_EQ(ops.chdir("/"), 0);
  EXPECT_EQ(ops.umount2(".", MNT_DETACH), -1);
  EXPECT_EQ(errno, EBUSY);
  EXPECT_EQ(ops.umount2(".", MNT_DETACH), 0);
  EXPECT_EQ(ops.calls.size(), 3u);
}

TEST_F(MountOpsTest, RecordingMapsAbsolutePathsAfterPivot) {
  ASSERT_TRUE(make_dirs(dir_ + "/etc").has_value());
  RecordingMountOps ops(dir_);
  ASSERT_EQ(ops.pivot_root(".", "."), 0);
  UniqueFd etc(ops.open_dir("/etc"));
  ASSERT_TRUE(etc);
  EXPECT_EQ(fd_path(etc.get()), dir_ + "/etc");
}

}  // namespace
}  // namespace berth::runtime
