// Layout detection: on this host, compared with what /proc/self/mountinfo says; and, as root in
// a private mount namespace, on freshly mounted v2 and hybrid layouts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "base/strings.h"
#include "runtime/cgroup_manager.h"

namespace berth::runtime {
namespace {

// The filesystem type mounted exactly at path, from mountinfo ("" when nothing is).
std::string mounted_type(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string type;
  for (std::string line; std::getline(in, line);) {
    auto fields = split(line, ' ');
    auto dash = std::find(fields.begin(), fields.end(), "-");
    if (fields.size() < 5 || dash == fields.end() || dash + 1 == fields.end()) continue;
    if (fields[4] == path) type = *(dash + 1);  // the last mount there is the visible one
  }
  return type;
}

TEST(CgroupDetect, MatchesTheMountTable) {
  std::string root = mounted_type("/sys/fs/cgroup");
  if (root.empty()) GTEST_SKIP() << "nothing is mounted at /sys/fs/cgroup";
  CgroupLayout expected = CgroupLayout::V1;
  if (root == "cgroup2") {
    expected = CgroupLayout::V2;
  } else if (root == "tmpfs" && mounted_type("/sys/fs/cgroup/unified") == "cgroup2") {
    expected = CgroupLayout::Hybrid;
  }
  auto layout = detect_cgroup_layout();
  ASSERT_TRUE(layout.has_value()) << layout.error().what();
  EXPECT_EQ(to_string(*layout), to_string(expected));
}

TEST(CgroupDetect, PlainDirectoryIsV1AndMissingIsAnError) {
  char tmpl[] = "/tmp/berth-detect-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  EXPECT_EQ(*detect_cgroup_layout(dir), CgroupLayout::V1);
  ::rmdir(dir.c_str());
  auto missing = detect_cgroup_layout(dir);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), ErrorCode::NotFound);
  EXPECT_THAT(missing.error().what(), ::testing::HasSubstr("statfs " + dir));
}

// In a child with its own mount namespace: mounts tmpfs + cgroup2 at <dir>/unified (hybrid)
// and cgroup2 at <dir2> (v2), and reports the detected layouts in the exit code.
int detect_on_fresh_mounts() {
  if (::unshare(CLONE_NEWNS) != 0) return 10;
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return 11;
  char tmpl[] = "/tmp/berth-detect-XXXXXX";
  char* base = ::mkdtemp(tmpl);
  if (base == nullptr) return 12;
  std::string hybrid = std::string(base) + "/hybrid", v2 = std::string(base) + "/v2";
  ::mkdir(hybrid.c_str(), 0755);
  ::mkdir(v2.c_str(), 0755);
  if (::mount("tmpfs", hybrid.c_str(), "tmpfs", 0, "mode=755") != 0) return 13;
  ::mkdir((hybrid + "/unified").c_str(), 0755);
  if (::mount("cgroup2", (hybrid + "/unified").c_str(), "cgroup2", 0, nullptr) != 0) return 14;
  if (::mount("cgroup2", v2.c_str(), "cgroup2", 0, nullptr) != 0) return 15;
  auto h = detect_cgroup_layout(hybrid);
  auto v = detect_cgroup_layout(v2);
  int code = (h && *h == CgroupLayout::Hybrid ? 1 : 0) | (v && *v == CgroupLayout::V2 ? 2 : 0);
  ::umount2((hybrid + "/unified").c_str(), MNT_DETACH);
  ::umount2(hybrid.c_str(), MNT_DETACH);
  ::umount2(v2.c_str(), MNT_DETACH);
  ::rmdir(hybrid.c_str());
  ::rmdir(v2.c_str());
  ::rmdir(base);
  return code;
}

TEST(CgroupDetect, FreshHybridAndV2Mounts) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting needs root";
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(detect_on_fresh_mounts());
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  int code = WEXITSTATUS(status);
  if (code >= 10) GTEST_SKIP() << "cannot set up the mounts here (step " << code << ")";
  EXPECT_EQ(code, 3) << "bit 0: hybrid detected, bit 1: v2 detected";
}

TEST(CgroupRelativePath, DefaultsAndNormalises) {
  EXPECT_EQ(*cgroup_relative_path("", "abc"), "berth/abc");
  EXPECT_EQ(*cgroup_relative_path("/docker/abc", "x"), "docker/abc");
  EXPECT_EQ(*cgroup_relative_path("docker//abc/", "x"), "docker/abc");
  EXPECT_FALSE(cgroup_relative_path("/", "x").has_value());
  EXPECT_FALSE(cgroup_relative_path("a/../../b", "x").has_value());
  EXPECT_FALSE(cgroup_relative_path("", "").has_value());
  EXPECT_FALSE(cgroup_relative_path("", "a/b").has_value());
}

}  // namespace
}  // namespace berth::runtime
