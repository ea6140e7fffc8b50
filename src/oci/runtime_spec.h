// The data model of the OCI runtime specification 1.1 (config.json) for Linux, and the
// container state the runtime reports. Plain structs: parsing and validation live in
// runtime_spec_json.cc and spec_validate.cc; optional fields of the spec are std::optional
// (or empty containers) so "absent" and "zero" stay distinct where the spec distinguishes them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace berth::oci {

inline constexpr std::string_view kSpecVersion = "1.1.0";

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
  bool operator==(const IdMapping&) const = default;
};

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
  bool operator==(const User&) const = default;
};

struct Rlimit {
  std::string type;  // "RLIMIT_NOFILE"...
  uint64_t hard = 0;
  uint64_t soft = 0;
  bool operator==(const Rlimit&) const = default;
};

struct Capabilities {
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
  bool operator==(const Capabilities&) const = default;
};

struct ConsoleSize {
  uint32_t height = 0;
  uint32_t width = 0;
  bool operator==(const ConsoleSize&) const = default;
};

struct IoPriority {
  std::string io_class;  // IOPRIO_CLASS_RT | IOPRIO_CLASS_BE | IOPRIO_CLASS_IDLE
  int priority = 0;
  bool operator==(const IoPriority&) const = default;
};

struct Scheduler {
  std::string policy;  // SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, SCHED_DEADLINE
  int32_t nice = 0;
  int32_t priority = 0;
  std::vector<std::string> flags;
  uint64_t runtime = 0, deadline = 0, period = 0;
  bool operator==(const Scheduler&) const = default;
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd;
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::string apparmor_profile;
  std::optional<int> oom_score_adj;
  std::string selinux_label;
  std::optional<IoPriority> io_priority;
  std::optional<Scheduler> scheduler;
  bool operator==(const Process&) const = default;
};

struct Root {
  std::string path;
  bool readonly = false;
  bool operator==(const Root&) const = default;
};

struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
  std::vector<IdMapping> uid_mappings;
  std::vector<IdMapping> gid_mappings;
  bool operator==(const Mount&) const = default;
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;  // seconds, > 0
  bool operator==(const Hook&) const = default;
};

struct Hooks {
  std::vector<Hook> prestart;  // deprecated in the spec, still run
  std::vector<Hook> create_runtime;
  std::vector<Hook> create_container;
  std::vector<Hook> start_container;
  std::vector<Hook> poststart;
  std::vector<Hook> poststop;
  bool operator==(const Hooks&) const = default;
};

enum class NamespaceType { Pid, Network, Mount, Ipc, Uts, User, Cgroup, Time };
std::string_view to_string(NamespaceType t);          // "pid", "network", ...
std::optional<NamespaceType> namespace_from_string(std::string_view s);

struct Namespace {
  NamespaceType type = NamespaceType::Mount;
  std::string path;  // join this namespace instead of creating one
  bool operator==(const Namespace&) const = default;
};

struct Device {
  std::string path;
  std::string type;  // c, b, u, p
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  bool operator==(const Device&) const = default;
};

struct DeviceRule {
  bool allow = false;
  std::string type;  // a, c, b (empty = a)
  std::optional<int64_t> major;
  std::optional<int64_t> minor;
  std::string access;  // subset of "rwm" (empty = rwm)
  bool operator==(const DeviceRule&) const = default;
};

struct Memory {
  std::optional<int64_t> limit, reservation, swap, kernel, kernel_tcp;
  std::optional<uint64_t> swappiness;
  std::optional<bool> disable_oom_killer, use_hierarchy, check_before_update;
  bool operator==(const Memory&) const = default;
};

struct Cpu {
  std::optional<uint64_t> shares;
  std::optional<int64_t> quota;
  std::optional<uint64_t> burst;
  std::optional<uint64_t> period;
  std::optional<int64_t> realtime_runtime;
  std::optional<uint64_t> realtime_period;
  std::string cpus;
  std::string mems;
  std::optional<bool> idle;
  bool operator==(const Cpu&) const = default;
};

struct Pids {
  int64_t limit = 0;  // <= 0: unlimited
  bool operator==(const Pids&) const = default;
};

struct WeightDevice {
  int64_t major = 0, minor = 0;
  std::optional<uint16_t> weight, leaf_weight;
  bool operator==(const WeightDevice&) const = default;
};

struct ThrottleDevice {
  int64_t major = 0, minor = 0;
  uint64_t rate = 0;
  bool operator==(const ThrottleDevice&) const = default;
};

struct BlockIo {
  std::optional<uint16_t> weight, leaf_weight;
  std::vector<WeightDevice> weight_device;
  std::vector<ThrottleDevice> throttle_read_bps_device, throttle_write_bps_device;
  std::vector<ThrottleDevice> throttle_read_iops_device, throttle_write_iops_device;
  bool operator==(const BlockIo&) const = default;
};

