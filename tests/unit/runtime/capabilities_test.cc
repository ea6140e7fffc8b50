// Capability names, resolve_capabilities, and the child-side steps applied in forked
// children that read back what the kernel then reports in /proc/self/status.
#include "runtime/capabilities.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>

namespace berth::runtime {
namespace {

constexpr uint64_t bit(int cap) { return uint64_t{1} << cap; }

// What a forked child sends back: the sets it ended with, or the failure of a step.
struct ChildReport {
  int rc = 0;
  ChildError err;
  CapabilitySets after;
};

// Runs body in a forked child; body fills the report, which comes back over a pipe.
template <class F>
ChildReport run_forked(F body) {
  int fds[2];
  ChildReport out;
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    out.rc = -2;
    return out;
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    ChildReport r;
    body(&r);
    ssize_t n = ::write(fds[1], &r, sizeof(r));
    ::_exit(n == static_cast<ssize_t>(sizeof(r)) ? 0 : 1);
  }
  ::close(fds[1]);
  ssize_t n = ::read(fds[0], &out, sizeof(out));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (n != static_cast<ssize_t>(sizeof(out)) || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    out.rc = -3;
    std::snprintf(out.err.text, sizeof(out.err.text), "child failed (status %d)", status);
  }
  return out;
}

// The child steps need root with CAP_SETPCAP (to drop from the bounding set).
bool can_manage_capabilities() {
  auto has = has_effective_capability(CAP_SETPCAP);
  return ::geteuid() == 0 && has && *has;
}

TEST(CapabilitiesTest, NamesRoundTrip) {
  for (int cap = 0; cap <= kLastKnownCapability; ++cap) {
    std::string_view name = capability_name(cap);
    ASSERT_FALSE(name.empty()) << cap;
    EXPECT_EQ(capability_from_name(name), cap) << name;
  }
  EXPECT_EQ(capability_name(0), "CAP_CHOWN");
  EXPECT_EQ(capability_name(CAP_NET_RAW), "CAP_NET_RAW");
  EXPECT_EQ(capability_name(40), "CAP_CHECKPOINT_RESTORE");
  EXPECT_EQ(capability_name(41), "");
  EXPECT_EQ(capability_name(-1), "");
  EXPECT_EQ(capability_from_name("CAP_FOO"), std::nullopt);
  EXPECT_EQ(capability_from_name("cap_chown"), std::nullopt);
  EXPECT_EQ(capability_from_name(""), std::nullopt);
}

TEST(CapabilitiesTest, LastCapabilityIsTheKernels) {
  std::ifstream in("/proc/sys/kernel/cap_last_cap");
  int want = kLastKnownCapability;
  if (in) in >> want;
  EXPECT_EQ(last_capability(), want);
}

TEST(CapabilitiesTest, FormatListsNames) {
  EXPECT_EQ(format_capabilities(0), "");
  EXPECT_EQ(format_capabilities(bit(CAP_CHOWN) | bit(CAP_KILL)), "CAP_CHOWN,CAP_KILL");
  EXPECT_EQ(format_capabilities(bit(CAP_SYS_ADMIN) | bit(50)), "CAP_SYS_ADMIN,50");
}

TEST(CapabilitiesTest, ResolveMapsEverySet) {
  oci::Capabilities caps;
  caps.bounding = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  caps.permitted = {"CAP_CHOWN", "CAP_KILL"};
  caps.effective = {"CAP_CHOWN"};
  caps.inheritable = {"CAP_KILL"};
  caps.ambient = {"CAP_KILL"};
  std::vector<std::string> warnings;
  auto sets = resolve_capabilities(caps, 40, &warnings);
  ASSERT_TRUE(sets.has_value()) << sets.error().what();
  EXPECT_EQ(sets->bounding, bit(CAP_CHOWN) | bit(CAP_KILL) | bit(CAP_NET_BIND_SERVICE));
  EXPECT_EQ(sets->permitted, bit(CAP_CHOWN) | bit(CAP_KILL));
  EXPECT_EQ(sets->effective, bit(CAP_CHOWN));
  EXPECT_EQ(sets->inheritable, bit(CAP_KILL));
  EXPECT_EQ(sets->ambient, bit(CAP_KILL));
  EXPECT_TRUE(warnings.empty());
}

TEST(CapabilitiesTest, UnknownNameIsAnErrorNamingTheField) {
  oci::Capabilities caps;
  caps.bounding = {"CAP_CHOWN", "CAP_KILL", "CAP_FOO"};
  auto sets = resolve_capabilities(caps, nullptr);
  ASSERT_FALSE(sets.has_value());
  EXPECT_EQ(sets.error().what(),
            "process.capabilities.bounding[2]: unknown capability \"CAP_FOO\"");
  EXPECT_EQ(sets.error().code(), ErrorCode::InvalidArgument);
}

TEST(CapabilitiesTest, CapabilitiesAboveTheKernelsAreDroppedWithAWarning) {
  oci::Capabilities caps;
  caps.bounding = {"CAP_CHOWN", "CAP_PERFMON", "CAP_BPF"};
  caps.permitted = {"CAP_BPF"};
  caps.effective = {"CAP_BPF"};
  std::vector<std::string> warnings;
  auto sets = resolve_capabilities(caps, CAP_AUDIT_READ, &warnings);
  ASSERT_TRUE(sets.has_value()) << sets.error().what();
  EXPECT_EQ(sets->bounding, bit(CAP_CHOWN));
  EXPECT_EQ(sets->effective, 0u);
  ASSERT_EQ(warnings.size(), 4u);
  EXPECT_EQ(warnings[0],
            "process.capabilities.bounding[1]: CAP_PERFMON is not supported by the running kernel "
            "(its last capability is 37), ignored");
}

TEST(CapabilitiesTest, RefusesWhatTheKernelWouldRefuse) {
  oci::Capabilities caps;
  caps.permitted = {"CAP_CHOWN"};
  caps.effective = {"CAP_CHOWN", "CAP_KILL"};
  auto sets = resolve_capabilities(caps, 40, nullptr);
  ASSERT_FALSE(sets.has_value());
  EXPECT_EQ(sets.error().what(),
            "process.capabilities.effective[1]: CAP_KILL is not in process.capabilities.permitted, "
            "and the kernel allows no effective capability that is not permitted");

  caps.effective = {"CAP_CHOWN"};
  caps.ambient = {"CAP_CHOWN"};
  // As runc does with its own default spec: an ambient capability that is not inheritable is
  // dropped with a warning, not refused.
  std::vector<std::string> warnings;
  sets = resolve_capabilities(caps, 40, &warnings);
  ASSERT_TRUE(sets.has_value()) << sets.error().what();
  EXPECT_EQ(sets->ambient, 0u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0],
            "process.capabilities.ambient[0]: CAP_CHOWN is not both permitted and inheritable, so "
            "it cannot be ambient; ignored");
}

