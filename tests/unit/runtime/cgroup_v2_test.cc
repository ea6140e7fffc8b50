// The cgroup v2 manager over the emulated cgroupfs: the exact values it writes, the controllers
// it enables, and what it refuses before touching anything.
#include "runtime/cgroup_v2.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/cgroup_fake_fs.h"
#include "runtime/cgroup_manager.h"

namespace berth::runtime {
namespace {

using ::testing::ElementsAre;
using testing::FakeCgroupFs;
using testing::FakeLayout;
using testing::FakeOptions;
using ::testing::HasSubstr;

constexpr int64_t kMiB = 1024 * 1024;

oci::DeviceRule dev(bool allow, std::string type, std::optional<int64_t> major,
                    std::optional<int64_t> minor, std::string access) {
  return oci::DeviceRule{allow, std::move(type), major, minor, std::move(access)};
}

class CgroupV2Test : public ::testing::Test {
 protected:
  explicit CgroupV2Test(FakeOptions options = {})
      : fs_(std::make_shared<FakeCgroupFs>(FakeLayout::V2, options)) {}

  std::unique_ptr<CgroupManager> manager(const std::string& cgroups_path = "") {
    auto m = make_cgroup_manager(CgroupLayout::V2, fs_->root(), cgroups_path, "c1", fs_);
    EXPECT_TRUE(m.has_value()) << m.error().what();
    return std::move(*m);
  }
  std::string leaf(std::string_view file) const { return fmt::format("berth/c1/{}", file); }