struct HugepageLimit {
  std::string page_size;  // "2MB"
  uint64_t limit = 0;
  bool operator==(const HugepageLimit&) const = default;
};

struct NetworkPriority {
  std::string name;
  uint32_t priority = 0;
  bool operator==(const NetworkPriority&) const = default;
};

struct NetworkResources {
  std::optional<uint32_t> class_id;
  std::vector<NetworkPriority> priorities;
  bool operator==(const NetworkResources&) const = default;
};

struct RdmaLimit {
  std::optional<uint32_t> hca_handles, hca_objects;
  bool operator==(const RdmaLimit&) const = default;
};

struct Resources {
  std::vector<DeviceRule> devices;
  std::optional<Memory> memory;
  std::optional<Cpu> cpu;
  std::optional<Pids> pids;
  std::optional<BlockIo> block_io;
  std::vector<HugepageLimit> hugepage_limits;
  std::optional<NetworkResources> network;
  std::map<std::string, RdmaLimit> rdma;
  std::map<std::string, std::string> unified;  // cgroup v2 file -> value
  bool operator==(const Resources&) const = default;
};

struct SeccompArg {
  uint32_t index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  std::string op;  // SCMP_CMP_NE, SCMP_CMP_LT, ... SCMP_CMP_MASKED_EQ
  bool operator==(const SeccompArg&) const = default;
};

struct SeccompSyscall {
  std::vector<std::string> names;
  std::string action;  // SCMP_ACT_ERRNO, ...
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;
  bool operator==(const SeccompSyscall&) const = default;
};

struct Seccomp {
  std::string default_action;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;  // SCMP_ARCH_X86_64, ...
  std::vector<std::string> flags;          // SECCOMP_FILTER_FLAG_LOG, ...
  std::string listener_path;
  std::string listener_metadata;
  std::vector<SeccompSyscall> syscalls;
  bool operator==(const Seccomp&) const = default;
};

struct Personality {
  std::string domain;  // LINUX | LINUX32
  std::vector<std::string> flags;
  bool operator==(const Personality&) const = default;
};

struct TimeOffset {
  int64_t secs = 0;
  uint32_t nanosecs = 0;
  bool operator==(const TimeOffset&) const = default;
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings;
  std::vector<IdMapping> gid_mappings;
  std::map<std::string, TimeOffset> time_offsets;  // "boottime", "monotonic"
  std::vector<Device> devices;
  std::string cgroups_path;
  std::optional<Resources> resources;
  std::string rootfs_propagation;  // shared, slave, private, unbindable (r-prefixed too)
  std::optional<Seccomp> seccomp;
  std::map<std::string, std::string> sysctl;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::string mount_label;
  std::optional<Personality> personality;

  bool has_namespace(NamespaceType t) const;
  const Namespace* find_namespace(NamespaceType t) const;
  bool operator==(const Linux&) const = default;
};

struct Spec {
  std::string oci_version;
  std::optional<Process> process;
  std::optional<Root> root;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  std::optional<Hooks> hooks;
  std::map<std::string, std::string> annotations;
  std::optional<Linux> linux;
  bool operator==(const Spec&) const = default;
};

// Parses config.json text. Every error names the JSON path of the offending field
// ("linux.namespaces[2].type: unknown namespace \"foo\"") and is InvalidArgument.
// Unknown fields are ignored as the spec requires; wrong types are errors.
Result<Spec> parse_spec(std::string_view json);
// Reads and parses <bundle>/config.json.
Result<Spec> load_spec(const std::string& bundle_dir);
// Serialises a spec back to config.json text (2-space indented), omitting absent fields.
std::string spec_to_json(const Spec& spec);
// linux.seccomp alone, as compact JSON in the same form.
std::string seccomp_to_json(const Seccomp& seccomp);
// Parses a process.json (the "process" object alone), as `runtime exec --process` takes.
Result<Process> parse_process(std::string_view json);

// Checks what the JSON shape cannot: required fields, absolute paths, known names, duplicate
// namespaces, mappings present when a user namespace is created, value ranges. Every error
// names its field. Runs before the runtime makes any syscall that changes the system.
Result<void> validate_spec(const Spec& spec);

// The config `berth runtime spec` writes (same shape as `runc spec`; --rootless variant).
Spec default_spec(bool rootless);

// Container state as the runtime spec defines it (and as `runc state` prints it).
struct State {
  std::string oci_version{kSpecVersion};
  std::string id;
  std::string status;  // creating, created, running, stopped, paused
  int pid = 0;
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339 with nanoseconds
  std::string owner;
  std::map<std::string, std::string> annotations;
  bool operator==(const State&) const = default;
};

// runc's `state` JSON: ociVersion, id, pid, status, bundle, rootfs, created, owner, annotations.
std::string state_to_json(const State& state, bool pretty = true);
Result<State> parse_state(std::string_view json);

}  // namespace berth::oci
