// The model of `berth run` / `berth create` flags (Docker's names and semantics) and the parsers that turn each flag's text into it. Every parser returns
// InvalidArgument naming the flag and the value, in the shape Docker's CLI prints:
//   invalid argument "512x" for "-m, --memory" flag: invalid size: '512x'
// The engine fills a RunOptions from the CLI, then build_container_spec (container_spec.h)
// validates it completely before anything is created.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace berth::engine {

enum class MountKind { Bind, Volume, Tmpfs };

// One -v, --mount or --tmpfs entry.
struct MountSpec {
  MountKind kind = MountKind::Bind;
  std::string source;  // Bind: absolute host path; Volume: name, empty = anonymous; Tmpfs: ""
  std::string target;  // absolute path inside the container
  bool readonly = false;
  std::string propagation;             // binds: "rprivate" (default), "shared", "rslave"...
  std::optional<int64_t> tmpfs_size;   // bytes
  std::optional<uint32_t> tmpfs_mode;  // permission bits
  std::vector<std::string> tmpfs_options;  // extra mount options of --tmpfs ("exec", "uid=1")
  bool volume_nocopy = false;
  bool operator==(const MountSpec&) const = default;
};

// One --ulimit: soft and hard as setrlimit takes them (-1 in the text is RLIM_INFINITY).
// --device-read-bps and friends: a host block device and its limit, in bytes or I/O per second.
struct DeviceRate {
  std::string path;  // "/dev/vda"
  uint64_t rate = 0;
  bool operator==(const DeviceRate&) const = default;
};

struct Ulimit {
  std::string name;  // "nofile"
  uint64_t soft = 0;
  uint64_t hard = 0;
  bool operator==(const Ulimit&) const = default;
};

enum class RestartName { No, OnFailure, Always, UnlessStopped };
struct RestartPolicy {
  RestartName name = RestartName::No;
  int max_retries = 0;  // on-failure:N; 0 = unlimited
  bool operator==(const RestartPolicy&) const = default;
};

// --health-* and --no-healthcheck; durations in nanoseconds, unset = the image's or Docker's.
struct HealthOptions {
  std::string cmd;  // --health-cmd (run with /bin/sh -c, CMD-SHELL)
  std::optional<int64_t> interval, timeout, start_period;
  std::optional<int> retries;
  bool none = false;  // --no-healthcheck
  bool operator==(const HealthOptions&) const = default;
};

// --log-opt of the json-file driver.
struct LogOptions {
  int64_t max_size = 10 * 1024 * 1024;  // bytes; -1 = no rotation
  int max_file = 3;
  bool operator==(const LogOptions&) const = default;
};

// One --secret NAME[,target=PATH,uid=,gid=,mode=].
struct SecretRef {
  std::string name;
  std::string target;  // absolute, or relative to /run/secrets; default /run/secrets/NAME
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t mode = 0444;
  bool operator==(const SecretRef&) const = default;
};

// -u/--user as written: "uid[:gid]" or "name[:group]"; resolved against the container's
// /etc/passwd and /etc/group by build_container_spec.
struct UserSpec {
  std::string user;
  std::string group;  // empty = the user's primary group
  bool operator==(const UserSpec&) const = default;
};

enum class SecurityProfile { Default, Strict };

// One network a container joins: the one --network names, then those `network connect` adds.
struct NetworkAttachment {
  std::string network;               // the network's ID once created (the name as given before)
  std::string name;                  // the network's name (networks are never renamed)
  std::vector<std::string> aliases;  // --network-alias: more names the network's DNS answers
  std::string ipv4;                  // --ip; "" = the next free address at start
  bool operator==(const NetworkAttachment&) const = default;
};

// How a container reaches the network; Docker's HostConfig.NetworkMode and friends.
struct NetworkOptions {
  // "bridge" (the default network), a user network's name, "none", "host", or
  // "container:<id>" (the other container's namespace; its name is resolved at create).
  std::string mode = "bridge";
  std::vector<NetworkAttachment> attachments;  // bridge and user networks, in join order
  std::vector<std::string> publish;            // -p as given (checked by the CLI and create)
  bool publish_all = false;                    // -P: every exposed port to a random host port
  std::vector<std::string> expose;             // --expose, "80/tcp"
  std::vector<std::string> dns, dns_search, dns_options;
  std::vector<std::string> extra_hosts;        // --add-host, "name:ip"
  bool operator==(const NetworkOptions&) const = default;
  bool joins_networks() const { return mode != "none" && mode != "host" && !mode.starts_with("container:"); }
};

