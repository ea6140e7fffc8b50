// The contract of CgroupManager, run against every layout (v1, v2, hybrid) over the emulated
// cgroupfs, with real child processes so signals and liveness are real.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>

#include "base/process.h"
#include "runtime/cgroup_fake_fs.h"
#include "runtime/cgroup_manager.h"

namespace berth::runtime {
namespace {

using ::testing::ElementsAre;
using testing::FakeCgroupFs;
using testing::FakeLayout;

struct V1Layout {
  static constexpr FakeLayout kFake = FakeLayout::V1;
  static constexpr CgroupLayout kLayout = CgroupLayout::V1;
  static constexpr const char* kPidsMax = "pids/berth/c1/pids.max";
};
struct V2Layout {
  static constexpr FakeLayout kFake = FakeLayout::V2;
  static constexpr CgroupLayout kLayout = CgroupLayout::V2;
  static constexpr const char* kPidsMax = "berth/c1/pids.max";
};
struct HybridLayout {
  static constexpr FakeLayout kFake = FakeLayout::Hybrid;
  static constexpr CgroupLayout kLayout = CgroupLayout::Hybrid;
  static constexpr const char* kPidsMax = "pids/berth/c1/pids.max";
};

template <class L>
class CgroupConformance : public ::testing::Test {
 protected:
  std::unique_ptr<CgroupManager> manager() {
    auto m = make_cgroup_manager(L::kLayout, fs_->root(), "", "c1", fs_);
    EXPECT_TRUE(m.has_value()) << m.error().what();
    return std::move(*m);
  }
  static ChildProcess sleeper() {
    SpawnOptions opts;
    opts.argv = {"/bin/sleep", "30"};
    auto child = spawn(opts);
    EXPECT_TRUE(child.has_value()) << child.error().what();
    return std::move(*child);
  }
  bool any_path_exists(const CgroupManager& m) const {
    for (auto& p : m.paths()) {
      if (std::filesystem::exists(p)) return true;
    }
    return false;
  }

  std::shared_ptr<FakeCgroupFs> fs_ = std::make_shared<FakeCgroupFs>(L::kFake);
};

using Layouts = ::testing::Types<V1Layout, V2Layout, HybridLayout>;
TYPED_TEST_SUITE(CgroupConformance, Layouts);

TYPED_TEST(CgroupConformance, NothingExistsBeforeCreate) {
  auto m = this->manager();
  EXPECT_FALSE(m->paths().empty());
  EXPECT_FALSE(this->any_path_exists(*m));
  EXPECT_TRUE(this->fs_->writes.empty());
}

TYPED_TEST(CgroupConformance, CreateMakesEveryPathAndDestroyRemovesThem) {
  auto m = this->manager();
  ASSERT_TRUE(m->create(nullptr).has_value());
  for (auto& p : m->paths()) EXPECT_TRUE(std::filesystem::exists(p + "/cgroup.procs")) << p;
  ASSERT_TRUE(m->destroy().has_value());
  EXPECT_FALSE(this->any_path_exists(*m));
  // Missing is fine: destroy twice, and destroy of a cgroup never created.
  EXPECT_TRUE(m->destroy().has_value());
  auto other = make_cgroup_manager(TypeParam::kLayout, this->fs_->root(), "", "never", this->fs_);
  ASSERT_TRUE(other.has_value());
  EXPECT_TRUE((*other)->destroy().has_value());
}

TYPED_TEST(CgroupConformance, CreateAppliesResources) {
  oci::Resources r;
  r.pids = oci::Pids{0};
  auto m = this->manager();
  ASSERT_TRUE(m->create(&r).has_value());
  EXPECT_THAT(this->fs_->writes_to(TypeParam::kPidsMax), ElementsAre("max"));
  r.pids->limit = 64;
  ASSERT_TRUE(m->update(r).has_value());
  EXPECT_EQ(this->fs_->content(TypeParam::kPidsMax), "64");
}

TYPED_TEST(CgroupConformance, FailedCreateLeavesNothing) {
  this->fs_->fail_writes_to(TypeParam::kPidsMax, EINVAL);
  oci::Resources r;
  r.pids = oci::Pids{5};
  auto m = this->manager();
  auto created = m->create(&r);
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.error().sys_errno(), EINVAL);
  EXPECT_FALSE(this->any_path_exists(*m));
}

TYPED_TEST(CgroupConformance, AddedProcessesAreListedSorted) {
  auto m = this->manager();
  ASSERT_TRUE(m->create(nullptr).has_value());
  EXPECT_TRUE(m->pids()->empty());
  auto a = this->sleeper();
  auto b = this->sleeper();
  ASSERT_TRUE(m->add_process(b.pid()).has_value());
  ASSERT_TRUE(m->add_process(a.pid()).has_value());
  auto pids = m->pids();
  ASSERT_TRUE(pids.has_value()) << pids.error().what();
  EXPECT_THAT(*pids, ElementsAre(std::min(a.pid(), b.pid()), std::max(a.pid(), b.pid())));
  EXPECT_FALSE(m->add_process(0).has_value());
}

TYPED_TEST(CgroupConformance, PidsIncludeChildCgroups) {
  auto m = this->manager();
  ASSERT_TRUE(m->create(nullptr).has_value());
  auto a = this->sleeper();
  auto b = this->sleeper();
  ASSERT_TRUE(m->add_process(a.pid()).has_value());
  // A cgroup the container made inside its own (cgroup namespace, systemd in a container).
  for (auto& p : m->paths()) {
    ASSERT_TRUE(this->fs_->make_dir(p + "/inner").has_value());
    ASSERT_TRUE(this->fs_->write(p + "/inner/cgroup.procs", std::to_string(b.pid())).has_value());
  }
  EXPECT_THAT(*m->pids(), ElementsAre(std::min(a.pid(), b.pid()), std::max(a.pid(), b.pid())));
  // destroy removes the inner cgroups first (once their processes are gone).
  ASSERT_TRUE(m->kill_all(SIGKILL).has_value());
  (void)a.wait();
  (void)b.wait();
  ASSERT_TRUE(m->destroy().has_value());
  EXPECT_FALSE(this->any_path_exists(*m));
}

TYPED_TEST(CgroupConformance, FreezeAndThaw) {
  auto m = this->manager();
  ASSERT_TRUE(m->create(nullptr).has_value());
  EXPECT_FALSE(*m->is_frozen());
  ASSERT_TRUE(m->freeze().has_value());
  EXPECT_TRUE(*m->is_frozen());
  ASSERT_TRUE(m->freeze().has_value());  // freezing a frozen cgroup is fine
  ASSERT_TRUE(m->thaw().has_value());
  EXPECT_FALSE(*m->is_frozen());
}

TYPED_TEST(CgroupConformance, KillAllSignalsEveryProcessAndLeavesTheCgroupThawed) {
  auto m = this->manager();
  ASSERT_TRUE(m->create(nullptr).has_value());
  auto a = this->sleeper();
  auto b = this->sleeper();
  ASSERT_TRUE(m->add_process(a.pid()).has_value());
  ASSERT_TRUE(m->add_process(b.pid()).has_value());
  ASSERT_TRUE(m->kill_all(SIGTERM).has_value());
  for (auto* child : {&a, &b}) {
    auto status = child->wait(std::chrono::milliseconds(5000));
    ASSERT_TRUE(status.has_value());
    ASSERT_TRUE(WIFSIGNALED(*status));
    EXPECT_EQ(WTERMSIG(*status), SIGTERM);
  }
  EXPECT_FALSE(*m->is_frozen());
  EXPECT_TRUE(m->pids()->empty());
  ASSERT_TRUE(m->destroy().has_value());
}

TYPED_TEST(CgroupConformance, KillAllWithSigkill) {
  auto m = this->manager();
  ASSERT_TRUE(m->create(nullptr).has_value());
  auto a = this->sleeper();
  ASSERT_TRUE(m->add_process(a.pid()).has_value());
  ASSERT_TRUE(m->kill_all(SIGKILL).has_value());
  auto status = a.wait(std::chrono::milliseconds(5000));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL);
  EXPECT_TRUE(m->kill_all(SIGKILL).has_value());  // nothing left to kill is fine
}

