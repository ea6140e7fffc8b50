#include "runtime/rootfs_plan.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "base/fs.h"

namespace berth::runtime {
namespace {

constexpr const char* kHybridMountinfo =
    "26 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
    "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
    "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
    "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n";

constexpr const char* kV2Mountinfo =
    "26 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
    "30 22 0:27 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate\n";

// A bundle directory with rootfs/ and the fixture files the plan may read.
class RootfsPlanTest : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-plan-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    bundle_ = tmpl;
    ASSERT_TRUE(make_dirs(bundle_ + "/rootfs").has_value());
    ASSERT_TRUE(write_file(bundle_ + "/hybrid", kHybridMountinfo).has_value());
    ASSERT_TRUE(write_file(bundle_ + "/v2", kV2Mountinfo).has_value());
    opts_.host_mountinfo_path = bundle_ + "/hybrid";
    opts_.self_cgroup_path = bundle_ + "/self-cgroup";
  }
  void TearDown() override { (void)remove_all(bundle_); }

  // The mounts, masked and readonly paths of `runc spec`.
  oci::Spec runc_spec() const {
    oci::Spec s;
    s.root = oci::Root{"rootfs", true};
    s.process.emplace();
    s.process->cwd = "/";
    s.mounts = {
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
    s.linux.emplace();
    s.linux->namespaces = {{oci::NamespaceType::Pid, ""},   {oci::NamespaceType::Network, ""},
                           {oci::NamespaceType::Ipc, ""},   {oci::NamespaceType::Uts, ""},
                           {oci::NamespaceType::Mount, ""}, {oci::NamespaceType::Cgroup, ""}};
    s.linux->masked_paths = {"/proc/acpi",        "/proc/asound",        "/proc/kcore",
                             "/proc/keys",        "/proc/latency_stats", "/proc/timer_list",
                             "/proc/timer_stats", "/proc/sched_debug",   "/sys/firmware",
                             "/proc/scsi"};
    s.linux->readonly_paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                               "/proc/sysrq-trigger"};
    return s;
  }

  std::string error_of(const oci::Spec& spec) {
    auto r = plan_rootfs(spec, bundle_, opts_);
    return r.has_value() ? "<no error>" : r.error().what();
  }

  std::string bundle_;
  PlanOptions opts_;
};

TEST_F(RootfsPlanTest, RuncDefaultSpec) {
  auto r = plan_rootfs(runc_spec(), bundle_, opts_);
  ASSERT_TRUE(r.has_value()) << r.error().what();
  const RootfsPlan& p = *r;
  char real[PATH_MAX];
  ASSERT_NE(::realpath((bundle_ + "/rootfs").c_str(), real), nullptr);
  EXPECT_EQ(p.rootfs, real);
  EXPECT_TRUE(p.readonly);
  EXPECT_EQ(p.root_propagation, static_cast<unsigned long>(MS_REC | MS_SLAVE));
  EXPECT_EQ(p.post_pivot_propagation, 0u);
  EXPECT_EQ(p.rootfs_parent_mount, "/");
  ASSERT_EQ(p.mounts.size(), 7u);

  const MountStep& proc = p.mounts[0];
  EXPECT_EQ(proc.kind, MountKind::Fs);
  EXPECT_EQ(proc.destination, "/proc");
  EXPECT_EQ(proc.dest_parent, "/");
  EXPECT_EQ(proc.dest_name, "proc");
  EXPECT_EQ(proc.fstype, "proc");
  EXPECT_EQ(proc.flags, 0u);

  const MountStep& dev = p.mounts[1];
  EXPECT_EQ(dev.flags, static_cast<unsigned long>(MS_NOSUID | MS_STRICTATIME));
  EXPECT_EQ(dev.data, "mode=755,size=65536k");
  EXPECT_FALSE(dev.deferred_readonly);

  const MountStep& sys = p.mounts[5];
  EXPECT_EQ(sys.kind, MountKind::Fs);
  EXPECT_EQ(sys.flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY));
  EXPECT_FALSE(sys.deferred_readonly);

  // Hybrid host with a cgroup namespace: a tmpfs, made ro at the end, with a fresh mount
  // of each hierarchy and links for the combined one.
  const MountStep& cg = p.mounts[6];
  EXPECT_EQ(cg.kind, MountKind::Cgroup1);
  EXPECT_EQ(cg.fstype, "tmpfs");
  EXPECT_TRUE(cg.deferred_readonly);
  EXPECT_EQ(cg.flags & MS_RDONLY, 0u);
  ASSERT_EQ(cg.cgroup_subs.size(), 4u);
  EXPECT_EQ(cg.cgroup_subs[0].destination, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(cg.cgroup_subs[0].fstype, "cgroup");
  EXPECT_EQ(cg.cgroup_subs[0].data, "cpu,cpuacct");
  EXPECT_EQ(cg.cgroup_subs[2].data, "name=systemd");
  EXPECT_EQ(cg.cgroup_subs[3].fstype, "cgroup2");
  EXPECT_EQ(cg.cgroup_subs[3].data, "");
  EXPECT_EQ(cg.cgroup_link_names, (std::vector<std::string>{"cpu", "cpuacct"}));
  EXPECT_EQ(cg.cgroup_link_targets, (std::vector<std::string>{"cpu,cpuacct", "cpu,cpuacct"}));

  EXPECT_TRUE(p.setup_dev);
  EXPECT_FALSE(p.devices_by_bind);
  ASSERT_EQ(p.devices.size(), 6u);
  EXPECT_EQ(p.devices[0].path, "/dev/null");
  EXPECT_EQ(p.devices[0].type, static_cast<mode_t>(S_IFCHR));
  EXPECT_EQ(p.devices[0].major, 1u);
  EXPECT_EQ(p.devices[0].minor, 3u);
  EXPECT_EQ(p.devices[0].mode, 0666u);
  EXPECT_EQ(p.devices[5].path, "/dev/tty");
  EXPECT_EQ(p.devices[5].major, 5u);
  EXPECT_EQ(p.dev_core_symlink, ::access("/proc/kcore", F_OK) == 0);
  EXPECT_EQ(p.masked_paths.size(), 10u);
  EXPECT_EQ(p.readonly_paths.back(), "/proc/sysrq-trigger");
  EXPECT_EQ(p.cwd, "/");
}

