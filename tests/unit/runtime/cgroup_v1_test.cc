// The cgroup v1 and hybrid managers over the emulated cgroupfs: hierarchy discovery, the exact
// values and order of writes, device rule replay, and what is refused before anything exists.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "runtime/cgroup_fake_fs.h"
#include "runtime/cgroup_manager.h"

namespace berth::runtime {
namespace {

using ::testing::ElementsAre;
using testing::FakeCgroupFs;
using testing::FakeLayout;
using testing::FakeOptions;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kMiB = 1024 * 1024;

oci::DeviceRule dev(bool allow, std::string type, std::optional<int64_t> major,
                    std::optional<int64_t> minor, std::string access) {
  return oci::DeviceRule{allow, std::move(type), major, minor, std::move(access)};
}

class CgroupV1Test : public ::testing::Test {
 protected:
  void use(FakeLayout layout, FakeOptions options = {}) {
    layout_ = layout;
    fs_ = std::make_shared<FakeCgroupFs>(layout, options);
  }
  std::unique_ptr<CgroupManager> manager() {
    auto layout = layout_ == FakeLayout::Hybrid ? CgroupLayout::Hybrid : CgroupLayout::V1;
    auto m = make_cgroup_manager(layout, fs_->root(), "", "c1", fs_);
    EXPECT_TRUE(m.has_value()) << m.error().what();
    return std::move(*m);
  }
  // The memory-related writes in order, as "file=value".
  std::vector<std::string> memory_writes() const {
    std::vector<std::string> out;
    for (auto& w : fs_->writes) {
      if (starts_with(w.path, "memory/berth/c1/")) out.push_back(w.path.substr(16) + "=" + w.value);
    }
    return out;
  }

