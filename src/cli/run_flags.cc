#include "cli/run_flags.h"

#include <tuple>

#include "base/strings.h"
#include "network/host_flags.h"
#include "network/port_spec.h"

namespace berth::cli {

void add_run_flags(CLI::App& cmd, RunFlags& f, bool with_detach) {
  cmd.set_help_flag("--help", "Print usage");  // -h is --hostname, as in Docker
  if (with_detach) cmd.add_flag("-d,--detach", f.detach, "Run container in background and print container ID");
  cmd.add_flag("--rm", f.rm, "Automatically remove the container when it exits");
  cmd.add_flag("-i,--interactive", f.interactive, "Keep STDIN open even if not attached");
  cmd.add_flag("-t,--tty", f.tty, "Allocate a pseudo-TTY");
  cmd.add_option("--name", f.name, "Assign a name to the container");
  cmd.add_option("-e,--env", f.env, "Set environment variables")->allow_extra_args(false);
  cmd.add_option("--env-file", f.env_file, "Read in a file of environment variables")->allow_extra_args(false);
  cmd.add_option("-v,--volume", f.volume, "Bind mount a volume")->allow_extra_args(false);
  cmd.add_option("--mount", f.mount, "Attach a filesystem mount to the container")->allow_extra_args(false);
  cmd.add_option("--tmpfs", f.tmpfs, "Mount a tmpfs directory")->allow_extra_args(false);
  cmd.add_flag("--read-only", f.read_only, "Mount the container's root filesystem as read only");
  cmd.add_option("-u,--user", f.user, "Username or UID (format: <name|uid>[:<group|gid>])");
  cmd.add_option("--group-add", f.group_add, "Add additional groups to join")->allow_extra_args(false);
  cmd.add_option("--cap-add", f.cap_add, "Add Linux capabilities")->allow_extra_args(false);
  cmd.add_option("--cap-drop", f.cap_drop, "Drop Linux capabilities")->allow_extra_args(false);
  cmd.add_option("--security-opt", f.security_opt, "Security Options")->allow_extra_args(false);
  cmd.add_option("--security-profile", f.security_profile, "berth's security profile: default or strict");
  cmd.add_flag("--privileged", f.privileged, "Give extended privileges to this container");
  cmd.add_option("-m,--memory", f.memory, "Memory limit");
  cmd.add_option("--memory-swap", f.memory_swap, "Swap limit equal to memory plus swap: '-1' to enable unlimited swap");
  cmd.add_option("--cpus", f.cpus, "Number of CPUs");
  cmd.add_option("--cpuset-cpus", f.cpuset_cpus, "CPUs in which to allow execution (0-3, 0,1)");
  cmd.add_option("--cpuset-mems", f.cpuset_mems, "MEMs in which to allow execution (0-3, 0,1)");
  cmd.add_option("-c,--cpu-shares", f.cpu_shares, "CPU shares (relative weight)");
  cmd.add_option("--cpu-period", f.cpu_period, "Limit CPU CFS (Completely Fair Scheduler) period");
  cmd.add_option("--cpu-quota", f.cpu_quota, "Limit CPU CFS (Completely Fair Scheduler) quota");
  cmd.add_option("--memory-reservation", f.memory_reservation, "Memory soft limit");
  cmd.add_option("--shm-size", f.shm_size, "Size of /dev/shm");
  cmd.add_option("--device-read-bps", f.device_read_bps,
                 "Limit read rate (bytes per second) from a device")
      ->allow_extra_args(false);
  cmd.add_option("--device-write-bps", f.device_write_bps,
                 "Limit write rate (bytes per second) to a device")
      ->allow_extra_args(false);
  cmd.add_option("--device-read-iops", f.device_read_iops,
                 "Limit read rate (IO per second) from a device")
      ->allow_extra_args(false);
  cmd.add_option("--device-write-iops", f.device_write_iops,
                 "Limit write rate (IO per second) to a device")
      ->allow_extra_args(false);
  cmd.add_option("--sysctl", f.sysctl, "Sysctl options")->allow_extra_args(false);
  cmd.add_option("--oom-score-adj", f.oom_score_adj, "Tune host's OOM preferences (-1000 to 1000)");
  cmd.add_option("--domainname", f.domainname, "Container NIS domain name");
  cmd.add_option("--pids-limit", f.pids_limit, "Tune container pids limit (set -1 for unlimited)");
  cmd.add_option("--ulimit", f.ulimit, "Ulimit options")->allow_extra_args(false);
  cmd.add_option("--restart", f.restart, "Restart policy to apply when a container exits");
  cmd.add_option("--health-cmd", f.health_cmd, "Command to run to check health");
  cmd.add_option("--health-interval", f.health_interval, "Time between running the check (ms|s|m|h)");
  cmd.add_option("--health-timeout", f.health_timeout, "Maximum time to allow one check to run (ms|s|m|h)");
  cmd.add_option("--health-retries", f.health_retries, "Consecutive failures needed to report unhealthy");
  cmd.add_option("--health-start-period", f.health_start_period, "Start period for the container to initialize");
  cmd.add_flag("--no-healthcheck", f.no_healthcheck, "Disable any container-specified HEALTHCHECK");
  cmd.add_flag("--init", f.init, "Run an init inside the container (berth's default; --init=false to turn off)");
  cmd.add_option("-w,--workdir", f.workdir, "Working directory inside the container");
  cmd.add_option("--entrypoint", f.entrypoint, "Overwrite the default ENTRYPOINT of the image")
      ->each([&f](const std::string&) { f.entrypoint_set = true; });
  cmd.add_option("-h,--hostname", f.hostname, "Container host name");
  cmd.add_option("-l,--label", f.label, "Set meta data on a container")->allow_extra_args(false);
  cmd.add_option("--label-file", f.label_file, "Read in a line delimited file of labels")
      ->allow_extra_args(false);
  cmd.add_option("--cidfile", f.cidfile, "Write the container ID to the file");
  cmd.add_option("--pull", f.pull,
                 "Pull image before running (\"always\", \"missing\", \"never\")");
  cmd.add_flag("-q,--quiet", f.quiet, "Suppress the pull output");
  cmd.add_option("--stop-signal", f.stop_signal, "Signal to stop the container");
  cmd.add_option("--stop-timeout", f.stop_timeout, "Timeout (in seconds) to stop a container");
  cmd.add_option("--log-opt", f.log_opt, "Log driver options")->allow_extra_args(false);
  cmd.add_option("--log-driver", f.log_driver, "Logging driver for the container (json-file only)");
  cmd.add_option("--secret", f.secret, "Mount a secret on /run/secrets (NAME[,target=,uid=,gid=,mode=])")
      ->allow_extra_args(false);
  cmd.add_option("--network,--net", f.network, "Connect a container to a network (bridge, NAME, none, host, container:NAME)");
  cmd.add_option("--network-alias,--net-alias", f.network_alias, "Add network-scoped alias for the container")->allow_extra_args(false);
  cmd.add_option("--ip", f.ip, "IPv4 address (e.g., 172.30.100.104)");
  cmd.add_option("-p,--publish", f.publish, "Publish a container's port(s) to the host")->allow_extra_args(false);
  cmd.add_flag("-P,--publish-all", f.publish_all, "Publish all exposed ports to random ports");
  cmd.add_option("--expose", f.expose, "Expose a port or a range of ports")->allow_extra_args(false);
  cmd.add_option("--dns", f.dns, "Set custom DNS servers")->allow_extra_args(false);
  cmd.add_option("--dns-search", f.dns_search, "Set custom DNS search domains")->allow_extra_args(false);
  cmd.add_option("--dns-option,--dns-opt", f.dns_option, "Set DNS options")->allow_extra_args(false);
  cmd.add_option("--add-host", f.add_host, "Add a custom host-to-IP mapping (host:ip)")->allow_extra_args(false);
  // IMAGE [COMMAND...] are left unparsed: flags stop at the image, and an unknown flag
  // before it is left there too, where run_options_from_flags refuses it.
  cmd.prefix_command();
}

namespace {

Result<void> network_options_from_flags(const RunFlags& f, engine::NetworkOptions& n) {
  if (!f.network.empty()) n.mode = f.network;
  if (!f.network_alias.empty() || !f.ip.empty()) {
    engine::NetworkAttachment first;
    for (const auto& a : f.network_alias) first.aliases.push_back(TRY(network::parse_network_alias(a)));
    if (!f.ip.empty()) first.ipv4 = TRY(network::parse_ip_flag(f.ip)).str();
    n.attachments.push_back(std::move(first));
  }
  for (const auto& p : f.publish) {
    TRY(network::parse_publish(p));
    n.publish.push_back(p);
  }
  n.publish_all = f.publish_all;
  for (const auto& e : f.expose) {
    for (auto [port, proto] : TRY(network::parse_expose(e))) n.expose.push_back(fmt::format("{}/{}", port, network::to_string(proto)));
  }
  for (const auto& d : f.dns) n.dns.push_back(TRY(network::parse_dns(d)));
  for (const auto& d : f.dns_search) n.dns_search.push_back(TRY(network::parse_dns_search(d)));
  for (const auto& d : f.dns_option) n.dns_options.push_back(TRY(network::parse_dns_option(d)));
  for (const auto& h : f.add_host) {
    auto host = TRY(network::parse_add_host(h));
    n.extra_hosts.push_back(host.name + ":" + host.address);
  }
  return {};
}

}  // namespace

Result<engine::RunOptions> run_options_from_flags(const RunFlags& f, CLI::App& cmd) {
  using namespace engine;
  RunOptions o;
  std::vector<std::string> args = cmd.remaining();
  if (args.empty()) return Fail(ErrorCode::InvalidArgument, "\"{}\" requires at least 1 argument", cmd.get_name());
  if (args[0].starts_with("-")) return Fail(ErrorCode::InvalidArgument, "unknown flag: {}", args[0].substr(0, args[0].find('=')));
  o.image = args[0];
  o.command.assign(args.begin() + 1, args.end());
  o.name = f.name;
  o.detach = f.detach;
  o.rm = f.rm;
  o.interactive = f.interactive;
  o.tty = f.tty;
  o.read_only = f.read_only;
  o.privileged = f.privileged;
  o.init = f.init;
  for (const auto& file : f.env_file) {
    for (auto& kv : TRY(parse_env_file(file))) o.env.push_back(std::move(kv));
  }
  for (const auto& e : f.env) {
    if (auto kv = TRY(parse_env_flag(e))) o.env.push_back(*kv);
  }
  for (const auto& v : f.volume) o.mounts.push_back(TRY(parse_volume_flag(v)));
  for (const auto& m : f.mount) o.mounts.push_back(TRY(parse_mount_flag(m)));
  for (const auto& t : f.tmpfs) o.mounts.push_back(TRY(parse_tmpfs_flag(t)));
  if (!f.user.empty()) {
    TRY(parse_user(f.user));
    o.user = f.user;
  }
  o.group_add = f.group_add;
  o.cap_add = f.cap_add;
  o.cap_drop = f.cap_drop;
  for (const auto& s : f.security_opt) TRY(parse_security_opt(s, o));
  if (!f.security_profile.empty()) o.security_profile = TRY(parse_security_profile(f.security_profile));
  if (!f.memory.empty()) o.memory = TRY(parse_memory_size(f.memory, "-m, --memory"));
  if (!f.memory_swap.empty()) o.memory_swap = f.memory_swap == "-1" ? -1 : TRY(parse_memory_size(f.memory_swap, "--memory-swap"));
  if (!f.cpus.empty()) o.nano_cpus = TRY(parse_cpus(f.cpus));
  o.cpuset_cpus = f.cpuset_cpus;
  o.cpuset_mems = f.cpuset_mems;
  for (auto [flag, text, out] : {std::tuple{"-c, --cpu-shares", &f.cpu_shares, &o.cpu_shares},
                                 std::tuple{"--cpu-period", &f.cpu_period, &o.cpu_period},
                                 std::tuple{"--cpu-quota", &f.cpu_quota, &o.cpu_quota}}) {
    if (text->empty()) continue;
    auto n = parse_int(*text, flag);
    if (!n) return Err(flag_error(flag, *text, "invalid syntax"));
    *out = *n;
  }
  if (!f.memory_reservation.empty())
    o.memory_reservation = TRY(parse_memory_size(f.memory_reservation, "--memory-reservation"));
  for (auto [flag, texts, out, bytes] :
       {std::tuple{"--device-read-bps", &f.device_read_bps, &o.device_read_bps, true},
        std::tuple{"--device-write-bps", &f.device_write_bps, &o.device_write_bps, true},
        std::tuple{"--device-read-iops", &f.device_read_iops, &o.device_read_iops, false},
        std::tuple{"--device-write-iops", &f.device_write_iops, &o.device_write_iops, false}}) {
    for (const auto& t : *texts) out->push_back(TRY(parse_device_rate(t, flag, bytes)));
  }
  if (!f.shm_size.empty()) o.shm_size = TRY(parse_memory_size(f.shm_size, "--shm-size"));
  for (const auto& s : f.sysctl) TRY(parse_sysctl(s, o.sysctls));
  if (!f.oom_score_adj.empty()) o.oom_score_adj = TRY(parse_oom_score_adj(f.oom_score_adj));
  o.domainname = f.domainname;
  if (!f.pids_limit.empty()) {
    auto n = parse_int(f.pids_limit, "--pids-limit");
    if (!n) return Err(flag_error("--pids-limit", f.pids_limit, "invalid syntax"));
    o.pids_limit = *n;
  }
  for (const auto& u : f.ulimit) o.ulimits.push_back(TRY(parse_ulimit(u)));
  if (!f.restart.empty()) o.restart = TRY(parse_restart(f.restart));
  o.health.cmd = f.health_cmd;
  o.health.none = f.no_healthcheck;
  if (!f.health_interval.empty()) o.health.interval = TRY(parse_duration(f.health_interval, "--health-interval"));
  if (!f.health_timeout.empty()) o.health.timeout = TRY(parse_duration(f.health_timeout, "--health-timeout"));
  if (!f.health_start_period.empty())
    o.health.start_period = TRY(parse_duration(f.health_start_period, "--health-start-period"));
  if (!f.health_retries.empty()) {
    auto n = parse_int(f.health_retries, "--health-retries");
    if (!n) return Err(flag_error("--health-retries", f.health_retries, "invalid syntax"));
    o.health.retries = static_cast<int>(*n);
  }
  o.workdir = f.workdir;
  if (f.entrypoint_set) o.entrypoint = f.entrypoint;
  o.hostname = f.hostname;
  for (const auto& file : f.label_file) TRY(parse_label_file(file, o.labels));
  for (const auto& l : f.label) TRY(parse_label(l, o.labels));
  o.cidfile = f.cidfile;
  if (f.pull != "always" && f.pull != "missing" && f.pull != "never") {
    return Err(flag_error("--pull", f.pull, "must be one of \"always\", \"missing\" or \"never\""));
  }
  o.stop_signal = f.stop_signal;
  if (!f.stop_timeout.empty()) {
    auto n = parse_int(f.stop_timeout, "--stop-timeout");
    if (!n) return Err(flag_error("--stop-timeout", f.stop_timeout, "invalid syntax"));
    o.stop_timeout = static_cast<int>(*n);
  }
  for (const auto& l : f.log_opt) TRY(parse_log_opt(l, o.log));
  if (!f.log_driver.empty() && f.log_driver != "json-file")
    return Err(flag_error("--log-driver", f.log_driver, "berth writes json-file logs only"));
  for (const auto& s : f.secret) o.secrets.push_back(TRY(parse_secret_flag(s)));
  TRY(network_options_from_flags(f, o.network));
  if (o.rm && o.restart.name != RestartName::No)
    return Fail(ErrorCode::InvalidArgument, "Conflicting options: --restart and --rm");
  return o;
}

}  // namespace berth::cli
