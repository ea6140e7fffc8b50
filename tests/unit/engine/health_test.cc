#include "engine/health.h"

#include <gtest/gtest.h>

namespace berth::engine {
namespace {

using namespace std::chrono_literals;
using Argv = std::vector<std::string>;

oci::ImageConfig image_with(std::vector<std::string> test, int64_t interval = 0,
                            int64_t timeout = 0, int64_t start_period = 0, int retries = 0) {
  oci::ImageConfig image;
  oci::HealthConfig h;
  h.test = std::move(test);
  h.interval = interval;
  h.timeout = timeout;
  h.start_period = start_period;
  h.retries = retries;
  image.config.healthcheck = h;
  return image;
}

HealthPlan resolved(const oci::ImageConfig& image, const HealthOptions& flags) {
  auto plan = resolve_healthcheck(image, flags);
  EXPECT_TRUE(plan) << plan.error().what();
  if (!plan || !*plan) {
    ADD_FAILURE() << "no healthcheck resolved";
    return {};
  }
  return **plan;
}

std::string failure(const oci::ImageConfig& image, const HealthOptions& flags) {
  auto plan = resolve_healthcheck(image, flags);
  EXPECT_FALSE(plan);
  if (plan) return "";
  EXPECT_EQ(plan.error().code(), ErrorCode::InvalidArgument);
  return plan.error().what();
}

constexpr int64_t kSecond = 1'000'000'000;

TEST(ResolveHealthcheckTest, NoImageCheckAndNoFlagsIsNone) {
  auto plan = resolve_healthcheck(oci::ImageConfig{}, HealthOptions{});
  ASSERT_TRUE(plan) << plan.error().what();
  EXPECT_FALSE(*plan);
}

TEST(ResolveHealthcheckTest, ImageOnlyFillsDockerDefaults) {
  HealthPlan plan = resolved(image_with({"CMD", "/bin/check", "--quick"}), {});
  EXPECT_EQ(plan.argv, (Argv{"/bin/check", "--quick"}));
  EXPECT_EQ(plan.interval, 30s);
  EXPECT_EQ(plan.timeout, 30s);
  EXPECT_EQ(plan.start_period, 0s);
  EXPECT_EQ(plan.start_interval, 5s);
  EXPECT_EQ(plan.retries, 3);
}

TEST(ResolveHealthcheckTest, ImageValuesAreKept) {
  auto image =
      image_with({"CMD-SHELL", "curl -f localhost"}, 10 * kSecond, 2 * kSecond, 60 * kSecond, 7);
  image.config.healthcheck->start_interval = kSecond;
  HealthPlan plan = resolved(image, {});
  EXPECT_EQ(plan.argv, (Argv{"/bin/sh", "-c", "curl -f localhost"}));
  EXPECT_EQ(plan.interval, 10s);
  EXPECT_EQ(plan.timeout, 2s);
  EXPECT_EQ(plan.start_period, 60s);
  EXPECT_EQ(plan.start_interval, 1s);
  EXPECT_EQ(plan.retries, 7);
}

TEST(ResolveHealthcheckTest, FlagsOnlyRunTheCommandThroughTheShell) {
  HealthOptions flags;
  flags.cmd = "test -f /ready";
  flags.interval = 5 * kSecond;
  flags.retries = 1;
  HealthPlan plan = resolved(oci::ImageConfig{}, flags);
  EXPECT_EQ(plan.argv, (Argv{"/bin/sh", "-c", "test -f /ready"}));
  EXPECT_EQ(plan.interval, 5s);
  EXPECT_EQ(plan.timeout, 30s);
  EXPECT_EQ(plan.retries, 1);
}

TEST(ResolveHealthcheckTest, CmdShellUsesTheImageShell) {
  auto image = image_with({"CMD-SHELL", "check"});
  image.config.shell = {"/bin/bash", "-eo", "pipefail", "-c"};
  EXPECT_EQ(resolved(image, {}).argv, (Argv{"/bin/bash", "-eo", "pipefail", "-c", "check"}));
  // CMD never goes through a shell.
  auto exec_form = image_with({"CMD", "check", "a b"});
  exec_form.config.shell = {"/bin/bash", "-c"};
  EXPECT_EQ(resolved(exec_form, {}).argv, (Argv{"check", "a b"}));
}

TEST(ResolveHealthcheckTest, DurationFlagsWithoutAnyTestGiveNone) {
  HealthOptions flags;
  flags.interval = 5 * kSecond;
  flags.retries = 2;
  auto plan = resolve_healthcheck(oci::ImageConfig{}, flags);
  ASSERT_TRUE(plan) << plan.error().what();
  EXPECT_FALSE(*plan);
}

TEST(ResolveHealthcheckTest, EachSetFlagOverridesOneField) {
  auto image = image_with({"CMD", "/probe"}, 10 * kSecond, 3 * kSecond, 20 * kSecond, 4);
  {
    HealthOptions flags;
    flags.interval = 1 * kSecond;
    HealthPlan plan = resolved(image, flags);
    EXPECT_EQ(plan.argv, (Argv{"/probe"}));
    EXPECT_EQ(plan.interval, 1s);
    EXPECT_EQ(plan.timeout, 3s);
    EXPECT_EQ(plan.start_period, 20s);
    EXPECT_EQ(plan.retries, 4);
  }
  {
    HealthOptions flags;
    flags.timeout = 9 * kSecond;
    HealthPlan plan = resolved(image, flags);
    EXPECT_EQ(plan.interval, 10s);
    EXPECT_EQ(plan.timeout, 9s);
  }
  {
    HealthOptions flags;
    flags.start_period = 2 * kSecond;
    flags.retries = 10;
    HealthPlan plan = resolved(image, flags);
    EXPECT_EQ(plan.start_period, 2s);
    EXPECT_EQ(plan.retries, 10);
    EXPECT_EQ(plan.interval, 10s);
  }
  {
    HealthOptions flags;
    flags.cmd = "true";
    HealthPlan plan = resolved(image, flags);
    EXPECT_EQ(plan.argv, (Argv{"/bin/sh", "-c", "true"}));
    EXPECT_EQ(plan.interval, 10s);
    EXPECT_EQ(plan.retries, 4);
  }
  {
    // Zero is Docker's "unset": the image's value stays.
    HealthOptions flags;
    flags.interval = 0;
    flags.retries = 0;
    HealthPlan plan = resolved(image, flags);
    EXPECT_EQ(plan.interval, 10s);
    EXPECT_EQ(plan.retries, 4);
  }
}

TEST(ResolveHealthcheckTest, NoneInTheImageDisablesButHealthCmdReenables) {
  auto image = image_with({"NONE"}, 10 * kSecond);
  auto plan = resolve_healthcheck(image, {});
  ASSERT_TRUE(plan) << plan.error().what();
  EXPECT_FALSE(*plan);

  HealthOptions flags;
  flags.cmd = "check";
  EXPECT_EQ(resolved(image, flags).argv, (Argv{"/bin/sh", "-c", "check"}));
}

TEST(ResolveHealthcheckTest, EmptyTestInheritsNothing) {
  auto plan = resolve_healthcheck(image_with({}, 10 * kSecond), {});
  ASSERT_TRUE(plan) << plan.error().what();
  EXPECT_FALSE(*plan);
}

TEST(ResolveHealthcheckTest, NoHealthcheckFlagDisables) {
  HealthOptions flags;
  flags.none = true;
  auto plan = resolve_healthcheck(image_with({"CMD", "/probe"}), flags);
  ASSERT_TRUE(plan) << plan.error().what();
  EXPECT_FALSE(*plan);
}

TEST(ResolveHealthcheckTest, NoHealthcheckConflictsWithHealthFlags) {
  HealthOptions flags;
  flags.none = true;
  flags.cmd = "true";
  EXPECT_EQ(failure({}, flags), "--no-healthcheck conflicts with --health-* options");
  flags.cmd.clear();
  flags.retries = 2;
  EXPECT_EQ(failure({}, flags), "--no-healthcheck conflicts with --health-* options");
}

TEST(ResolveHealthcheckTest, BadTestsNameTheField) {
  EXPECT_EQ(failure(image_with({"HTTP", "http://localhost"}), {}),
            "image config Healthcheck.Test: unknown healthcheck type \"HTTP\" (expected CMD, "
            "CMD-SHELL or NONE)");
  EXPECT_EQ(failure(image_with({"CMD"}), {}),
            "image config Healthcheck.Test: CMD needs a command to run");
  EXPECT_EQ(failure(image_with({"CMD", ""}), {}),
            "image config Healthcheck.Test: CMD needs a command to run");
  EXPECT_EQ(failure(image_with({"CMD-SHELL", "  "}), {}),
            "image config Healthcheck.Test: CMD-SHELL needs a command to run");
  EXPECT_EQ(failure(image_with({"CMD-SHELL"}), {}),
            "image config Healthcheck.Test: CMD-SHELL needs a command to run");
}

TEST(ResolveHealthcheckTest, NegativeAndTinyValuesAreRefused) {
  HealthOptions flags;
  flags.cmd = "true";
  flags.interval = -kSecond;
  EXPECT_EQ(failure({}, flags), "--health-interval cannot be negative");
  flags.interval.reset();
  flags.retries = -1;
  EXPECT_EQ(failure({}, flags), "--health-retries cannot be negative");
  flags.retries.reset();
  flags.timeout = 1000;  // 1µs
  EXPECT_EQ(failure({}, flags), "Timeout in Healthcheck cannot be less than 1ms");
  EXPECT_EQ(failure(image_with({"CMD", "x"}, 10), {}),
            "Interval in Healthcheck cannot be less than 1ms");
  EXPECT_EQ(failure(image_with({"CMD", "x"}, 0, 0, 0, -2), {}),
            "Retries in Healthcheck cannot be negative");
}

HealthResult result(int exit_code, std::string output = "") {
  HealthResult r;
  r.start = "2024-01-01T00:00:00.000000000Z";
  r.end = "2024-01-01T00:00:01.000000000Z";
  r.exit_code = exit_code;
  r.output = std::move(output);
  return r;
}

HealthPlan plan_with_retries(int retries) {
  HealthPlan plan;
  plan.argv = {"true"};
  plan.retries = retries;
  return plan;
}

TEST(HealthStateTest, ResetStartsAndKeepsTheLog) {
  HealthState state;
  state.status = "unhealthy";
  state.failing_streak = 4;
  state.log = {result(1, "down")};
  reset_health(state);
  EXPECT_EQ(state.status, "starting");
  EXPECT_EQ(state.failing_streak, 0);
  ASSERT_EQ(state.log.size(), 1u);
  EXPECT_EQ(state.log[0].output, "down");
}

TEST(HealthStateTest, SuccessMakesHealthy) {
  HealthState state;
  reset_health(state);
  record_health_result(state, plan_with_retries(3), result(0, "ok"), true);
  EXPECT_EQ(state.status, "healthy");
  EXPECT_EQ(state.failing_streak, 0);
  ASSERT_EQ(state.log.size(), 1u);
  EXPECT_EQ(state.log[0], result(0, "ok"));
}

TEST(HealthStateTest, FailuresInTheStartPeriodDoNotCountWhileStarting) {
  HealthState state;
  reset_health(state);
  auto plan = plan_with_retries(2);
  for (int i = 0; i < 5; ++i) record_health_result(state, plan, result(1), true);
  EXPECT_EQ(state.status, "starting");
  EXPECT_EQ(state.failing_streak, 0);
  EXPECT_EQ(state.log.size(), 5u);
  // After the start period they count.
  record_health_result(state, plan, result(1), false);
  EXPECT_EQ(state.status, "starting");
  EXPECT_EQ(state.failing_streak, 1);
  record_health_result(state, plan, result(1), false);
  EXPECT_EQ(state.status, "unhealthy");
  EXPECT_EQ(state.failing_streak, 2);
}

TEST(HealthStateTest, OnceHealthyFailuresCountEvenInTheStartPeriod) {
  HealthState state;
  reset_health(state);
  auto plan = plan_with_retries(2);
  record_health_result(state, plan, result(0), true);
  record_health_result(state, plan, result(1), true);
  EXPECT_EQ(state.status, "healthy");
  EXPECT_EQ(state.failing_streak, 1);
  record_health_result(state, plan, result(-1, "timed out"), true);
  EXPECT_EQ(state.status, "unhealthy");
  EXPECT_EQ(state.failing_streak, 2);
}

TEST(HealthStateTest, RetriesConsecutiveFailuresMakeUnhealthyAndSuccessRecovers) {
  HealthState state;
  reset_health(state);
  auto plan = plan_with_retries(3);
  record_health_result(state, plan, result(1), false);
  record_health_result(state, plan, result(1), false);
  EXPECT_EQ(state.status, "starting");
  EXPECT_EQ(state.failing_streak, 2);
  // A success in between resets the streak.
  record_health_result(state, plan, result(0), false);
  EXPECT_EQ(state.status, "healthy");
  EXPECT_EQ(state.failing_streak, 0);
  record_health_result(state, plan, result(1), false);
  record_health_result(state, plan, result(2), false);
  EXPECT_EQ(state.status, "healthy");
  record_health_result(state, plan, result(1), false);
  EXPECT_EQ(state.status, "unhealthy");
  EXPECT_EQ(state.failing_streak, 3);
  record_health_result(state, plan, result(1), false);
  EXPECT_EQ(state.status, "unhealthy");
  EXPECT_EQ(state.failing_streak, 4);
  record_health_result(state, plan, result(0, "back"), false);
  EXPECT_EQ(state.status, "healthy");
  EXPECT_EQ(state.failing_streak, 0);
}

TEST(HealthStateTest, ZeroRetriesMeansThree) {
  HealthState state;
  reset_health(state);
  auto plan = plan_with_retries(0);
  record_health_result(state, plan, result(1), false);
  record_health_result(state, plan, result(1), false);
  EXPECT_EQ(state.status, "starting");
  record_health_result(state, plan, result(1), false);
  EXPECT_EQ(state.status, "unhealthy");
}

TEST(HealthStateTest, LogKeepsTheLastFiveOldestFirst) {
  HealthState state;
  reset_health(state);
  auto plan = plan_with_retries(3);
  for (int i = 0; i < 8; ++i)
    record_health_result(state, plan, result(0, std::to_string(i)), false);
  ASSERT_EQ(state.log.size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(state.log[i].output, std::to_string(i + 3));
}

TEST(HealthStateTest, OutputIsTruncatedTo4096Bytes) {
  HealthState state;
  reset_health(state);
  std::string big(10000, 'x');
  big[4095] = 'y';
  record_health_result(state, plan_with_retries(3), result(1, big), false);
  ASSERT_EQ(state.log.size(), 1u);
  EXPECT_EQ(state.log[0].output.size(), 4096u);
  EXPECT_EQ(state.log[0].output.back(), 'y');
  record_health_result(state, plan_with_retries(3), result(0, std::string(4096, 'z')), false);
  EXPECT_EQ(state.log[1].output, std::string(4096, 'z'));
}

}  // namespace
}  // namespace berth::engine