  FakeLayout layout_ = FakeLayout::V1;
  std::shared_ptr<FakeCgroupFs> fs_ = std::make_shared<FakeCgroupFs>(FakeLayout::V1);
};

TEST_F(CgroupV1Test, EveryHierarchyOnceJointMountsResolved) {
  auto m = manager();
  std::vector<std::string> rel;
  for (auto& p : m->paths()) rel.push_back(p.substr(fs_->root().size() + 1));
  // cpu and cpuacct are symlinks to one joint mount; the named systemd hierarchy is no controller.
  EXPECT_THAT(rel, ElementsAre("blkio/berth/c1", "cpu,cpuacct/berth/c1", "cpuset/berth/c1",
                               "devices/berth/c1", "freezer/berth/c1", "hugetlb/berth/c1",
                               "memory/berth/c1", "net_cls/berth/c1", "net_prio/berth/c1",
                               "pids/berth/c1", "rdma/berth/c1"));
}

TEST_F(CgroupV1Test, HybridAddsTheUnifiedDirectoryAndJoinsIt) {
  use(FakeLayout::Hybrid);
  auto m = manager();
  auto paths = m->paths();
  EXPECT_EQ(paths.back(), fs_->path("unified/berth/c1"));
  ASSERT_TRUE(m->create(nullptr).has_value());
  for (auto& p : paths) EXPECT_TRUE(std::filesystem::exists(p)) << p;
  // No controller is enabled in the unified tree unless a resource needs one.
  EXPECT_TRUE(fs_->writes_to("unified/cgroup.subtree_control").empty());
  ASSERT_TRUE(m->add_process(::getpid()).has_value());
  for (auto& p : paths) {
    EXPECT_THAT(fs_->writes_to(p.substr(fs_->root().size() + 1) + "/cgroup.procs"),
                ElementsAre(std::to_string(::getpid())));
  }
}

TEST_F(CgroupV1Test, CpusetIsCopiedFromTheParentIntoEveryNewLevel) {
  ASSERT_TRUE(manager()->create(nullptr).has_value());
  EXPECT_THAT(fs_->writes_to("cpuset/berth/cpuset.cpus"), ElementsAre("0-1"));
  EXPECT_THAT(fs_->writes_to("cpuset/berth/cpuset.mems"), ElementsAre("0"));
  EXPECT_THAT(fs_->writes_to("cpuset/berth/c1/cpuset.cpus"), ElementsAre("0-1"));
  EXPECT_THAT(fs_->writes_to("cpuset/berth/c1/cpuset.mems"), ElementsAre("0"));
}

TEST_F(CgroupV1Test, MemoryAndSwapAreWrittenInTheOrderTheKernelAccepts) {
  oci::Resources r;
  r.memory.emplace();
  r.memory->limit = 100 * kMiB;
  r.memory->swap = 200 * kMiB;
  r.memory->reservation = 50 * kMiB;
  r.memory->swappiness = 10;
  r.memory->disable_oom_killer = true;
  auto m = manager();
  ASSERT_TRUE(m->create(&r).has_value());
  // From unlimited, lowering: the limit first, then memory+swap.
  EXPECT_THAT(memory_writes(), ElementsAre("memory.limit_in_bytes=104857600",
                                           "memory.memsw.limit_in_bytes=209715200",
                                           "memory.soft_limit_in_bytes=52428800",
                                           "memory.swappiness=10", "memory.oom_control=1"));
  // Raising past the current limit: memory+swap first.
  fs_->writes.clear();
  oci::Resources raise;
  raise.memory.emplace();
  raise.memory->limit = 300 * kMiB;
  raise.memory->swap = 400 * kMiB;
  ASSERT_TRUE(m->update(raise).has_value());
  EXPECT_THAT(memory_writes(), ElementsAre("memory.memsw.limit_in_bytes=419430400",
                                           "memory.limit_in_bytes=314572800"));
  // Unlimited memory without a swap value: both unlimited, memory+swap first.
  fs_->writes.clear();
  oci::Resources unlimited;
  unlimited.memory.emplace();
  unlimited.memory->limit = -1;
  ASSERT_TRUE(m->update(unlimited).has_value());
  EXPECT_THAT(memory_writes(),
              ElementsAre("memory.memsw.limit_in_bytes=-1", "memory.limit_in_bytes=-1"));
}

TEST_F(CgroupV1Test, SwapWithoutSwapAccountingNamesTheMissingFile) {
  use(FakeLayout::V1, FakeOptions{.swap_accounting = false});
  oci::Resources implicit;
  implicit.memory.emplace();
  implicit.memory->limit = -1;
  auto m = manager();
  ASSERT_TRUE(m->create(&implicit).has_value());
  EXPECT_THAT(memory_writes(), ElementsAre("memory.limit_in_bytes=-1"));
  oci::Resources r;
  r.memory.emplace();
  r.memory->limit = 100 * kMiB;
  r.memory->swap = 200 * kMiB;
  auto updated = m->update(r);
  ASSERT_FALSE(updated.has_value());
  EXPECT_EQ(updated.error().code(), ErrorCode::NotFound);
  EXPECT_THAT(
      updated.error().what(),
      HasSubstr(fs_->path("memory/berth/c1/memory.memsw.limit_in_bytes") + " does not exist"));
}

TEST_F(CgroupV1Test, DeviceRulesAreReplayedInOrder) {
  oci::Resources r;
  r.devices.push_back(dev(false, "a", {}, {}, "rwm"));
  r.devices.push_back(dev(true, "c", 1, 3, "rwm"));
  r.devices.push_back(dev(true, "c", 136, {}, "rw"));
  r.devices.push_back(dev(true, "b", {}, {}, "m"));
  r.devices.push_back(dev(false, "c", 1, 3, "w"));
  ASSERT_TRUE(manager()->create(&r).has_value());
  std::vector<std::string> sequence;
  for (auto& w : fs_->writes) {
    if (starts_with(w.path, "devices/berth/c1/devices.")) {
      sequence.push_back(w.path.substr(std::string("devices/berth/c1/").size()) + " " + w.value);
    }
  }
  EXPECT_THAT(sequence, ElementsAre("devices.deny a *:* rwm", "devices.allow c 1:3 rwm",
                                    "devices.allow c 136:* rw", "devices.allow b *:* m",
                                    "devices.deny c 1:3 w"));
}

TEST_F(CgroupV1Test, CpuPeriodBeforeQuotaAndRealtime) {
  oci::Resources r;
  r.cpu.emplace();
  r.cpu->shares = 512;
  r.cpu->quota = 50000;
  r.cpu->period = 100000;
  r.cpu->realtime_runtime = 950000;
  r.cpu->realtime_period = 1000000;
  r.cpu->cpus = "1";
  ASSERT_TRUE(manager()->create(&r).has_value());
  std::vector<std::string> cpu;
  for (auto& w : fs_->writes) {
    if (starts_with(w.path, "cpu,cpuacct/berth/c1/"))
      cpu.push_back(w.path.substr(21) + "=" + w.value);
  }
  EXPECT_THAT(cpu,
              ElementsAre("cpu.shares=512", "cpu.cfs_period_us=100000", "cpu.cfs_quota_us=50000",
                          "cpu.rt_period_us=1000000", "cpu.rt_runtime_us=950000"));
  EXPECT_EQ(fs_->content("cpuset/berth/c1/cpuset.cpus"), "1");
}

TEST_F(CgroupV1Test, PeriodThatOnlyFitsTheNewQuotaIsRetriedAfterIt) {
  fs_->fail_writes_to("cpu,cpuacct/berth/c1/cpu.cfs_period_us", EINVAL, 1);
  oci::Resources r;
  r.cpu.emplace();
  r.cpu->quota = 20000;
  r.cpu->period = 10000;
  ASSERT_TRUE(manager()->create(&r).has_value());
  std::vector<std::string> cpu;
  for (auto& w : fs_->writes) {
    if (starts_with(w.path, "cpu,cpuacct/berth/c1/"))
      cpu.push_back(w.path.substr(21) + "=" + w.value);
  }
  EXPECT_THAT(cpu, ElementsAre("cpu.cfs_period_us=10000", "cpu.cfs_quota_us=20000",
                               "cpu.cfs_period_us=10000"));
}

TEST_F(CgroupV1Test, PidsBlkioHugetlbNetwork) {
  oci::Resources r;
  r.pids = oci::Pids{0};
  r.block_io.emplace();
  r.block_io->weight = 300;
  r.block_io->leaf_weight = 200;
  r.block_io->weight_device.push_back({8, 0, 100, 50});
  r.block_io->throttle_read_bps_device.push_back({8, 0, 1048576});
  r.hugepage_limits.push_back({"2MB", 2 * kMiB});
  r.network.emplace();
  r.network->class_id = 0x100001;
  r.network->priorities.push_back({"eth0", 5});
  ASSERT_TRUE(manager()->create(&r).has_value());
  EXPECT_THAT(fs_->writes_to("pids/berth/c1/pids.max"), ElementsAre("max"));
  EXPECT_THAT(fs_->writes_to("blkio/berth/c1/blkio.weight"), ElementsAre("300"));
  EXPECT_THAT(fs_->writes_to("blkio/berth/c1/blkio.leaf_weight"), ElementsAre("200"));
  EXPECT_THAT(fs_->writes_to("blkio/berth/c1/blkio.weight_device"), ElementsAre("8:0 100"));
  EXPECT_THAT(fs_->writes_to("blkio/berth/c1/blkio.leaf_weight_device"), ElementsAre("8:0 50"));
  EXPECT_THAT(fs_->writes_to("blkio/berth/c1/blkio.throttle.read_bps_device"),
              ElementsAre("8:0 1048576"));
  EXPECT_THAT(fs_->writes_to("hugetlb/berth/c1/hugetlb.2MB.limit_in_bytes"),
              ElementsAre("2097152"));
  EXPECT_THAT(fs_->writes_to("net_cls/berth/c1/net_cls.classid"), ElementsAre("1048577"));
  EXPECT_THAT(fs_->writes_to("net_prio/berth/c1/net_prio.ifpriomap"), ElementsAre("eth0 5"));
}

TEST_F(CgroupV1Test, BfqKernelsGetTheBfqWeightFiles) {
  use(FakeLayout::V1, FakeOptions{.bfq = true});
  oci::Resources r;
  r.block_io.emplace();
  r.block_io->weight = 300;
  r.block_io->weight_device.push_back({8, 0, 100, std::nullopt});
  ASSERT_TRUE(manager()->create(&r).has_value());
  EXPECT_THAT(fs_->writes_to("blkio/berth/c1/blkio.bfq.weight"), ElementsAre("300"));
  EXPECT_THAT(fs_->writes_to("blkio/berth/c1/blkio.bfq.weight_device"), ElementsAre("8:0 100"));
}

TEST_F(CgroupV1Test, HybridPutsHugetlbAndUnifiedInTheCgroup2Tree) {
  use(FakeLayout::Hybrid);
  oci::Resources r;
  r.hugepage_limits.push_back({"2MB", 2 * kMiB});
  r.unified["hugetlb.1GB.max"] = "0";
  ASSERT_TRUE(manager()->create(&r).has_value());
  EXPECT_THAT(fs_->writes_to("unified/cgroup.subtree_control"), ElementsAre("+hugetlb"));
  EXPECT_THAT(fs_->writes_to("unified/berth/cgroup.subtree_control"), ElementsAre("+hugetlb"));
  EXPECT_THAT(fs_->writes_to("unified/berth/c1/hugetlb.2MB.max"), ElementsAre("2097152"));
  EXPECT_THAT(fs_->writes_to("unified/berth/c1/hugetlb.1GB.max"), ElementsAre("0"));
}

TEST_F(CgroupV1Test, UnifiedNeedsCgroup2) {
  oci::Resources r;
  r.unified["memory.high"] = "1";
  auto created = manager()->create(&r);
  ASSERT_FALSE(created.has_value());
  EXPECT_THAT(created.error().what(), HasSubstr("needs cgroup v2"));
  EXPECT_TRUE(fs_->writes.empty());
}

TEST_F(CgroupV1Test, MissingHierarchyIsReportedBeforeAnythingIsCreated) {
  std::filesystem::remove_all(fs_->path("pids"));
  oci::Resources r;
  r.pids = oci::Pids{10};
  auto created = manager()->create(&r);
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.error().code(), ErrorCode::NotFound);
  EXPECT_THAT(
      created.error().what(),
      HasSubstr("linux.resources.pids: no pids cgroup hierarchy is mounted under " + fs_->root()));
  EXPECT_FALSE(fs_->has("memory/berth"));
}

TEST_F(CgroupV1Test, FailedWriteRemovesEveryDirectoryItMade) {
  fs_->fail_writes_to("memory/berth/c1/memory.limit_in_bytes", EBUSY);
  oci::Resources r;
  r.memory.emplace();
  r.memory->limit = 100000;
  auto created = manager()->create(&r);
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.error().what(),
            fmt::format("write 100000 to {}: Device or resource busy",
                        fs_->path("memory/berth/c1/memory.limit_in_bytes")));
  for (auto& entry : std::filesystem::directory_iterator(fs_->root())) {
    EXPECT_FALSE(std::filesystem::exists(entry.path() / "berth")) << entry.path();
  }
}

