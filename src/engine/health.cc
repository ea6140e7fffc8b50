#include "engine/health.h"

#include "base/strings.h"

namespace berth::engine {
namespace {

using std::chrono::nanoseconds;

// The --health-* flags alone: Docker's CLI refuses these before anything is merged.
Result<void> check_health_flags(const HealthOptions& flags) {
  bool any =
      !flags.cmd.empty() || flags.interval || flags.timeout || flags.start_period || flags.retries;
  if (flags.none && any)
    return Fail(ErrorCode::InvalidArgument, "--no-healthcheck conflicts with --health-* options");
  if (flags.interval && *flags.interval < 0)
    return Fail(ErrorCode::InvalidArgument, "--health-interval cannot be negative");
  if (flags.timeout && *flags.timeout < 0)
    return Fail(ErrorCode::InvalidArgument, "--health-timeout cannot be negative");
  if (flags.start_period && *flags.start_period < 0)
    return Fail(ErrorCode::InvalidArgument, "--health-start-period cannot be negative");
  if (flags.retries && *flags.retries < 0)
    return Fail(ErrorCode::InvalidArgument, "--health-retries cannot be negative");
  return {};
}

// A set, non-zero flag wins over the image's value (Docker merges zero as "unset").
int64_t pick(const std::optional<int64_t>& flag, int64_t image) {
  return flag && *flag != 0 ? *flag : image;
}

// dockerd's validateHealthCheck: durations are 0 (default) or at least 1ms.
Result<nanoseconds> duration_field(std::string_view field, int64_t value, nanoseconds fallback) {
  if (value == 0) return fallback;
  if (value < 1'000'000)
    return Fail(ErrorCode::InvalidArgument, "{} in Healthcheck cannot be less than 1ms", field);
  return nanoseconds(value);
}

// Test -> argv: ["CMD", args...] as is, ["CMD-SHELL", cmd...] through the shell.
Result<std::vector<std::string>> probe_argv(const std::vector<std::string>& test,
                                            std::string_view field,
                                            const std::vector<std::string>& shell) {
  std::vector<std::string> args(test.begin() + 1, test.end());
  if (test[0] == "CMD") {
    if (args.empty() || args[0].empty())
      return Fail(ErrorCode::InvalidArgument, "{}: CMD needs a command to run", field);
    return args;
  }
  if (test[0] == "CMD-SHELL") {
    if (trim(join(args, " ")).empty())
      return Fail(ErrorCode::InvalidArgument, "{}: CMD-SHELL needs a command to run", field);
    std::vector<std::string> argv =
        shell.empty() ? std::vector<std::string>{"/bin/sh", "-c"} : shell;
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  return Fail(ErrorCode::InvalidArgument,
              "{}: unknown healthcheck type {} (expected CMD, CMD-SHELL or NONE)", field,
              quote(test[0]));
}

}  // namespace

Result<std::optional<HealthPlan>> resolve_healthcheck(const oci::ImageConfig& image,
                                                      const HealthOptions& flags) {
  TRY(check_health_flags(flags));
  if (flags.none) return std::nullopt;

  oci::HealthConfig merged = image.config.healthcheck.value_or(oci::HealthConfig{});
  std::string_view field = "image config Healthcheck.Test";
  if (!flags.cmd.empty()) {
    merged.test = {"CMD-SHELL", flags.cmd};
    field = "--health-cmd";
  }
  merged.interval = pick(flags.interval, merged.interval);
  merged.timeout = pick(flags.timeout, merged.timeout);
  merged.start_period = pick(flags.start_period, merged.start_period);
  if (flags.retries && *flags.retries != 0) merged.retries = *flags.retries;

  // [] inherits from a parent image: in a finished image it means no healthcheck.
  if (merged.test.empty() || merged.test[0] == "NONE") return std::nullopt;

  HealthPlan plan;
  plan.argv = TRY(probe_argv(merged.test, field, image.config.shell));
  plan.interval = TRY(duration_field("Interval", merged.interval, kDefaultHealthInterval));
  plan.timeout = TRY(duration_field("Timeout", merged.timeout, kDefaultHealthTimeout));
  plan.start_period = TRY(duration_field("StartPeriod", merged.start_period, nanoseconds(0)));
  plan.start_interval =
      TRY(duration_field("StartInterval", merged.start_interval, kDefaultHealthStartInterval));
  if (merged.retries < 0)
    return Fail(ErrorCode::InvalidArgument, "Retries in Healthcheck cannot be negative");
  plan.retries = merged.retries == 0 ? kDefaultHealthRetries : merged.retries;
  return std::optional<HealthPlan>(std::move(plan));
}

void record_health_result(HealthState& state, const HealthPlan& plan, HealthResult result,
                          bool in_start_period) {
  if (result.output.size() > kMaxHealthOutput) result.output.resize(kMaxHealthOutput);
  state.log.push_back(std::move(result));
  if (state.log.size() > kMaxHealthLog)
    state.log.erase(state.log.begin(),
                    state.log.begin() + static_cast<long>(state.log.size() - kMaxHealthLog));

  if (state.log.back().exit_code == 0) {
    state.failing_streak = 0;
    state.status = "healthy";
    return;
  }
  // Failures while still starting inside the start period do not count (dockerd).
  bool starting = state.status == "starting" || state.status.empty();
  if (starting && in_start_period) {
    if (state.status.empty()) state.status = "starting";
    return;
  }
  int retries = plan.retries > 0 ? plan.retries : kDefaultHealthRetries;
  ++state.failing_streak;
  if (state.failing_streak >= retries)
    state.status = "unhealthy";
  else if (state.status.empty())
    state.status = "starting";
}

void reset_health(HealthState& state) {
  state.status = "starting";
  state.failing_streak = 0;
}

}  // namespace berth::engine
