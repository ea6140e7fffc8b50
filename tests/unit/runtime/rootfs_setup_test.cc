// The child's rootfs steps against RecordingMountOps: paths resolve for real in a temp
// rootfs, the mount calls are recorded. No root needed.
#include "runtime/rootfs_setup.h"

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>

#include "base/fs.h"
#include "runtime/mount_ops.h"

namespace berth::runtime {
namespace {

constexpr const char* kHybridMountinfo =
    "26 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
    "31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
    "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
    "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n";

constexpr const char* kV2Mountinfo =
    "26 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
    "30 22 0:27 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n";

constexpr const char* kSelfCgroup =
    "9:name=systemd:/\n4:memory:/berth/c1\n2:cpuacct,cpu:/berth/c1\n0::/berth/c1\n";

class RootfsSetupTest : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-setup-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    bundle_ = tmpl;
    ASSERT_TRUE(make_dirs(bundle_ + "/rootfs").has_value());
    ASSERT_TRUE(write_file(bundle_ + "/hybrid", kHybridMountinfo).has_value());
    ASSERT_TRUE(write_file(bundle_ + "/v2", kV2Mountinfo).has_value());
    ASSERT_TRUE(write_file(bundle_ + "/self-cgroup", kSelfCgroup).has_value());
    opts_.host_mountinfo_path = bundle_ + "/hybrid";
    opts_.self_cgroup_path = bundle_ + "/self-cgroup";
    char real[PATH_MAX];
    ASSERT_NE(::realpath((bundle_ + "/rootfs").c_str(), real), nullptr);
    root_ = real;
  }
  void TearDown() override { (void)remove_all(bundle_); }

  oci::Spec spec_with(std::vector<oci::Mount> mounts) const {
    oci::Spec s;
    s.root = oci::Root{"rootfs", false};
    s.mounts = std::move(mounts);
    s.linux.emplace();
    s.linux->namespaces = {{oci::NamespaceType::Mount, ""},
                           {oci::NamespaceType::Cgroup, ""},
                           {oci::NamespaceType::Ipc, ""}};
    return s;
  }

  static std::vector<oci::Mount> runc_mounts() {
    return {
        {"/proc", "proc", "proc", {}, {}, {}},
        {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}, {}, {}},
        {"/dev/pts",
         "devpts",
         "devpts",
         {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"},
         {},
         {}},
        {"/dev/shm",
         "tmpfs",
         "shm",
         {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"},
         {},
         {}},
        {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}, {}, {}},
        {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}, {}, {}},
        {"/sys/fs/cgroup",
         "cgroup",
         "cgroup",
         {"nosuid", "noexec", "nodev", "relatime", "ro"},
         {},
         {}},
    };
  }

  RootfsPlan plan(const oci::Spec& spec) {
    auto r = plan_rootfs(spec, bundle_, opts_);
    EXPECT_TRUE(r.has_value()) << r.error().what();
    if (!r.has_value()) return {};
    r->dev_core_symlink = false;  // the host's /proc/kcore must not change the expectations
    return std::move(*r);
  }

  std::string R(std::string_view sub = "") const { return root_ + std::string(sub); }

  std::string bundle_;
  std::string root_;
  PlanOptions opts_;
  ChildError err_;
};