TYPED_TEST(CgroupConformance, ExistingCgroupWithProcessesIsAConflict) {
  auto m = this->manager();
  ASSERT_TRUE(m->create(nullptr).has_value());
  EXPECT_TRUE(m->create(nullptr).has_value());  // existing and empty: reused
  auto a = this->sleeper();
  ASSERT_TRUE(m->add_process(a.pid()).has_value());
  auto again = this->manager()->create(nullptr);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), ErrorCode::Conflict);
  // The refused create removed nothing of the running cgroup.
  for (auto& p : m->paths()) EXPECT_TRUE(std::filesystem::exists(p)) << p;
}

TYPED_TEST(CgroupConformance, DestroyRetriesWhileTheCgroupDrains) {
  auto m = this->manager();
  ASSERT_TRUE(m->create(nullptr).has_value());
  this->fs_->busy_rmdirs = 3;
  ASSERT_TRUE(m->destroy().has_value());
  EXPECT_FALSE(this->any_path_exists(*m));
}

TYPED_TEST(CgroupConformance, DestroyGivesUpOnACgroupThatStaysBusy) {
  auto m = this->manager();
  ASSERT_TRUE(m->create(nullptr).has_value());
  auto a = this->sleeper();
  ASSERT_TRUE(m->add_process(a.pid()).has_value());
  auto destroyed = m->destroy();
  ASSERT_FALSE(destroyed.has_value());
  EXPECT_EQ(destroyed.error().sys_errno(), EBUSY);
  EXPECT_THAT(destroyed.error().what(), ::testing::HasSubstr("rmdir " + this->fs_->root()));
}

TYPED_TEST(CgroupConformance, AManagerMadeLaterDrivesTheSameCgroup) {
  auto m = this->manager();
  ASSERT_TRUE(m->create(nullptr).has_value());
  auto a = this->sleeper();
  ASSERT_TRUE(m->add_process(a.pid()).has_value());
  auto later = this->manager();
  EXPECT_EQ(later->paths(), m->paths());
  EXPECT_THAT(*later->pids(), ElementsAre(a.pid()));
  ASSERT_TRUE(later->freeze().has_value());
  EXPECT_TRUE(*m->is_frozen());
  ASSERT_TRUE(later->thaw().has_value());
}

}  // namespace
}  // namespace berth::runtime