  std::shared_ptr<FakeCgroupFs> fs_;
};

TEST(CgroupV2Conversion, SharesToWeightMatchesRuncAndCrun) {
  EXPECT_EQ(cpu_shares_to_weight(1024), 39u);
  EXPECT_EQ(cpu_shares_to_weight(2), 1u);
  EXPECT_EQ(cpu_shares_to_weight(262144), 10000u);
  EXPECT_EQ(cpu_shares_to_weight(512), 20u);
  EXPECT_EQ(cpu_shares_to_weight(1), 1u);  // clamped to the v1 minimum
  EXPECT_EQ(cpu_shares_to_weight(1u << 30), 10000u);
}

TEST(CgroupV2Conversion, BlkioWeightToIoWeight) {
  EXPECT_EQ(blkio_weight_to_io_weight(10), 1u);
  EXPECT_EQ(blkio_weight_to_io_weight(500), 4950u);
  EXPECT_EQ(blkio_weight_to_io_weight(1000), 10000u);
}

TEST(CgroupV2Conversion, SwapIsMemoryPlusSwapMinusMemory) {
  oci::Memory m;
  m.limit = 100 * kMiB;
  m.swap = 200 * kMiB;
  auto v = v2_swap_max(m);
  ASSERT_TRUE(v.has_value());
  ASSERT_TRUE(v->has_value());
  EXPECT_EQ((*v)->value, "104857600");
  m.swap = -1;
  EXPECT_EQ((*v2_swap_max(m))->value, "max");
  m.swap.reset();
  EXPECT_FALSE(v2_swap_max(m)->has_value());
  m.limit = -1;
  EXPECT_EQ((*v2_swap_max(m))->value, "max");
  EXPECT_TRUE((*v2_swap_max(m))->implicit);
  m.limit = 200 * kMiB;
  m.swap = 100 * kMiB;
  EXPECT_FALSE(v2_swap_max(m).has_value());
  m.limit.reset();
  EXPECT_FALSE(v2_swap_max(m).has_value());
}

TEST_F(CgroupV2Test, CreateEnablesControllersInEveryAncestor) {
  auto m = manager();
  ASSERT_TRUE(m->create(nullptr).has_value());
  EXPECT_THAT(m->paths(), ElementsAre(fs_->path("berth/c1")));
  EXPECT_THAT(fs_->writes_to("cgroup.subtree_control"),
              ElementsAre("+cpuset +cpu +io +memory +hugetlb +pids +rdma"));
  EXPECT_THAT(fs_->writes_to("berth/cgroup.subtree_control"),
              ElementsAre("+cpuset +cpu +io +memory +hugetlb +pids +rdma"));
  EXPECT_TRUE(fs_->writes_to("berth/c1/cgroup.subtree_control").empty());
  EXPECT_TRUE(fs_->has(leaf("memory.max")));
}

TEST_F(CgroupV2Test, MemoryLimitReservationAndSwap) {
  oci::Resources r;
  r.memory.emplace();
  r.memory->limit = 100 * kMiB;
  r.memory->swap = 200 * kMiB;
  r.memory->reservation = 50 * kMiB;
  auto m = manager();
  ASSERT_TRUE(m->create(&r).has_value());
  EXPECT_EQ(fs_->content(leaf("memory.max")), "104857600");
  EXPECT_EQ(fs_->content(leaf("memory.swap.max")), "104857600");
  EXPECT_EQ(fs_->content(leaf("memory.low")), "52428800");

  oci::Resources unlimited;
  unlimited.memory.emplace();
  unlimited.memory->limit = -1;
  ASSERT_TRUE(m->update(unlimited).has_value());
  EXPECT_EQ(fs_->content(leaf("memory.max")), "max");
  EXPECT_EQ(fs_->content(leaf("memory.swap.max")), "max");
}

TEST_F(CgroupV2Test, SwapBelowLimitIsRefusedBeforeAnythingIsCreated) {
  oci::Resources r;
  r.memory.emplace();
  r.memory->limit = 200 * kMiB;
  r.memory->swap = 100 * kMiB;
  auto created = manager()->create(&r);
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.error().code(), ErrorCode::InvalidArgument);
  EXPECT_THAT(created.error().what(), HasSubstr("linux.resources.memory.swap"));
  EXPECT_TRUE(fs_->writes.empty());
  EXPECT_FALSE(fs_->has("berth"));
}

TEST_F(CgroupV2Test, PidsLimitZeroIsMax) {
  oci::Resources r;
  r.pids = oci::Pids{0};
  auto m = manager();
  ASSERT_TRUE(m->create(&r).has_value());
  EXPECT_THAT(fs_->writes_to(leaf("pids.max")), ElementsAre("max"));
  r.pids->limit = 100;
  ASSERT_TRUE(m->update(r).has_value());
  EXPECT_THAT(fs_->writes_to(leaf("pids.max")), ElementsAre("max", "100"));
}

TEST_F(CgroupV2Test, CpuWeightMaxAndCpuset) {
  oci::Resources r;
  r.cpu.emplace();
  r.cpu->shares = 1024;
  r.cpu->quota = 50000;
  r.cpu->period = 100000;
  r.cpu->burst = 1000;
  r.cpu->cpus = "0-1";
  r.cpu->mems = "0";
  auto m = manager();
  ASSERT_TRUE(m->create(&r).has_value());
  EXPECT_THAT(fs_->writes_to(leaf("cpu.weight")), ElementsAre("39"));
  EXPECT_THAT(fs_->writes_to(leaf("cpu.max")), ElementsAre("50000 100000"));
  EXPECT_THAT(fs_->writes_to(leaf("cpu.max.burst")), ElementsAre("1000"));
  EXPECT_THAT(fs_->writes_to(leaf("cpuset.cpus")), ElementsAre("0-1"));
  EXPECT_THAT(fs_->writes_to(leaf("cpuset.mems")), ElementsAre("0"));

  oci::Resources period_only;
  period_only.cpu.emplace();
  period_only.cpu->period = 50000;
  ASSERT_TRUE(m->update(period_only).has_value());
  oci::Resources no_quota;
  no_quota.cpu.emplace();
  no_quota.cpu->quota = -1;
  ASSERT_TRUE(m->update(no_quota).has_value());
  EXPECT_THAT(fs_->writes_to(leaf("cpu.max")), ElementsAre("50000 100000", "max 50000", "max"));
}

TEST_F(CgroupV2Test, IoWeightAndThrottles) {
  oci::Resources r;
  r.block_io.emplace();
  r.block_io->weight = 500;
  r.block_io->weight_device.push_back({8, 0, 100, std::nullopt});
  r.block_io->throttle_read_bps_device.push_back({8, 0, 1048576});
  r.block_io->throttle_write_iops_device.push_back({8, 16, 300});
  auto m = manager();
  ASSERT_TRUE(m->create(&r).has_value());
  EXPECT_THAT(fs_->writes_to(leaf("io.weight")), ElementsAre("default 4950", "8:0 910"));
  EXPECT_THAT(fs_->writes_to(leaf("io.max")), ElementsAre("8:0 rbps=1048576", "8:16 wiops=300"));
}

class CgroupV2BfqTest : public CgroupV2Test {
 protected:
  CgroupV2BfqTest() : CgroupV2Test(FakeOptions{.bfq = true}) {}
};

TEST_F(CgroupV2BfqTest, BfqTakesTheBlkioScale) {
  oci::Resources r;
  r.block_io.emplace();
  r.block_io->weight = 500;
  ASSERT_TRUE(manager()->create(&r).has_value());
  EXPECT_THAT(fs_->writes_to(leaf("io.bfq.weight")), ElementsAre("500"));
  EXPECT_TRUE(fs_->writes_to(leaf("io.weight")).empty());
}

TEST_F(CgroupV2Test, HugetlbRdmaAndUnified) {
  oci::Resources r;
  r.hugepage_limits.push_back({"2MB", 4 * 2 * kMiB});
  r.rdma["mlx4_0"] = oci::RdmaLimit{2, 2000};
  r.unified["memory.high"] = "50000000";
  r.unified["pids.max"] = "7";
  auto m = manager();
  ASSERT_TRUE(m->create(&r).has_value());
  EXPECT_THAT(fs_->writes_to(leaf("hugetlb.2MB.max")), ElementsAre("8388608"));
  EXPECT_THAT(fs_->writes_to(leaf("rdma.max")), ElementsAre("mlx4_0 hca_handle=2 hca_object=2000"));
  EXPECT_THAT(fs_->writes_to(leaf("memory.high")), ElementsAre("50000000"));
  EXPECT_THAT(fs_->writes_to(leaf("pids.max")), ElementsAre("7"));
}

TEST_F(CgroupV2Test, UnsafeNamesAreRefused) {
  for (auto [key, expect] : std::vector<std::pair<std::string, std::string>>{
           {"../../../etc/passwd", "not a cgroup control file name"},
           {"..", "not a cgroup control file name"},
           {"", "not a cgroup control file name"},
           {"cgroup.procs", "managed by the runtime"},
           {"cgroup.kill", "managed by the runtime"}}) {
    oci::Resources r;
    r.unified[key] = "1";
    auto created = manager()->create(&r);
    ASSERT_FALSE(created.has_value()) << key;
    EXPECT_THAT(created.error().what(), HasSubstr(expect));
  }
  oci::Resources pages;
  pages.hugepage_limits.push_back({"../2MB", 1});
  EXPECT_FALSE(manager()->create(&pages).has_value());
  oci::Resources rdma;
  rdma.rdma["mlx4 0"] = {};
  EXPECT_FALSE(manager()->create(&rdma).has_value());
  EXPECT_TRUE(fs_->writes.empty());
}

TEST_F(CgroupV2Test, V1OnlyResourcesAreRefused) {
  oci::Resources rt;
  rt.cpu.emplace();
  rt.cpu->realtime_runtime = 950000;
  auto created = manager()->create(&rt);
  ASSERT_FALSE(created.has_value());
  EXPECT_THAT(created.error().what(), HasSubstr("real-time"));
  oci::Resources net;
  net.network.emplace();
  net.network->class_id = 0x100001;
  EXPECT_FALSE(manager()->create(&net).has_value());
  EXPECT_FALSE(fs_->has("berth"));
}

TEST_F(CgroupV2Test, DevicesBecomeAProgramOnTheLeaf) {
  oci::Resources r;
  r.devices.push_back(dev(false, "a", {}, {}, "rwm"));
  r.devices.push_back(dev(true, "c", 1, 3, "rwm"));
  ASSERT_TRUE(manager()->create(&r).has_value());
  ASSERT_EQ(fs_->device_programs.count("berth/c1"), 1u);
  EXPECT_GT(fs_->device_programs["berth/c1"].size(), 8u);
}

TEST_F(CgroupV2Test, MissingRequiredControllerIsAnErrorAndNothingRemains) {
  fs_->set_content("cgroup.controllers", "cpu pids");
  oci::Resources r;
  r.memory.emplace();
  r.memory->limit = 100 * kMiB;
  auto created = manager()->create(&r);
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.error().code(), ErrorCode::NotFound);
  EXPECT_THAT(created.error().what(), HasSubstr("enable the memory controller"));
  EXPECT_THAT(created.error().what(), HasSubstr("offers only \"cpu pids\""));
  EXPECT_FALSE(fs_->has("berth"));
}