struct RunOptions {
  std::string image;
  std::vector<std::string> command;  // the arguments after the image: replace the image CMD
  std::string name;
  bool detach = false, rm = false, interactive = false, tty = false;
  std::vector<std::string> env;  // "KEY=value", --env-file first then -e, in flag order
  std::vector<MountSpec> mounts;
  bool read_only = false;
  std::optional<std::string> user;  // -u text; nullopt = the image's USER
  std::vector<std::string> group_add;
  std::vector<std::string> cap_add, cap_drop;  // as given: "NET_ADMIN", "cap_chown", "ALL"
  bool no_new_privileges = true;               // berth default; off with no-new-privileges=false
  std::string seccomp_profile;                 // "" default, "unconfined", or a JSON file path
  bool privileged = false;
  std::optional<int64_t> memory, memory_swap;  // bytes; swap -1 = unlimited
  std::optional<int64_t> nano_cpus;            // --cpus × 1e9
  std::string cpuset_cpus, cpuset_mems;
  std::optional<int64_t> memory_reservation;   // bytes: the soft limit (memory.low on v2)
  std::optional<int64_t> cpu_shares;           // relative weight, 1024 = Docker's default
  std::optional<int64_t> cpu_period, cpu_quota;  // CFS, µs; --cpus sets both instead
  std::optional<int64_t> shm_size;             // bytes of /dev/shm; nullopt = 64 MiB
  std::vector<DeviceRate> device_read_bps, device_write_bps, device_read_iops, device_write_iops;
  std::map<std::string, std::string> sysctls;  // namespaced kernel parameters only
  std::optional<int> oom_score_adj;            // -1000..1000
  std::string domainname;
  std::optional<int64_t> pids_limit;  // nullopt = berth's default 4096; <= 0 = unlimited
  std::vector<Ulimit> ulimits;
  RestartPolicy restart;
  HealthOptions health;
  bool init = true;  // berth default; --init=false turns it off
  std::string workdir;
  std::optional<std::string> entrypoint;  // "" resets the image's ENTRYPOINT
  std::string hostname;
  std::map<std::string, std::string> labels;
  std::string cidfile;  // --cidfile: where the CLI wrote the container's ID
  std::string stop_signal;
  std::optional<int> stop_timeout;
  LogOptions log;
  std::vector<SecretRef> secrets;
  SecurityProfile security_profile = SecurityProfile::Default;
  NetworkOptions network;
};

// "invalid argument \"VALUE\" for \"FLAG\" flag: REASON" (InvalidArgument).
Error flag_error(std::string_view flag, std::string_view value, std::string_view reason);

// -v/--volume: "/host:/ctr[:opts]" (bind), "name:/ctr[:opts]" (named volume), "/ctr"
// (anonymous volume). Options ro/rw, z/Z (accepted, ignored), nocopy, and for binds
// shared/rshared/slave/rslave/private/rprivate.
Result<MountSpec> parse_volume_flag(std::string_view text);
// --mount: type=bind|volume|tmpfs,source|src=,target|dst|destination=,readonly|ro[=bool],
// bind-propagation=, volume-nocopy, tmpfs-size=, tmpfs-mode=.
Result<MountSpec> parse_mount_flag(std::string_view text);
// --tmpfs: "/path[:opt,opt...]" (size=, mode=, ro/rw, exec/noexec, suid, dev, uid=, gid=).
Result<MountSpec> parse_tmpfs_flag(std::string_view text);
// --env-file: Docker's rules (KEY=value verbatim; a bare KEY takes the host's value and is
// dropped when unset; blank lines and lines starting with # are skipped; a name may not
// contain whitespace). Errors name the file and the line.
Result<std::vector<std::string>> parse_env_file(const std::string& path);
// --label-file: "key=value" lines (a bare key gets an empty value), by --env-file's rules;
// added to labels. Errors name the file and the line.
Result<void> parse_label_file(const std::string& path, std::map<std::string, std::string>& labels);
// -e/--env: "KEY=value" as is; a bare "KEY" takes the host's value (nullopt when unset).
Result<std::optional<std::string>> parse_env_flag(std::string_view text);
// Docker's RAMInBytes: "512m", "1g", "1.5GiB", "1024" (bytes); binary multiples.
Result<int64_t> parse_memory_size(std::string_view text, std::string_view flag = "--memory");
// --cpus "1.5" -> 1500000000 nano CPUs (quota = nano × period / 1e9 with period 100000).
Result<int64_t> parse_cpus(std::string_view text);
// --ulimit "nofile=1024:2048" or "nofile=1024" (soft = hard).
Result<Ulimit> parse_ulimit(std::string_view text);
// --restart no|on-failure[:N]|always|unless-stopped.
Result<RestartPolicy> parse_restart(std::string_view text);
// A Go duration ("30s", "1m30s", "500ms", "1.5h", "0") in nanoseconds; flag names the flag.
Result<int64_t> parse_duration(std::string_view text, std::string_view flag);
// -u/--user "uid[:gid]" or "name[:group]".
Result<UserSpec> parse_user(std::string_view text);
// --secret NAME[,source=NAME][,target=PATH][,uid=N][,gid=N][,mode=0400].
Result<SecretRef> parse_secret_flag(std::string_view text);
// --log-opt max-size=10m | max-file=3, applied to log.
Result<void> parse_log_opt(std::string_view text, LogOptions& log);
// --security-opt no-new-privileges[=|:true|false], seccomp=FILE|unconfined, applied to opts.
Result<void> parse_security_opt(std::string_view text, RunOptions& opts);
// --security-profile default|strict.
Result<SecurityProfile> parse_security_profile(std::string_view text);
// --sysctl "key=value", added to sysctls. Only the kernel parameters a container's own
// namespaces hold are allowed, as Docker: the IPC ones (kernel.msg*, kernel.sem, kernel.shm*,
// fs.mqueue.*) and net.*.
Result<void> parse_sysctl(std::string_view text, std::map<std::string, std::string>& sysctls);
// --device-read-bps "/dev/vda:1mb" (bytes: a size, as --memory) or --device-read-iops
// "/dev/vda:100" (a count). The device is looked up when the container is created.
Result<DeviceRate> parse_device_rate(std::string_view text, std::string_view flag, bool bytes);
// --oom-score-adj: an integer in [-1000, 1000].
Result<int> parse_oom_score_adj(std::string_view text);
// -l/--label "key=value" (a bare key gets an empty value), added to labels.
Result<void> parse_label(std::string_view text, std::map<std::string, std::string>& labels);

// The seccomp profile for --security-opt seccomp=FILE is read by build_container_spec.
inline constexpr int64_t kDefaultPidsLimit = 4096;
inline constexpr int64_t kDefaultShmSize = 64 << 20;

}  // namespace berth::engine