TEST_F(RootfsSetupTest, RuncDefaultMountsSequence) {
  oci::Spec spec = spec_with(runc_mounts());
  RootfsPlan p = plan(spec);
  RecordingMountOps ops;
  ASSERT_EQ(prepare_rootfs(p, ops, &err_), 0) << err_.text;
  std::vector<std::string> want = {
      "mount - / - 0x84000 -",
      fmt::format("mount {0} {0} bind 0x5000 -", R()),
      fmt::format("mount proc {} proc 0x0 -", R("/proc")),
      fmt::format("mount tmpfs {} tmpfs 0x1000002 mode=755,size=65536k", R("/dev")),
      fmt::format("mount devpts {} devpts 0xa newinstance,ptmxmode=0666,mode=0620,gid=5",
                  R("/dev/pts")),
      fmt::format("mount shm {} tmpfs 0xe mode=1777,size=65536k", R("/dev/shm")),
      fmt::format("mount mqueue {} mqueue 0xe -", R("/dev/mqueue")),
      fmt::format("mount sysfs {} sysfs 0xf -", R("/sys")),
      fmt::format("mount tmpfs {} tmpfs 0x20000e mode=755", R("/sys/fs/cgroup")),
      fmt::format("mount cgroup {} cgroup 0x20000f cpu,cpuacct", R("/sys/fs/cgroup/cpu,cpuacct")),
      fmt::format("mount cgroup {} cgroup 0x20000f memory", R("/sys/fs/cgroup/memory")),
      fmt::format("mount cgroup {} cgroup 0x20000f name=systemd", R("/sys/fs/cgroup/systemd")),
      fmt::format("mount cgroup2 {} cgroup2 0x20000f -", R("/sys/fs/cgroup/unified")),
      fmt::format("symlink {} -> cpu,cpuacct", R("/sys/fs/cgroup/cpu")),
      fmt::format("symlink {} -> cpu,cpuacct", R("/sys/fs/cgroup/cpuacct")),
      fmt::format("mknod {} c 1:3 0666 0:0", R("/dev/null")),
      fmt::format("mknod {} c 1:5 0666 0:0", R("/dev/zero")),
      fmt::format("mknod {} c 1:7 0666 0:0", R("/dev/full")),
      fmt::format("mknod {} c 1:8 0666 0:0", R("/dev/random")),
      fmt::format("mknod {} c 1:9 0666 0:0", R("/dev/urandom")),
      fmt::format("mknod {} c 5:0 0666 0:0", R("/dev/tty")),
      fmt::format("unlink {} 0x0", R("/dev/ptmx")),
      fmt::format("symlink {} -> pts/ptmx", R("/dev/ptmx")),
      fmt::format("symlink {} -> /proc/self/fd", R("/dev/fd")),
      fmt::format("symlink {} -> /proc/self/fd/0", R("/dev/stdin")),
      fmt::format("symlink {} -> /proc/self/fd/1", R("/dev/stdout")),
      fmt::format("symlink {} -> /proc/self/fd/2", R("/dev/stderr")),
  };
  EXPECT_EQ(ops.calls, want);
  // Mount points were made for real inside the rootfs.
  struct stat st;
  EXPECT_EQ(::stat(R("/sys/fs/cgroup/memory").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST_F(RootfsSetupTest, DevCoreLinkWhenTheHostHasKcore) {
  RootfsPlan p = plan(spec_with({}));
  p.dev_core_symlink = true;
  RecordingMountOps ops;
  ASSERT_EQ(prepare_rootfs(p, ops, &err_), 0) << err_.text;
  EXPECT_EQ(ops.calls.back(), fmt::format("symlink {} -> /proc/kcore", R("/dev/core")));
}

TEST_F(RootfsSetupTest, ReadonlyBindIsBindThenRemount) {
  ASSERT_TRUE(make_dirs(bundle_ + "/data").has_value());
  RootfsPlan p =
      plan(spec_with({{"/data", "bind", bundle_ + "/data", {"rbind", "ro", "rprivate"}, {}, {}}}));
  RecordingMountOps ops;
  ASSERT_EQ(prepare_rootfs(p, ops, &err_), 0) << err_.text;
  auto mounts = ops.calls_starting_with("mount ");
  ASSERT_GE(mounts.size(), 5u);
  EXPECT_EQ(mounts[2], fmt::format("mount {}/data {} - 0x5000 -", bundle_, R("/data")));
  EXPECT_EQ(mounts[3], fmt::format("mount - {} - 0x1021 -", R("/data")));
  EXPECT_EQ(mounts[4], fmt::format("mount - {} - 0x44000 -", R("/data")));
}

TEST_F(RootfsSetupTest, BindRemountKeepsSourceFlagsAndRetriesLockedOnes) {
  ASSERT_TRUE(make_dirs(bundle_ + "/data").has_value());
  RootfsPlan p = plan(spec_with({{"/data", "bind", bundle_ + "/data", {"rbind", "ro"}, {}, {}}}));
  RecordingMountOps ops;
  ops.statfs_result = ST_NOSUID | ST_NODEV | ST_RELATIME;
  ops.fail_on(" - 0x1027 -", EPERM);
  ASSERT_EQ(prepare_rootfs(p, ops, &err_), 0) << err_.text;
  auto mounts = ops.calls_starting_with("mount - " + R("/data"));
  EXPECT_EQ(mounts, (std::vector<std::string>{fmt::format("mount - {} - 0x1027 -", R("/data")),
                                              fmt::format("mount - {} - 0x201027 -", R("/data"))}));
}

TEST_F(RootfsSetupTest, BindOfAFileCreatesAFileMountPoint) {
  ASSERT_TRUE(write_file(bundle_ + "/hosts", "127.0.0.1 localhost\n").has_value());
  RootfsPlan p = plan(spec_with({{"/etc/hosts", "bind", "hosts", {"bind"}, {}, {}}}));
  RecordingMountOps ops;
  ASSERT_EQ(prepare_rootfs(p, ops, &err_), 0) << err_.text;
  struct stat st;
  ASSERT_EQ(::stat(R("/etc/hosts").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(ops.calls[2], fmt::format("mount {}/hosts {} - 0x1000 -", bundle_, R("/etc/hosts")));
}

TEST_F(RootfsSetupTest, DestinationSymlinkEscapingTheRootfsIsRefused) {
  ASSERT_EQ(::symlink("../../../../etc", R("/evil").c_str()), 0);
  RootfsPlan p = plan(spec_with(
      {{"/tmp", "tmpfs", "tmpfs", {}, {}, {}}, {"/evil/x", "tmpfs", "tmpfs", {}, {}, {}}}));
  RecordingMountOps ops;
  ASSERT_EQ(prepare_rootfs(p, ops, &err_), -1);
  EXPECT_EQ(err_.err, EXDEV);
  EXPECT_NE(std::string(err_.text).find("mounts[1].destination: /evil/x"), std::string::npos)
      << err_.text;
  EXPECT_NE(std::string(err_.text).find("escapes the root"), std::string::npos) << err_.text;
  for (const auto& c : ops.calls) EXPECT_EQ(c.find("/etc"), std::string::npos) << c;
}

TEST_F(RootfsSetupTest, AbsoluteSymlinkStaysInsideTheRootfs) {
  ASSERT_EQ(::symlink("/var/run", R("/run").c_str()), 0);
  RootfsPlan p = plan(spec_with({{"/run", "tmpfs", "tmpfs", {}, {}, {}}}));
  RecordingMountOps ops;
  ASSERT_EQ(prepare_rootfs(p, ops, &err_), 0) << err_.text;
  EXPECT_EQ(ops.calls[2], fmt::format("mount tmpfs {} tmpfs 0x0 -", R("/var/run")));
}

TEST_F(RootfsSetupTest, ProcOnASymlinkIsRefused) {
  ASSERT_TRUE(make_dirs(R("/elsewhere")).has_value());
  ASSERT_EQ(::symlink("elsewhere", R("/proc").c_str()), 0);
  RootfsPlan p = plan(spec_with({{"/proc", "proc", "proc", {}, {}, {}}}));
  RecordingMountOps ops;
  ASSERT_EQ(prepare_rootfs(p, ops, &err_), -1);
  EXPECT_EQ(err_.err, ENOTDIR);
  EXPECT_NE(
      std::string(err_.text).find("mounts[0].destination: proc must be mounted on a directory"),
      std::string::npos)
      << err_.text;
}

TEST_F(RootfsSetupTest, FailedMountNamesTheStep) {
  RootfsPlan p = plan(spec_with(runc_mounts()));
  RecordingMountOps ops;
  ops.fail_on("mount sysfs", EACCES);
  ASSERT_EQ(prepare_rootfs(p, ops, &err_), -1);
  EXPECT_EQ(err_.err, EACCES);
  EXPECT_STREQ(err_.text, "mounts[5]: mount sysfs on /sys");
}

TEST_F(RootfsSetupTest, TmpcopyupCopiesTheCoveredDirectory) {
  ASSERT_TRUE(make_dirs(R("/etc")).has_value());
  RootfsPlan p = plan(spec_with({{"/etc", "tmpfs", "tmpfs", {"tmpcopyup"}, {}, {}}}));
  RecordingMountOps ops;
  ASSERT_EQ(prepare_rootfs(p, ops, &err_), 0) << err_.text;
  EXPECT_EQ(ops.calls[2], fmt::format("mount tmpfs {} tmpfs 0x0 -", R("/etc")));
  EXPECT_EQ(ops.calls[3], fmt::format("copyup {0} {0} +root", R("/etc")));
}

TEST_F(RootfsSetupTest, RecursiveAttributesUseMountSetattr) {
  ASSERT_TRUE(make_dirs(bundle_ + "/data").has_value());
  RootfsPlan p =
      plan(spec_with({{"/data", "bind", bundle_ + "/data", {"rbind", "rro", "rnoatime"}, {}, {}}}));
  RecordingMountOps ops;
  ASSERT_EQ(prepare_rootfs(p, ops, &err_), 0) << err_.text;
  EXPECT_EQ(ops.calls[3], fmt::format("mount_setattr {} 0x8000 set=0x11 clr=0x70", R("/data")));
}

TEST_F(RootfsSetupTest, CgroupV1WithoutNamespaceBindsOwnCgroups) {
  oci::Spec spec = spec_with({runc_mounts()[6]});
  spec.linux->namespaces = {{oci::NamespaceType::Mount, ""}};
  RootfsPlan p = plan(spec);
  RecordingMountOps ops;
  ASSERT_EQ(prepare_rootfs(p, ops, &err_), 0) << err_.text;
  auto binds = ops.calls_starting_with("mount /sys/fs/cgroup");
  EXPECT_EQ(
      binds,
      (std::vector<std::string>{
          fmt::format("mount /sys/fs/cgroup/cpu,cpuacct/berth/c1 {} - 0x5000 -",
                      R("/sys/fs/cgroup/cpu,cpuacct")),
          fmt::format("mount /sys/fs/cgroup/memory/berth/c1 {} - 0x5000 -",
                      R("/sys/fs/cgroup/memory")),
          fmt::format("mount /sys/fs/cgroup/systemd {} - 0x5000 -", R("/sys/fs/cgroup/systemd")),
          fmt::format("mount /sys/fs/cgroup/unified/berth/c1 {} - 0x5000 -",
                      R("/sys/fs/cgroup/unified")),
      }));
  EXPECT_EQ(
      ops.calls_starting_with(fmt::format("mount - {} - 0x20102f -", R("/sys/fs/cgroup/memory")))
          .size(),
      1u);
}

TEST_F(RootfsSetupTest, CgroupV1WithoutOwnCgroupLineFails) {
  ASSERT_TRUE(write_file(bundle_ + "/self-cgroup", "4:memory:/x\n").has_value());
  oci::Spec spec = spec_with({runc_mounts()[6]});
  spec.linux->namespaces = {{oci::NamespaceType::Mount, ""}};
  RootfsPlan p = plan(spec);
  RecordingMountOps ops;
  ASSERT_EQ(prepare_rootfs(p, ops, &err_), -1);
  EXPECT_EQ(err_.err, ENOENT);
  EXPECT_NE(std::string(err_.text).find("find own cgroup \"cpu,cpuacct\""), std::string::npos)
      << err_.text;
}

TEST_F(RootfsSetupTest, CgroupV2FallsBackToBindWhenMountIsRefused) {
  opts_.host_mountinfo_path = bundle_ + "/v2";
  RootfsPlan p = plan(spec_with({runc_mounts()[6]}));
  RecordingMountOps ops;
  ops.fail_on("mount cgroup2", EPERM);
  ASSERT_EQ(prepare_rootfs(p, ops, &err_), 0) << err_.text;
  auto cg = ops.calls_starting_with("mount ");
  ASSERT_EQ(cg.size(), 5u);
  EXPECT_EQ(cg[2], fmt::format("mount cgroup2 {} cgroup2 0x20000f -", R("/sys/fs/cgroup")));
  EXPECT_EQ(cg[3], fmt::format("mount /sys/fs/cgroup/berth/c1 {} - 0x5000 -", R("/sys/fs/cgroup")));
  EXPECT_EQ(cg[4], fmt::format("mount - {} - 0x20102f -", R("/sys/fs/cgroup")));
}

TEST_F(RootfsSetupTest, DevicesByBindInAUserNamespace) {
  opts_.in_user_namespace = true;
  oci::Spec spec = spec_with({});
  spec.linux->devices = {{"/dev/fifo", "p", 0, 0, 0600u, {}, {}}};
  RootfsPlan p = plan(spec);
  RecordingMountOps ops;
  ASSERT_EQ(prepare_rootfs(p, ops, &err_), 0) << err_.text;
  EXPECT_EQ(ops.calls[2], fmt::format("mount /dev/null {} - 0x1000 -", R("/dev/null")));
  EXPECT_EQ(ops.calls[7], fmt::format("mount /dev/tty {} - 0x1000 -", R("/dev/tty")));
  EXPECT_EQ(ops.calls[8], fmt::format("mknod {} p 0:0 0600 0:0", R("/dev/fifo")));
  struct stat st;
  ASSERT_EQ(::stat(R("/dev/null").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));  // the empty file the host's node is bound onto
}

TEST_F(RootfsSetupTest, MknodRefusedFallsBackToBind) {
  RootfsPlan p = plan(spec_with({}));
  RecordingMountOps ops;
  ops.fail_on("/dev/zero c", EPERM);
  ASSERT_EQ(prepare_rootfs(p, ops, &err_), 0) << err_.text;
  EXPECT_EQ(ops.calls[4], fmt::format("mount /dev/zero {} - 0x1000 -", R("/dev/zero")));
}

TEST_F(RootfsSetupTest, PivotRootSequence) {
  RootfsPlan p = plan(spec_with({}));
  RecordingMountOps ops;
  ASSERT_EQ(enter_rootfs(p, ops, &err_), 0) << err_.text;
  EXPECT_EQ(ops.calls,
            (std::vector<std::string>{fmt::format("fchdir {}", R()), "pivot_root . .", "fchdir /",
                                      "mount - . - 0x84000 -", "umount2 . 0x2", "chdir /"}));
}

TEST_F(RootfsSetupTest, NoPivotMovesAndChroots) {
  opts_.no_pivot = true;
  oci::Spec spec = spec_with({});
  spec.linux->rootfs_propagation = "rshared";
  RootfsPlan p = plan(spec);
  RecordingMountOps ops;
  ASSERT_EQ(enter_rootfs(p, ops, &err_), 0) << err_.text;
  EXPECT_EQ(ops.calls, (std::vector<std::string>{fmt::format("chdir {}", R()),
                                                 fmt::format("mount {} / - 0x2000 -", R()),
                                                 "chroot .", "chdir /", "mount - / - 0x104000 -"}));
}

TEST_F(RootfsSetupTest, PivotFailureIsReported) {
  RootfsPlan p = plan(spec_with({}));
  RecordingMountOps ops;
  ops.fail_on("pivot_root", EINVAL);
  ASSERT_EQ(enter_rootfs(p, ops, &err_), -1);
  EXPECT_EQ(err_.err, EINVAL);
  EXPECT_EQ(std::string(err_.text), "pivot_root to " + R());
}

TEST_F(RootfsSetupTest, MaskedAndReadonlyPathsAfterPivot) {
  ASSERT_TRUE(make_dirs(R("/proc/sys")).has_value());
  ASSERT_TRUE(make_dirs(R("/proc/acpi")).has_value());
  ASSERT_TRUE(make_dirs(R("/dev")).has_value());
  ASSERT_TRUE(write_file(R("/proc/kcore"), "").has_value());
  ASSERT_TRUE(write_file(R("/dev/null"), "").has_value());
  oci::Spec spec = spec_with({{"/dev", "tmpfs", "tmpfs", {"nosuid", "ro", "mode=755"}, {}, {}}});
  spec.root->readonly = true;
  spec.linux->readonly_paths = {"/proc/sys", "/proc/bus"};
  spec.linux->masked_paths = {"/proc/kcore", "/proc/acpi", "/sys/firmware"};
  RootfsPlan p = plan(spec);
  RecordingMountOps ops(root_);
  ASSERT_EQ(enter_rootfs(p, ops, &err_), 0) << err_.text;
  ops.calls.clear();
  ASSERT_EQ(finalize_rootfs(p, ops, &err_), 0) << err_.text;
  EXPECT_EQ(ops.calls, (std::vector<std::string>{
                           fmt::format("mount {0} {0} - 0x5000 -", R("/proc/sys")),
                           fmt::format("mount_setattr {} 0x8000 set=0x1 clr=0x0", R("/proc/sys")),
                           fmt::format("mount {} {} - 0x1000 -", R("/dev/null"), R("/proc/kcore")),
                           fmt::format("mount tmpfs {} tmpfs 0xf -", R("/proc/acpi")),
                           fmt::format("mount - {} - 0x1021 -", R("/dev")),
                           "mount - / - 0x1021 -",
                       }));
}

TEST_F(RootfsSetupTest, ReadonlyPathWithoutMountSetattr) {
  ASSERT_TRUE(make_dirs(R("/proc/sys")).has_value());
  oci::Spec spec = spec_with({});
  spec.linux->readonly_paths = {"/proc/sys"};
  RootfsPlan p = plan(spec);
  RecordingMountOps ops(root_);
  ASSERT_EQ(enter_rootfs(p, ops, &err_), 0) << err_.text;
  ops.calls.clear();
  ops.statfs_result = ST_NOSUID | ST_NOEXEC;
  ops.fail_on("mount_setattr", ENOSYS);
  ASSERT_EQ(finalize_rootfs(p, ops, &err_), 0) << err_.text;
  EXPECT_EQ(ops.calls.back(), fmt::format("mount - {} - 0x102b -", R("/proc/sys")));
}

TEST_F(RootfsSetupTest, MaskedFileNeedsDevNull) {
  ASSERT_TRUE(write_file(R("/secret"), "").has_value());
  oci::Spec spec = spec_with({});
  spec.linux->masked_paths = {"/secret"};
  RootfsPlan p = plan(spec);
  RecordingMountOps ops(root_);
  ASSERT_EQ(enter_rootfs(p, ops, &err_), 0) << err_.text;
  ASSERT_EQ(finalize_rootfs(p, ops, &err_), -1);
  EXPECT_EQ(err_.err, ENOENT);
  EXPECT_NE(std::string(err_.text).find("linux.maskedPaths[0]: /dev/null"), std::string::npos)
      << err_.text;
}

}  // namespace
}  // namespace berth::runtime