TEST_F(RootfsPlanTest, CgroupWithoutNamespaceBindsOwnCgroup) {
  oci::Spec spec = runc_spec();
  std::erase_if(spec.linux->namespaces,
                [](const oci::Namespace& n) { return n.type == oci::NamespaceType::Cgroup; });
  auto r = plan_rootfs(spec, bundle_, opts_);
  ASSERT_TRUE(r.has_value()) << r.error().what();
  const MountStep& cg = r->mounts[6];
  ASSERT_EQ(cg.cgroup_subs.size(), 4u);
  EXPECT_EQ(cg.cgroup_subs[1].fstype, "");
  EXPECT_EQ(cg.cgroup_subs[1].source, "/sys/fs/cgroup/memory");
  EXPECT_EQ(cg.cgroup_subs[1].controllers, "memory");
  EXPECT_EQ(cg.cgroup_subs[1].mount_root, "/");
  EXPECT_EQ(cg.remount_flags,
            static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY));
  EXPECT_EQ(r->self_cgroup_path, opts_.self_cgroup_path);
}

TEST_F(RootfsPlanTest, CgroupOnPureV2Host) {
  opts_.host_mountinfo_path = bundle_ + "/v2";
  auto r = plan_rootfs(runc_spec(), bundle_, opts_);
  ASSERT_TRUE(r.has_value()) << r.error().what();
  const MountStep& cg = r->mounts[6];
  EXPECT_EQ(cg.kind, MountKind::Cgroup2);
  EXPECT_EQ(cg.fstype, "cgroup2");
  EXPECT_EQ(cg.cgroup_fallback_source, "/sys/fs/cgroup");
  EXPECT_TRUE(cg.flags & MS_RDONLY);
}

TEST_F(RootfsPlanTest, MissingRootfs) {
  oci::Spec spec = runc_spec();
  spec.root->path = "nope";
  EXPECT_EQ(error_of(spec), "root.path: " + bundle_ + "/nope: no such directory");
  spec.root.reset();
  EXPECT_EQ(error_of(spec), "root: missing");
}