TEST_F(CgroupV1Test, FreezeRewritesFrozenUntilTheStateSettles) {
  auto m = manager();
  ASSERT_TRUE(m->create(nullptr).has_value());
  fs_->freezing_reads = 3;
  ASSERT_TRUE(m->freeze().has_value());
  EXPECT_TRUE(*m->is_frozen());
  EXPECT_GT(fs_->writes_to("freezer/berth/c1/freezer.state").size(), 1u);
  ASSERT_TRUE(m->thaw().has_value());
  EXPECT_EQ(fs_->content("freezer/berth/c1/freezer.state"), "THAWED");
}

TEST_F(CgroupV1Test, StatsNormaliseUnlimitedAndReadOomKills) {
  auto m = manager();
  ASSERT_TRUE(m->create(nullptr).has_value());
  fs_->set_content("memory/berth/c1/memory.usage_in_bytes", "4096\n");
  fs_->set_content("memory/berth/c1/memory.oom_control",
                   "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  fs_->set_content("cpu,cpuacct/berth/c1/cpuacct.usage", "123456789\n");
  fs_->set_content("pids/berth/c1/pids.current", "3\n");
  auto s = m->stats();
  ASSERT_TRUE(s.has_value()) << s.error().what();
  EXPECT_EQ(s->memory_usage, 4096u);
  EXPECT_EQ(s->memory_limit, UINT64_MAX);
  EXPECT_EQ(s->cpu_usage_ns, 123456789u);
  EXPECT_EQ(s->pids_current, 3u);
  EXPECT_EQ(s->oom_kills, 2u);
}

TEST_F(CgroupV1Test, InvalidDeviceRulesNameTheirIndex) {
  oci::Resources r;
  r.devices.push_back(dev(false, "a", {}, {}, ""));
  r.devices.push_back(dev(true, "x", {}, {}, "rwm"));
  auto created = manager()->create(&r);
  ASSERT_FALSE(created.has_value());
  EXPECT_THAT(created.error().what(), HasSubstr("linux.resources.devices[1].type"));
  r.devices[1] = dev(true, "c", {}, {}, "rwx");
  EXPECT_THAT(manager()->create(&r).error().what(), HasSubstr("devices[1].access"));
  r.devices[1] = dev(true, "c", -2, {}, "r");
  EXPECT_THAT(manager()->create(&r).error().what(), HasSubstr("devices[1]"));
  // "a 7:* rwm" or "a *:* r" would mean every device with every access to the v1 kernel.
  r.devices[1] = dev(true, "a", 7, {}, "rwm");
  EXPECT_THAT(manager()->create(&r).error().what(), HasSubstr("cannot narrow a type \"a\" rule"));
  r.devices[1] = dev(true, "", {}, {}, "r");
  EXPECT_THAT(manager()->create(&r).error().what(), HasSubstr("cannot narrow a type \"a\" rule"));
  EXPECT_THAT(fs_->writes, Not(::testing::Contains(::testing::Field(&FakeCgroupFs::Write::path,
                                                                    HasSubstr("devices.")))));
}

}  // namespace
}  // namespace berth::runtime
