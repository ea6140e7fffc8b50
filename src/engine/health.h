// Docker's healthcheck semantics: which check a container runs (image HEALTHCHECK merged with
// the --health-* flags) and how each probe result moves State.Health. The monitor runs the
// probes; this file only decides.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "engine/container.h"
#include "engine/run_options.h"
#include "oci/image_spec.h"

namespace berth::engine {

// Docker's defaults for a zero (unset) field of a healthcheck.
inline constexpr std::chrono::nanoseconds kDefaultHealthInterval = std::chrono::seconds(30);
inline constexpr std::chrono::nanoseconds kDefaultHealthTimeout = std::chrono::seconds(30);
inline constexpr std::chrono::nanoseconds kDefaultHealthStartInterval = std::chrono::seconds(5);
inline constexpr int kDefaultHealthRetries = 3;
// State.Health.Log keeps this many results; each output at most kMaxHealthOutput bytes.
inline constexpr size_t kMaxHealthLog = 5;
inline constexpr size_t kMaxHealthOutput = 4096;

// A resolved healthcheck: what to run and when, every default filled in.
struct HealthPlan {
  std::vector<std::string> argv;  // what runs inside the container (CMD-SHELL -> /bin/sh -c CMD)
  std::chrono::nanoseconds interval{kDefaultHealthInterval}, timeout{kDefaultHealthTimeout},
      start_period{0}, start_interval{kDefaultHealthStartInterval};
  int retries = kDefaultHealthRetries;
  bool operator==(const HealthPlan&) const = default;
};

// The healthcheck a container runs: the image's HealthConfig (Test ["CMD", args...],
// ["CMD-SHELL", cmd], ["NONE"], or [] = inherit/none) overridden by each set flag; nullopt when
// there is none or it is disabled (--no-healthcheck or NONE). Zero durations mean Docker's
// defaults (30s, 30s, 0, 5s; retries 3). CMD-SHELL runs with the image's SHELL when it has one.
// InvalidArgument for a Test of an unknown kind or an empty command (naming the field), for
// --no-healthcheck with --health-* flags, and for negative or sub-millisecond values.
Result<std::optional<HealthPlan>> resolve_healthcheck(const oci::ImageConfig& image,
                                                      const HealthOptions& flags);

// Applies one probe result to state as dockerd does: output truncated to 4096 bytes; the log
// keeps the last 5 results; exit 0 -> "healthy" and streak 0; a failure increments
// failing_streak unless within the start period while still "starting" (then it is not
// counted), and at retries consecutive failures the status becomes "unhealthy".
void record_health_result(HealthState& state, const HealthPlan& plan, HealthResult result,
                          bool in_start_period);

// Status when a container (re)starts with a plan: "starting", streak 0 (log kept).
void reset_health(HealthState& state);

}  // namespace berth::engine
