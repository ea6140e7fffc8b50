#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "oci/runtime_spec.h"

namespace berth::oci {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Not;

const Mount* find_mount(const Spec& s, std::string_view dest) {
  for (const auto& m : s.mounts) {
    if (m.destination == dest) return &m;
  }
  return nullptr;
}

std::vector<NamespaceType> namespace_types(const Spec& s) {
  std::vector<NamespaceType> out;
  for (const auto& ns : s.linux->namespaces) out.push_back(ns.type);
  return out;
}

TEST(DefaultSpec, PassesValidation) {
  for (bool rootless : {false, true}) {
    auto r = validate_spec(default_spec(rootless));
    EXPECT_TRUE(r.has_value()) << "rootless=" << rootless << ": " << r.error().what();
  }
}

TEST(DefaultSpec, MatchesRuncSpec) {
  Spec s = default_spec(false);
  EXPECT_EQ(s.oci_version, kSpecVersion);
  ASSERT_TRUE(s.process.has_value());
  const Process& p = *s.process;
  EXPECT_TRUE(p.terminal);
  EXPECT_EQ(p.user.uid, 0u);
  EXPECT_THAT(p.args, ElementsAre("sh"));
  EXPECT_THAT(p.env,
              ElementsAre("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                          "TERM=xterm"));
  EXPECT_EQ(p.cwd, "/");
  ASSERT_TRUE(p.capabilities.has_value());
  EXPECT_THAT(p.capabilities->bounding,
              ElementsAre("CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"));
  EXPECT_EQ(p.capabilities->effective, p.capabilities->bounding);
  EXPECT_EQ(p.capabilities->permitted, p.capabilities->bounding);
  EXPECT_TRUE(p.capabilities->inheritable.empty());
  ASSERT_EQ(p.rlimits.size(), 1u);
  EXPECT_EQ(p.rlimits[0], (Rlimit{"RLIMIT_NOFILE", 1024, 1024}));
  EXPECT_TRUE(p.no_new_privileges);
  EXPECT_EQ(s.root, (Root{"rootfs", true}));
  EXPECT_EQ(s.hostname, "berth");

  ASSERT_EQ(s.mounts.size(), 7u);
  EXPECT_EQ(s.mounts[0], (Mount{"/proc", "proc", "proc", {}, {}, {}}));
  EXPECT_THAT(find_mount(s, "/dev")->options,
              ElementsAre("nosuid", "strictatime", "mode=755", "size=65536k"));
  EXPECT_THAT(
      find_mount(s, "/dev/pts")->options,
      ElementsAre("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"));
  EXPECT_EQ(find_mount(s, "/dev/shm")->source, "shm");
  EXPECT_THAT(find_mount(s, "/dev/shm")->options,
              ElementsAre("nosuid", "noexec", "nodev", "mode=1777", "size=65536k"));
  EXPECT_EQ(find_mount(s, "/dev/mqueue")->type, "mqueue");
  EXPECT_EQ(find_mount(s, "/sys")->type, "sysfs");
  EXPECT_THAT(find_mount(s, "/sys")->options, ElementsAre("nosuid", "noexec", "nodev", "ro"));
  EXPECT_THAT(find_mount(s, "/sys/fs/cgroup")->options,
              ElementsAre("nosuid", "noexec", "nodev", "relatime", "ro"));

  ASSERT_TRUE(s.linux.has_value());
  EXPECT_THAT(namespace_types(s),
              ElementsAre(NamespaceType::Pid, NamespaceType::Network, NamespaceType::Ipc,
                          NamespaceType::Uts, NamespaceType::Mount, NamespaceType::Cgroup));
  ASSERT_TRUE(s.linux->resources.has_value());
  ASSERT_EQ(s.linux->resources->devices.size(), 1u);
  EXPECT_FALSE(s.linux->resources->devices[0].allow);
  EXPECT_EQ(s.linux->resources->devices[0].access, "rwm");
  EXPECT_THAT(s.linux->masked_paths,
              ElementsAre("/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                          "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                          "/proc/sched_debug", "/sys/firmware", "/proc/scsi"));
  EXPECT_THAT(s.linux->readonly_paths, ElementsAre("/proc/bus", "/proc/fs", "/proc/irq",
                                                   "/proc/sys", "/proc/sysrq-trigger"));
  EXPECT_TRUE(s.linux->uid_mappings.empty());
}

TEST(DefaultSpec, Rootless) {
  Spec s = default_spec(true);
  EXPECT_THAT(namespace_types(s),
              ElementsAre(NamespaceType::Pid, NamespaceType::Ipc, NamespaceType::Uts,
                          NamespaceType::Mount, NamespaceType::Cgroup, NamespaceType::User));
  EXPECT_THAT(s.linux->uid_mappings,
              ElementsAre(IdMapping{0, static_cast<uint32_t>(::geteuid()), 1}));
  EXPECT_THAT(s.linux->gid_mappings,
              ElementsAre(IdMapping{0, static_cast<uint32_t>(::getegid()), 1}));
  EXPECT_FALSE(s.linux->resources.has_value());
  const Mount* sys = find_mount(s, "/sys");
  ASSERT_NE(sys, nullptr);
  EXPECT_EQ(*sys,
            (Mount{"/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"}, {}, {}}));
  EXPECT_THAT(find_mount(s, "/dev/pts")->options, Not(Contains("gid=5")));
  EXPECT_EQ(s.mounts.size(), default_spec(false).mounts.size());
}

TEST(DefaultSpec, RoundTripsThroughJson) {
  for (bool rootless : {false, true}) {
    Spec s = default_spec(rootless);
    auto back = parse_spec(spec_to_json(s));
    ASSERT_TRUE(back.has_value()) << back.error().what();
    EXPECT_EQ(*back, s);
  }
}

}  // namespace
}  // namespace berth::oci