TEST_F(RootfsPlanTest, BadPropagationOption) {
  oci::Spec spec = runc_spec();
  spec.mounts.push_back({"/data", "bind", bundle_, {"rbind", "rshard"}, {}, {}});
  EXPECT_NE(error_of(spec).find("mounts[7].options: unknown propagation \"rshard\""),
            std::string::npos)
      << error_of(spec);
  spec.mounts.pop_back();
  spec.linux->rootfs_propagation = "rshard";
  EXPECT_NE(error_of(spec).find("linux.rootfsPropagation: unknown propagation \"rshard\""),
            std::string::npos);
}

TEST_F(RootfsPlanTest, BindSourceMissing) {
  oci::Spec spec = runc_spec();
  spec.mounts.push_back({"/data", "bind", "/nope", {"rbind"}, {}, {}});
  auto r = plan_rootfs(spec, bundle_, opts_);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().what(), "mounts[7].source: /nope: No such file or directory");
  EXPECT_EQ(r.error().code(), ErrorCode::NotFound);
}

TEST_F(RootfsPlanTest, BindOfRelativeFileSourceWithRo) {
  ASSERT_TRUE(write_file(bundle_ + "/resolv.conf", "nameserver 127.0.0.1\n").has_value());
  oci::Spec spec = runc_spec();
  spec.mounts.push_back(
      {"/etc/resolv.conf", "", "resolv.conf", {"rbind", "ro", "nosuid", "rprivate"}, {}, {}});
  auto r = plan_rootfs(spec, bundle_, opts_);
  ASSERT_TRUE(r.has_value()) << r.error().what();
  const MountStep& b = r->mounts.back();
  EXPECT_EQ(b.kind, MountKind::Bind);
  EXPECT_EQ(b.source, bundle_ + "/resolv.conf");
  EXPECT_TRUE(b.target_is_file);
  EXPECT_EQ(b.flags, static_cast<unsigned long>(MS_BIND | MS_REC));
  EXPECT_TRUE(b.remount);
  EXPECT_EQ(b.remount_flags, static_cast<unsigned long>(MS_RDONLY | MS_NOSUID));
  EXPECT_EQ(b.keep_flags, static_cast<unsigned long>(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC));
  EXPECT_EQ(b.propagations, (std::vector<unsigned long>{MS_PRIVATE | MS_REC}));
}

TEST_F(RootfsPlanTest, ExplicitlyClearedFlagsAreNotKeptFromTheSource) {
  oci::Spec spec = runc_spec();
  spec.mounts.push_back({"/data", "bind", bundle_, {"rbind", "nosuid", "rw", "exec"}, {}, {}});
  auto r = plan_rootfs(spec, bundle_, opts_);
  ASSERT_TRUE(r.has_value()) << r.error().what();
  EXPECT_EQ(r->mounts.back().keep_flags, static_cast<unsigned long>(MS_NOSUID | MS_NODEV));
}

TEST_F(RootfsPlanTest, DestinationChecks) {
  oci::Spec spec = runc_spec();
  spec.mounts.push_back({"/../../etc", "tmpfs", "tmpfs", {}, {}, {}});
  EXPECT_NE(error_of(spec).find("mounts[7].destination: \"/../../etc\" climbs above the root"),
            std::string::npos)
      << error_of(spec);
  spec.mounts.back().destination = "/";
  EXPECT_NE(error_of(spec).find("mounts[7].destination: cannot mount over"), std::string::npos);
  spec.mounts.back().destination = "";
  EXPECT_EQ(error_of(spec), "mounts[7].destination: empty");
  // Relative destinations are taken from "/" (runc compatibility).
  spec.mounts.back().destination = "run//./x/";
  auto r = plan_rootfs(spec, bundle_, opts_);
  ASSERT_TRUE(r.has_value()) << r.error().what();
  EXPECT_EQ(r->mounts.back().destination, "/run/x");
  EXPECT_EQ(r->mounts.back().dest_parent, "/run");
}

TEST_F(RootfsPlanTest, EmptyTypeOfNonBind) {
  oci::Spec spec = runc_spec();
  spec.mounts.push_back({"/x", "", "", {"ro"}, {}, {}});
  EXPECT_EQ(error_of(spec), "mounts[7].type: empty (and not a bind mount)");
}

TEST_F(RootfsPlanTest, DevBindMeansNoDeviceSetup) {
  oci::Spec spec = runc_spec();
  spec.mounts[1] = {"/dev", "bind", "/dev", {"rbind"}, {}, {}};
  auto r = plan_rootfs(spec, bundle_, opts_);
  ASSERT_TRUE(r.has_value()) << r.error().what();
  EXPECT_FALSE(r->setup_dev);
  EXPECT_TRUE(r->devices.empty());
}

