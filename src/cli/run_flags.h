// The flags of `berth run` and `berth create` (Docker's names), registered on a CLI11 command
// and turned into the engine's RunOptions with the engine's per-flag parsers, so every bad
// value is reported in Docker's words.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "base/error.h"
#include "engine/run_options.h"

namespace berth::cli {

struct RunFlags {
  std::string name;
  bool detach = false, rm = false, interactive = false, tty = false, read_only = false, privileged = false;
  bool no_healthcheck = false, init = true;
  std::vector<std::string> env, env_file, volume, mount, tmpfs, group_add, cap_add, cap_drop,
      security_opt, ulimit, label, log_opt, secret, network_alias, publish, expose, dns, dns_search,
      dns_option, add_host, sysctl, label_file, device_read_bps, device_write_bps, device_read_iops,
      device_write_iops;
  std::string user, memory, memory_swap, cpus, cpuset_cpus, pids_limit, restart, workdir, entrypoint,
      hostname, stop_signal, stop_timeout, security_profile, network, log_driver, ip;
  std::string cidfile, pull = "missing";
  bool quiet = false;
  std::string cpu_period, cpu_quota;
  std::string memory_reservation, cpu_shares, cpuset_mems, shm_size, oom_score_adj, domainname;
  std::string health_cmd, health_interval, health_timeout, health_retries, health_start_period;
  bool entrypoint_set = false, publish_all = false;
};

// Registers the flags on cmd; IMAGE [COMMAND...] stay unparsed.
void add_run_flags(CLI::App& cmd, RunFlags& flags, bool with_detach);
// Validates every value and builds the options; the first bad flag is the error.
Result<engine::RunOptions> run_options_from_flags(const RunFlags& flags, CLI::App& cmd);

}  // namespace berth::cli
