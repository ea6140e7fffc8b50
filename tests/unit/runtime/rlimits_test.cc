// resolve_rlimits refuses what setrlimit would refuse the child; apply_rlimits runs in a
// forked child that reads its limits back.
#include "runtime/rlimits.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "runtime/capabilities.h"

namespace berth::runtime {
namespace {

oci::Rlimit limit(std::string type, uint64_t soft, uint64_t hard) {
  oci::Rlimit r;
  r.type = std::move(type);
  r.soft = soft;
  r.hard = hard;
  return r;
}

std::string resolve_error(const std::vector<oci::Rlimit>& limits) {
  auto r = resolve_rlimits(limits);
  return r ? "(resolved)" : r.error().what();
}

rlimit current(int resource) {
  rlimit r{};
  ::getrlimit(resource, &r);
  return r;
}

// What a forked child reports: the failure of apply_rlimits, and the limits it ended with.
struct ChildReport {
  int rc = 0;
  ChildError err;
  rlimit nofile{}, core{};
};

template <class F>
ChildReport run_forked(F body) {
  ChildReport out;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    out.rc = -2;
    return out;
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    ChildReport r;
    body(&r);
    ::getrlimit(RLIMIT_NOFILE, &r.nofile);
    ::getrlimit(RLIMIT_CORE, &r.core);
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
  }
  return out;
}

bool can_raise_hard_limits() {
  auto has = has_effective_capability(CAP_SYS_RESOURCE);
  return has && *has;
}

TEST(RlimitsTest, NamesRoundTrip) {
  for (const char* name :
       {"RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_LOCKS",
        "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE", "RLIMIT_NPROC",
        "RLIMIT_RSS", "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK"}) {
    auto resource = rlimit_from_name(name);
    ASSERT_TRUE(resource.has_value()) << name;
    EXPECT_STREQ(rlimit_name(*resource), name);
  }
  EXPECT_EQ(rlimit_from_name("RLIMIT_NOFILE"), RLIMIT_NOFILE);
  EXPECT_EQ(rlimit_from_name("RLIMIT_FOO"), std::nullopt);
  EXPECT_STREQ(rlimit_name(1000), "");
}

TEST(RlimitsTest, HardLimitAboveTheCallersIsRefused) {
  rlimit now = current(RLIMIT_NOFILE);
  if (now.rlim_max == RLIM_INFINITY || can_raise_hard_limits()) {
    GTEST_SKIP() << "this process may raise its hard RLIMIT_NOFILE (CAP_SYS_RESOURCE)";
  }
  uint64_t want = std::max<uint64_t>(1048576, now.rlim_max + 1);
  auto r = resolve_rlimits({limit("RLIMIT_NOFILE", 1024, want)});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().what(),
            fmt::format("process.rlimits[0]: RLIMIT_NOFILE hard limit {} is above this process's "
                        "hard limit {}, and raising it needs CAP_SYS_RESOURCE",
                        want, now.rlim_max));
  EXPECT_EQ(r.error().code(), ErrorCode::PermissionDenied);

  // The soft limit alone above the hard limit of the process is refused too (soft <= hard).
  r = resolve_rlimits({limit("RLIMIT_NOFILE", now.rlim_max + 1, now.rlim_max)});
  ASSERT_FALSE(r.has_value());
}

TEST(RlimitsTest, InvalidEntriesNameTheField) {
  EXPECT_EQ(resolve_error({limit("RLIMIT_CORE", 0, 0), limit("RLIMIT_FOO", 1, 1)}),
            "process.rlimits[1].type: unknown rlimit \"RLIMIT_FOO\"");
  EXPECT_EQ(resolve_error({limit("RLIMIT_CORE", 0, 0), limit("RLIMIT_CORE", 0, 0)}),
            "process.rlimits[1].type: RLIMIT_CORE is already set by process.rlimits[0]");
  EXPECT_EQ(resolve_error({limit("RLIMIT_NOFILE", 200, 100)}),
            "process.rlimits[0]: RLIMIT_NOFILE soft limit 200 is above its hard limit 100");
  EXPECT_EQ(resolve_error({limit("RLIMIT_CORE", RLIM_INFINITY, 0)}),
            "process.rlimits[0]: RLIMIT_CORE soft limit unlimited is above its hard limit 0");
}

TEST(RlimitsTest, LimitsWithinTheCallersResolve) {
  rlimit nofile = current(RLIMIT_NOFILE);
  rlimit core = current(RLIMIT_CORE);
  auto r =
      resolve_rlimits({limit("RLIMIT_NOFILE", 100, 200), limit("RLIMIT_CORE", 0, core.rlim_max)});
  ASSERT_TRUE(r.has_value()) << r.error().what();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].resource, RLIMIT_NOFILE);
  EXPECT_EQ((*r)[0].limit.rlim_cur, 100u);
  EXPECT_EQ((*r)[0].limit.rlim_max, 200u);
  EXPECT_EQ((*r)[1].resource, RLIMIT_CORE);
  EXPECT_EQ((*r)[1].limit.rlim_max, core.rlim_max);
  // Exactly the caller's hard limit is fine.
  auto same = resolve_rlimits({limit("RLIMIT_NOFILE", nofile.rlim_max, nofile.rlim_max)});
  EXPECT_TRUE(same.has_value()) << same.error().what();
}

TEST(RlimitsTest, AppliesInAChild) {
  auto resolved = resolve_rlimits({limit("RLIMIT_NOFILE", 100, 200), limit("RLIMIT_CORE", 0, 0)});
  ASSERT_TRUE(resolved.has_value()) << resolved.error().what();
  ChildReport r = run_forked([&](ChildReport* out) {
    out->rc = apply_rlimits(resolved->data(), resolved->size(), &out->err);
  });
  ASSERT_EQ(r.rc, 0) << r.err.text << ": " << std::strerror(r.err.err);
  EXPECT_EQ(r.nofile.rlim_cur, 100u);
  EXPECT_EQ(r.nofile.rlim_max, 200u);
  EXPECT_EQ(r.core.rlim_cur, 0u);
  EXPECT_EQ(r.core.rlim_max, 0u);
}

TEST(RlimitsTest, ChildReportsAFailedSetrlimit) {
  if (can_raise_hard_limits()) GTEST_SKIP() << "CAP_SYS_RESOURCE lets the child raise limits";
  ResolvedRlimit lower{RLIMIT_NOFILE, {100, 200}};
  ResolvedRlimit raise{RLIMIT_NOFILE, {300, 300}};
  ChildReport r = run_forked([&](ChildReport* out) {
    out->rc = apply_rlimits(&lower, 1, &out->err);
    if (out->rc == 0) out->rc = apply_rlimits(&raise, 1, &out->err);
  });
  EXPECT_EQ(r.rc, -1);
  EXPECT_EQ(r.err.err, EPERM);
  EXPECT_STREQ(r.err.text, "set RLIMIT_NOFILE to soft 300 hard 300");
}

}  // namespace
}  // namespace berth::runtime