TEST(CapabilitiesTest, ReadsTheProcessSets) {
  auto self = read_process_capabilities(0);
  ASSERT_TRUE(self.has_value()) << self.error().what();
  auto by_pid = read_process_capabilities(::getpid());
  ASSERT_TRUE(by_pid.has_value()) << by_pid.error().what();
  EXPECT_EQ(self->effective, by_pid->effective);
  EXPECT_EQ(self->bounding, by_pid->bounding);
  auto has_admin = has_effective_capability(CAP_SYS_ADMIN);
  ASSERT_TRUE(has_admin.has_value());
  EXPECT_EQ(*has_admin, (self->effective & bit(CAP_SYS_ADMIN)) != 0);
  EXPECT_FALSE(read_process_capabilities(999999999).has_value());
}

TEST(CapabilitiesTest, AppliesSetsInAChild) {
  if (!can_manage_capabilities()) GTEST_SKIP() << "needs root with CAP_SETPCAP";
  oci::Capabilities caps;
  caps.bounding = caps.permitted = caps.effective = caps.inheritable = {"CAP_CHOWN", "CAP_KILL"};
  caps.ambient = {"CAP_KILL"};
  auto sets = resolve_capabilities(caps, nullptr);
  ASSERT_TRUE(sets.has_value()) << sets.error().what();
  int last = last_capability();
  ChildReport r = run_forked([&](ChildReport* out) {
    out->rc = drop_bounding_set(*sets, last, &out->err);
    if (out->rc == 0) out->rc = apply_capabilities(*sets, last, &out->err);
    if (out->rc != 0) return;
    auto now = read_process_capabilities(0);
    if (!now) {
      out->rc = -4;
      std::snprintf(out->err.text, sizeof(out->err.text), "%s", now.error().what().c_str());
      return;
    }
    out->after = *now;
  });
  ASSERT_EQ(r.rc, 0) << r.err.text << ": " << std::strerror(r.err.err);
  uint64_t want = bit(CAP_CHOWN) | bit(CAP_KILL);
  EXPECT_EQ(r.after.effective, want) << format_capabilities(r.after.effective);
  EXPECT_EQ(r.after.permitted, want) << format_capabilities(r.after.permitted);
  EXPECT_EQ(r.after.inheritable, want) << format_capabilities(r.after.inheritable);
  EXPECT_EQ(r.after.bounding, want) << format_capabilities(r.after.bounding);
  EXPECT_EQ(r.after.ambient, bit(CAP_KILL)) << format_capabilities(r.after.ambient);
}

TEST(CapabilitiesTest, ChildReportsTheStepThatFailed) {
  if (!can_manage_capabilities()) GTEST_SKIP() << "needs root with CAP_SETPCAP";
  int last = last_capability();
  // Once permitted is only CAP_CHOWN, capset cannot get CAP_SYS_ADMIN back.
  ChildReport r = run_forked([&](ChildReport* out) {
    CapabilitySets first{.bounding = ~uint64_t{0},
                         .effective = bit(CAP_CHOWN),
                         .inheritable = 0,
                         .permitted = bit(CAP_CHOWN),
                         .ambient = 0};
    out->rc = apply_capabilities(first, last, &out->err);
    if (out->rc != 0) return;
    CapabilitySets more = first;
    more.permitted |= bit(CAP_SYS_ADMIN);
    out->rc = apply_capabilities(more, last, &out->err);
  });
  EXPECT_EQ(r.rc, -1);
  EXPECT_EQ(r.err.err, EPERM);
  EXPECT_STREQ(r.err.text, "set capabilities (effective 0x1, permitted 0x200001, inheritable 0x0)");

  // An ambient capability that is not inheritable cannot be raised; the error names it.
  r = run_forked([&](ChildReport* out) {
    CapabilitySets s{.bounding = 0,
                     .effective = bit(CAP_KILL),
                     .inheritable = 0,
                     .permitted = bit(CAP_KILL),
                     .ambient = bit(CAP_KILL)};
    out->rc = apply_capabilities(s, last, &out->err);
  });
  EXPECT_EQ(r.rc, -1);
  EXPECT_EQ(r.err.err, EPERM);
  EXPECT_STREQ(r.err.text, "raise ambient capability CAP_KILL (5)");
}

}  // namespace
}  // namespace berth::runtime