TEST_F(CgroupV2Test, SwapWithoutSwapAccountingNamesTheFile) {
  fs_ = std::make_shared<FakeCgroupFs>(FakeLayout::V2, FakeOptions{.swap_accounting = false});
  oci::Resources implicit;
  implicit.memory.emplace();
  implicit.memory->limit = -1;
  auto m = manager();
  ASSERT_TRUE(m->create(&implicit).has_value());
  EXPECT_TRUE(fs_->writes_to(leaf("memory.swap.max")).empty());
  oci::Resources r;
  r.memory.emplace();
  r.memory->limit = 100 * kMiB;
  r.memory->swap = 200 * kMiB;
  auto updated = m->update(r);
  ASSERT_FALSE(updated.has_value());
  EXPECT_THAT(updated.error().what(),
              HasSubstr(fmt::format("write 104857600 to {}", fs_->path(leaf("memory.swap.max")))));
}

TEST_F(CgroupV2Test, FailedWriteRollsBackAndNamesFileAndValue) {
  fs_->fail_writes_to(leaf("pids.max"), EINVAL);
  oci::Resources r;
  r.pids = oci::Pids{10};
  auto created = manager()->create(&r);
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.error().sys_errno(), EINVAL);
  EXPECT_THAT(created.error().what(),
              HasSubstr(fmt::format("write 10 to {}", fs_->path(leaf("pids.max")))));
  EXPECT_FALSE(fs_->has("berth/c1"));
  EXPECT_FALSE(fs_->has("berth"));
}