TEST_F(RootfsPlanTest, ReadonlyTmpfsAndDevAreDeferred) {
  oci::Spec spec = runc_spec();
  spec.mounts[1].options.push_back("ro");
  spec.mounts.push_back({"/tmp", "tmpfs", "tmpfs", {"ro", "tmpcopyup", "size=1m"}, {}, {}});
  auto r = plan_rootfs(spec, bundle_, opts_);
  ASSERT_TRUE(r.has_value()) << r.error().what();
  EXPECT_TRUE(r->mounts[1].deferred_readonly);
  EXPECT_EQ(r->mounts[1].flags & MS_RDONLY, 0u);
  EXPECT_TRUE(r->mounts.back().deferred_readonly);
  EXPECT_TRUE(r->mounts.back().tmpcopyup);
  EXPECT_TRUE(r->mounts.back().tmpcopyup_root_attrs);
}

TEST_F(RootfsPlanTest, ExtraDevices) {
  oci::Spec spec = runc_spec();
  oci::Device fuse{"/dev/fuse", "c", 10, 229, 0600u, 0u, 0u};
  oci::Device null{"/dev/null", "c", 1, 3, 0640u, std::nullopt, 5u};
  oci::Device fifo{"/dev/ctl/fifo", "p", 0, 0, std::nullopt, std::nullopt, std::nullopt};
  spec.linux->devices = {fuse, null, fifo};
  auto r = plan_rootfs(spec, bundle_, opts_);
  ASSERT_TRUE(r.has_value()) << r.error().what();
  ASSERT_EQ(r->devices.size(), 8u);  // null replaced, fuse and fifo added
  const DeviceNode& n = r->devices[5];
  EXPECT_EQ(n.path, "/dev/fuse");
  EXPECT_EQ(n.mode, 0600u);
  EXPECT_EQ(n.field, "linux.devices[0]");
  EXPECT_EQ(r->devices[6].path, "/dev/null");
  EXPECT_EQ(r->devices[6].gid, 5u);
  EXPECT_EQ(r->devices[7].type, static_cast<mode_t>(S_IFIFO));
  EXPECT_EQ(r->devices[7].parent, "/dev/ctl");
  EXPECT_EQ(r->devices[7].name, "fifo");
}

TEST_F(RootfsPlanTest, DeviceValidation) {
  oci::Spec spec = runc_spec();
  spec.linux->devices = {{"/dev/x", "q", 1, 1, {}, {}, {}}};
  EXPECT_NE(error_of(spec).find("linux.devices[0].type: unknown type \"q\""), std::string::npos)
      << error_of(spec);
  spec.linux->devices = {{"dev/x", "c", 1, 1, {}, {}, {}}};
  EXPECT_NE(error_of(spec).find("linux.devices[0].path: \"dev/x\" is not an absolute path"),
            std::string::npos);
  spec.linux->devices = {{"/dev/x", "c", 5000, 1, {}, {}, {}}};
  EXPECT_NE(error_of(spec).find("linux.devices[0].major: 5000 out of range"), std::string::npos);
  spec.linux->devices = {{"/dev/x", "c", 1, 1, {}, {}, {}}, {"/dev//x", "b", 8, 0, {}, {}, {}}};
  EXPECT_NE(
      error_of(spec).find("linux.devices[1].path: /dev/x is already listed in linux.devices[0]"),
      std::string::npos)
      << error_of(spec);
}

TEST_F(RootfsPlanTest, UserNamespaceWithoutNetworkNamespace) {
  opts_.in_user_namespace = true;
  opts_.new_network_namespace = false;
  oci::Spec spec = runc_spec();
  std::erase_if(spec.linux->namespaces,
                [](const oci::Namespace& n) { return n.type == oci::NamespaceType::Ipc; });
  auto r = plan_rootfs(spec, bundle_, opts_);
  ASSERT_TRUE(r.has_value()) << r.error().what();
  const MountStep& mq = r->mounts[4];
  if (::access("/dev/mqueue", F_OK) == 0) {
    EXPECT_EQ(mq.kind, MountKind::Bind);
    EXPECT_EQ(mq.source, "/dev/mqueue");
  } else {
    EXPECT_EQ(mq.kind, MountKind::Fs);
  }
  const MountStep& sys = r->mounts[5];
  EXPECT_EQ(sys.kind, MountKind::Bind);
  EXPECT_EQ(sys.source, "/sys");
  EXPECT_EQ(sys.flags, static_cast<unsigned long>(MS_BIND | MS_REC));
  EXPECT_EQ(sys.remount_flags,
            static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY));
  EXPECT_TRUE(r->devices_by_bind);
}

