// The cgroup managers against this host's real /sys/fs/cgroup (root only): limits land in the
// kernel, a real process is listed, frozen, thawed and killed, and destroy leaves nothing. On a
// host with a cgroup2 hierarchy (v2, or hybrid's unified), the v2 manager runs there too.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/process.h"
#include "base/strings.h"
#include "runtime/cgroup_manager.h"

namespace berth::runtime {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr const char* kRoot = "/sys/fs/cgroup";

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return std::string(trim(ss.str()));
}

// The state letter of /proc/<pid>/stat.
char process_state(pid_t pid) {
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() ? '?' : stat[paren + 2];
}

ChildProcess sleeper() {
  SpawnOptions opts;
  opts.argv = {"/bin/sleep", "60"};
  auto child = spawn(opts);
  EXPECT_TRUE(child.has_value()) << child.error().what();
  return std::move(*child);
}

class RealCgroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "creating cgroups needs root";
    auto layout = detect_cgroup_layout(kRoot);
    if (!layout) GTEST_SKIP() << "no cgroup filesystem: " << layout.error().what();
    layout_ = *layout;
    id_ = fmt::format("berth-it-{}-{}", ::getpid(), ++counter_);
  }

  CgroupLayout layout_ = CgroupLayout::V1;
  std::string id_;
  static inline int counter_ = 0;
};

TEST_F(RealCgroupTest, LifecycleWithMemoryAndPidsLimits) {
  auto made = make_cgroup_manager(layout_, kRoot, "", id_);
  ASSERT_TRUE(made.has_value()) << made.error().what();
  auto& m = *made;
  auto cleanup_paths = m->paths();
  oci::Resources r;
  r.memory.emplace();
  r.memory->limit = 64 * 1024 * 1024;
  r.pids = oci::Pids{32};
  auto created = m->create(&r);
  ASSERT_TRUE(created.has_value()) << created.error().what();

  // The limits are in the kernel's files.
  bool v2 = layout_ == CgroupLayout::V2;
  std::string mem_dir = v2 ? m->paths()[0] : fmt::format("{}/memory/berth/{}", kRoot, id_);
  std::string pids_dir = v2 ? m->paths()[0] : fmt::format("{}/pids/berth/{}", kRoot, id_);
  EXPECT_EQ(slurp(mem_dir + (v2 ? "/memory.max" : "/memory.limit_in_bytes")), "67108864");
  EXPECT_EQ(slurp(pids_dir + "/pids.max"), "32");

  auto child = sleeper();
  ASSERT_TRUE(m->add_process(child.pid()).has_value());
  EXPECT_THAT(*m->pids(), ElementsAre(child.pid()));
  std::string membership = slurp(fmt::format("/proc/{}/cgroup", child.pid()));
  EXPECT_THAT(membership, HasSubstr("/berth/" + id_));

  auto stats = m->stats();
  ASSERT_TRUE(stats.has_value()) << stats.error().what();
  EXPECT_EQ(stats->pids_current, 1u);
  EXPECT_EQ(stats->memory_limit, 64u * 1024 * 1024);

  ASSERT_TRUE(m->freeze().has_value());
  EXPECT_TRUE(*m->is_frozen());
  ASSERT_TRUE(m->thaw().has_value());
  EXPECT_FALSE(*m->is_frozen());
  EXPECT_NE(process_state(child.pid()), 'Z');

  ASSERT_TRUE(m->kill_all(SIGKILL).has_value());
  auto status = child.wait(std::chrono::milliseconds(5000));
  ASSERT_TRUE(status.has_value()) << status.error().what();
  EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL);

  auto destroyed = m->destroy();
  ASSERT_TRUE(destroyed.has_value()) << destroyed.error().what();
  for (auto& p : cleanup_paths) EXPECT_FALSE(std::filesystem::exists(p)) << p;
}

TEST_F(RealCgroupTest, CreateFailureLeavesNothing) {
  auto made = make_cgroup_manager(layout_, kRoot, "", id_);
  ASSERT_TRUE(made.has_value()) << made.error().what();
  oci::Resources r;
  r.cpu.emplace();
  r.cpu->cpus = "4096";  // no such CPU: the kernel refuses it after the directories exist
  auto created = (*made)->create(&r);
  ASSERT_FALSE(created.has_value());
  EXPECT_THAT(created.error().what(), HasSubstr("cpuset.cpus"));
  for (auto& p : (*made)->paths()) EXPECT_FALSE(std::filesystem::exists(p)) << p;
}

// The v2 manager on the host's cgroup2 hierarchy; on a hybrid host that is <root>/unified, where
// the freezer and cgroup.kill work even though the controllers live in v1.
TEST_F(RealCgroupTest, V2ManagerOnTheCgroup2Hierarchy) {
  if (layout_ == CgroupLayout::V1) GTEST_SKIP() << "this host has no cgroup2 hierarchy";
  std::string mount = layout_ == CgroupLayout::V2 ? kRoot : std::string(kRoot) + "/unified";
  std::string parent = fmt::format("berth-it-v2-{}", ::getpid());
  // Enabling controllers in the root is a host-wide change: undo what this test adds.
  std::string before = slurp(mount + "/cgroup.subtree_control");
  auto made = make_cgroup_manager(CgroupLayout::V2, mount, parent + "/c", id_);
  ASSERT_TRUE(made.has_value()) << made.error().what();
  auto& m = *made;
  KernelCgroupFs fs;
  auto cleanup = [&] {
    (void)cgroup::remove_tree(fs, mount + "/" + parent);
    auto had = split(before, ' ');
    for (auto& c : split(slurp(mount + "/cgroup.subtree_control"), ' ')) {
      if (!c.empty() && std::find(had.begin(), had.end(), c) == had.end()) {
        (void)fs.write(mount + "/cgroup.subtree_control", "-" + c);
      }
    }
  };
  auto created = m->create(nullptr);
  if (!created) cleanup();
  ASSERT_TRUE(created.has_value()) << created.error().what();
  if (!std::filesystem::exists(m->paths()[0] + "/cgroup.freeze")) {
    cleanup();
    GTEST_SKIP() << "the kernel has no cgroup2 freezer";
  }

  auto a = sleeper();
  auto b = sleeper();
  ASSERT_TRUE(m->add_process(a.pid()).has_value());
  ASSERT_TRUE(m->add_process(b.pid()).has_value());
  EXPECT_THAT(*m->pids(), ElementsAre(std::min(a.pid(), b.pid()), std::max(a.pid(), b.pid())));

  ASSERT_TRUE(m->freeze().has_value());
  EXPECT_TRUE(*m->is_frozen());
  ASSERT_TRUE(m->thaw().has_value());
  EXPECT_FALSE(*m->is_frozen());

  // SIGTERM goes process by process (frozen meanwhile); SIGKILL through cgroup.kill.
  ASSERT_TRUE(m->kill_all(SIGTERM).has_value());
  auto status = a.wait(std::chrono::milliseconds(5000));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGTERM);
  auto c = sleeper();
  ASSERT_TRUE(m->add_process(c.pid()).has_value());
  (void)b.wait(std::chrono::milliseconds(5000));
  ASSERT_TRUE(m->kill_all(SIGKILL).has_value());
  status = c.wait(std::chrono::milliseconds(5000));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL);

  auto destroyed = m->destroy();
  EXPECT_TRUE(destroyed.has_value()) << destroyed.error().what();
  EXPECT_FALSE(std::filesystem::exists(m->paths()[0]));
  cleanup();
  EXPECT_FALSE(std::filesystem::exists(mount + "/" + parent));
}

}  // namespace
}  // namespace berth::runtime