TEST_F(CgroupV2Test, CustomPathAndRefusedEscapes) {
  auto m = manager("/kubepods/pod1/c1");
  ASSERT_TRUE(m->create(nullptr).has_value());
  EXPECT_TRUE(fs_->has("kubepods/pod1/c1/cgroup.procs"));
  EXPECT_THAT(fs_->writes_to("kubepods/pod1/cgroup.subtree_control"), ::testing::SizeIs(1));
  ASSERT_TRUE(m->destroy().has_value());
  EXPECT_FALSE(fs_->has("kubepods/pod1/c1"));
  for (std::string bad : {"../../etc", "/a/../../b", "/", "a/./b"}) {
    auto made = make_cgroup_manager(CgroupLayout::V2, fs_->root(), bad, "c1", fs_);
    ASSERT_FALSE(made.has_value()) << bad;
    EXPECT_EQ(made.error().code(), ErrorCode::InvalidArgument);
  }
  EXPECT_FALSE(make_cgroup_manager(CgroupLayout::V2, fs_->root(), "", "../x", fs_).has_value());
}

TEST_F(CgroupV2Test, FreezeWaitsForTheKernelToReportFrozen) {
  auto m = manager();
  ASSERT_TRUE(m->create(nullptr).has_value());
  fs_->freezing_reads = 3;
  ASSERT_TRUE(m->freeze().has_value());
  EXPECT_TRUE(*m->is_frozen());
  EXPECT_THAT(fs_->writes_to(leaf("cgroup.freeze")), ElementsAre("1"));
  ASSERT_TRUE(m->thaw().has_value());
  EXPECT_FALSE(*m->is_frozen());
}

TEST_F(CgroupV2Test, StatsReadTheV2Files) {
  auto m = manager();
  ASSERT_TRUE(m->create(nullptr).has_value());
  fs_->set_content(leaf("memory.current"), "1234\n");
  fs_->set_content(leaf("cpu.stat"), "usage_usec 5\nuser_usec 3\nsystem_usec 2\n");
  fs_->set_content(leaf("pids.current"), "2\n");
  fs_->set_content(leaf("memory.events"), "low 0\nhigh 0\nmax 4\noom 3\noom_kill 3\n");
  auto s = m->stats();
  ASSERT_TRUE(s.has_value()) << s.error().what();
  EXPECT_EQ(s->memory_usage, 1234u);
  EXPECT_EQ(s->memory_limit, UINT64_MAX);
  EXPECT_EQ(s->cpu_usage_ns, 5000u);
  EXPECT_EQ(s->pids_current, 2u);
  EXPECT_EQ(s->oom_kills, 3u);
}

TEST_F(CgroupV2Test, UpdateOfMissingCgroupIsNotFound) {
  oci::Resources r;
  r.pids = oci::Pids{5};
  auto updated = manager()->update(r);
  ASSERT_FALSE(updated.has_value());
  EXPECT_EQ(updated.error().code(), ErrorCode::NotFound);
}

}  // namespace
}  // namespace berth::runtime