TEST_F(RootfsPlanTest, MaskedAndReadonlyPathsMustBeAbsolute) {
  oci::Spec spec = runc_spec();
  spec.linux->masked_paths.push_back("proc/foo");
  EXPECT_EQ(error_of(spec), "linux.maskedPaths[10]: \"proc/foo\" is not an absolute path");
  spec.linux->masked_paths.pop_back();
  spec.linux->readonly_paths.push_back("/proc/../..");
  EXPECT_NE(error_of(spec).find("linux.readonlyPaths[5]: \"/proc/../..\" climbs above the root"),
            std::string::npos);
}

TEST_F(RootfsPlanTest, RootfsPropagation) {
  oci::Spec spec = runc_spec();
  spec.linux->rootfs_propagation = "rshared";
  auto shared = plan_rootfs(spec, bundle_, opts_);
  ASSERT_TRUE(shared.has_value());
  EXPECT_EQ(shared->root_propagation, static_cast<unsigned long>(MS_SHARED | MS_REC));
  EXPECT_EQ(shared->post_pivot_propagation, static_cast<unsigned long>(MS_SHARED | MS_REC));
  spec.linux->rootfs_propagation = "private";
  auto priv = plan_rootfs(spec, bundle_, opts_);
  ASSERT_TRUE(priv.has_value());
  EXPECT_EQ(priv->root_propagation, static_cast<unsigned long>(MS_PRIVATE));
  EXPECT_EQ(priv->post_pivot_propagation, 0u);
}

TEST_F(RootfsPlanTest, ParentMountOfTheRootfs) {
  std::string real = bundle_ + "/rootfs";
  std::string info = std::string(kHybridMountinfo) + "90 26 0:50 / " + bundle_ +
                     " rw - tmpfs tmpfs rw\n91 26 0:51 / " + bundle_ + "2 rw - tmpfs tmpfs rw\n";
  ASSERT_TRUE(write_file(bundle_ + "/custom", info).has_value());
  opts_.host_mountinfo_path = bundle_ + "/custom";
  auto r = plan_rootfs(runc_spec(), bundle_, opts_);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->rootfs_parent_mount, bundle_);
}

TEST_F(RootfsPlanTest, IdmapNeedsMappings) {
  oci::Spec spec = runc_spec();
  spec.mounts.push_back({"/data", "bind", bundle_, {"rbind", "idmap"}, {}, {}});
  EXPECT_NE(
      error_of(spec).find("mounts[7].options: an idmapped mount needs uidMappings and gidMappings"),
      std::string::npos)
      << error_of(spec);
  spec.mounts.back() = {"/data", "tmpfs", "tmpfs", {}, {{0, 100000, 65536}}, {{0, 100000, 65536}}};
  EXPECT_NE(error_of(spec).find(
                "mounts[7].uidMappings: idmapped mounts are only supported for bind mounts"),
            std::string::npos);
}

TEST_F(RootfsPlanTest, IdmappedBindIsPreparedInTheParent) {
  if (::geteuid() != 0) GTEST_SKIP() << "idmapped mounts need root (CAP_SYS_ADMIN)";
  oci::Spec spec = runc_spec();
  spec.mounts.push_back(
      {"/data", "bind", bundle_, {"rbind"}, {{0, 100000, 65536}}, {{0, 100000, 65536}}});
  auto r = plan_rootfs(spec, bundle_, opts_);
  if (!r.has_value() && r.error().sys_errno() == EINVAL) {
    GTEST_SKIP() << "the filesystem of /tmp does not support idmapped mounts: " << r.error().what();
  }
  ASSERT_TRUE(r.has_value()) << r.error().what();
  ASSERT_TRUE(r->mounts.back().idmap_tree);
  EXPECT_GE(r->mounts.back().idmap_tree->get(), 0);
}

}  // namespace
}  // namespace berth::runtime
