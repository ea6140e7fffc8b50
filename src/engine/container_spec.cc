// `docker run` flags + image config -> OCI runtime spec, with berth's secure defaults.
#include "engine/container_spec.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <set>
#include <tuple>

#include "base/fs.h"
#include "base/root_path.h"
#include "base/strings.h"
#include "engine/container_user.h"
#include "engine/seccomp_profile.h"
#include "runtime/capabilities.h"
#include "runtime/rlimits.h"

namespace berth::engine {

namespace {

constexpr std::string_view kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr int64_t kMinMemory = 6 * 1024 * 1024;
constexpr uint64_t kCpuPeriod = 100000;

const char* const kDockerDefaultCaps[] = {
    "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",  "CAP_SETGID",       "CAP_SETUID",           "CAP_SETFCAP",
    "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
    "CAP_AUDIT_WRITE"};

const char* const kMaskedPaths[] = {
    "/proc/asound",     "/proc/acpi",       "/proc/interrupts", "/proc/kcore",
    "/proc/keys",       "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
    "/proc/sched_debug", "/proc/scsi",      "/sys/firmware",    "/sys/devices/virtual/powercap"};
const char* const kReadonlyPaths[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                      "/proc/sysrq-trigger"};

oci::Mount mount(std::string dest, std::string type, std::string source,
                 std::vector<std::string> options) {
  return oci::Mount{std::move(dest), std::move(type), std::move(source), std::move(options), {}, {}};
}

std::vector<oci::Mount> default_mounts(bool privileged, int64_t shm_size) {
  std::string sys_mode = privileged ? "rw" : "ro";
  return {
      mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", sys_mode}),
      mount("/sys/fs/cgroup", "cgroup", "cgroup",
            {"nosuid", "noexec", "nodev", "relatime", sys_mode}),
      mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      mount("/dev/shm", "tmpfs", "shm",
            {"nosuid", "noexec", "nodev", "mode=1777", fmt::format("size={}", shm_size)}),
  };
}

// Docker's allowed devices: mknod of anything, and the standard character devices.
std::vector<oci::DeviceRule> default_device_rules() {
  auto allow = [](std::string type, std::optional<int64_t> major, std::optional<int64_t> minor,
                  std::string access) {
    return oci::DeviceRule{true, std::move(type), major, minor, std::move(access)};
  };
  return {
      oci::DeviceRule{false, "a", std::nullopt, std::nullopt, "rwm"},
      allow("c", std::nullopt, std::nullopt, "m"),
      allow("b", std::nullopt, std::nullopt, "m"),
      allow("c", 1, 3, "rwm"),    // null
      allow("c", 1, 5, "rwm"),    // zero
      allow("c", 1, 7, "rwm"),    // full
      allow("c", 1, 8, "rwm"),    // random
      allow("c", 1, 9, "rwm"),    // urandom
      allow("c", 5, 0, "rwm"),    // tty
      allow("c", 5, 1, "rwm"),    // console
      allow("c", 5, 2, "rwm"),    // ptmx
      allow("c", 136, std::nullopt, "rwm"),  // pts/*
  };
}

std::string upper(std::string_view s) {
  std::string out;
  for (char c : s) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string env_key(std::string_view kv) { return std::string(kv.substr(0, kv.find('='))); }

// Replaces entries with the same key, appends new ones (Docker's ReplaceOrAppendEnvValues).
void merge_env(std::vector<std::string>& base, const std::vector<std::string>& overrides) {
  for (const auto& kv : overrides) {
    std::string key = env_key(kv);
    auto it = std::find_if(base.begin(), base.end(), [&](const std::string& e) { return env_key(e) == key; });
    if (it != base.end()) {
      *it = kv;
    } else {
      base.push_back(kv);
    }
  }
}

size_t depth(std::string_view path) { return static_cast<size_t>(std::count(path.begin(), path.end(), '/')); }

bool valid_cpuset(std::string_view s) {
  if (s.empty()) return false;
  for (auto& part : split(s, ',')) {
    auto range = split(part, '-');
    if (range.empty() || range.size() > 2) return false;
    for (auto& n : range) {
      if (n.empty() || !std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return false;
      }
    }
  }
  return true;
}

Error invalid(std::string msg) { return Error(ErrorCode::InvalidArgument, std::move(msg)); }

// The bind mount of a host path: rbind plus ro/rw plus the propagation (rprivate default).
oci::Mount bind_mount(const std::string& dest, const std::string& source, bool readonly,
                      const std::string& propagation) {
  return mount(dest, "bind", source,
               {"rbind", readonly ? "ro" : "rw", propagation.empty() ? "rprivate" : propagation});
}

oci::Mount tmpfs_mount(const MountSpec& m) {
  std::vector<std::string> options = {"nosuid", "nodev", "noexec"};
  for (const auto& o : m.tmpfs_options) {
    std::string negated = o.starts_with("no") ? o.substr(2) : "no" + o;
    std::erase(options, negated);
    if (std::find(options.begin(), options.end(), o) == options.end()) options.push_back(o);
  }
  options.insert(options.begin(), m.readonly ? "ro" : "rw");
  if (m.tmpfs_size) options.push_back(fmt::format("size={}", *m.tmpfs_size));
  if (m.tmpfs_mode) options.push_back(fmt::format("mode={:o}", *m.tmpfs_mode));
  return mount(m.target, "tmpfs", "tmpfs", std::move(options));
}

Result<std::vector<oci::Mount>> user_mounts(const RunOptions& opts, const ContainerSpecInputs& in,
                                            bool strict) {
  std::vector<oci::Mount> out;
  for (size_t i = 0; i < opts.mounts.size(); ++i) {
    const MountSpec& m = opts.mounts[i];
    if (m.kind == MountKind::Tmpfs) {
      out.push_back(tmpfs_mount(m));
      continue;
    }
    if (i >= in.mount_sources.size() || in.mount_sources[i].empty()) {
      return Fail(ErrorCode::Internal, "mount on {}: the engine gave no host path for it", m.target);
    }
    out.push_back(bind_mount(m.target, in.mount_sources[i], m.readonly, m.propagation));
  }
  bool has_tmp = std::any_of(out.begin(), out.end(), [](const oci::Mount& m) { return m.destination == "/tmp"; });
  if (strict && !has_tmp) {
    out.push_back(mount("/tmp", "tmpfs", "tmpfs", {"rw", "nosuid", "nodev", "noexec", "mode=1777"}));
  }
  for (size_t i = 0; i < opts.secrets.size(); ++i) {
    const SecretRef& s = opts.secrets[i];
    std::string dest = s.target.empty() ? fmt::format("{}/{}", kSecretsDir, s.name) : s.target;
    if (in.secrets_dir.empty()) {
      return Fail(ErrorCode::Internal, "--secret {}: the engine gave no secrets directory", s.name);
    }
    out.push_back(mount(dest, "bind", in.secrets_dir + "/" + secret_file_name(opts.secrets, i),
                        {"rbind", "ro", "nosuid", "nodev", "noexec", "rprivate"}));
  }
  std::set<std::string> seen;
  for (const auto& m : out) {
    if (!seen.insert(m.destination).second) {
      return Err(invalid(fmt::format("duplicate mount point: {}", m.destination)));
    }
  }
  // Parents before children, whatever the order of the flags.
  std::stable_sort(out.begin(), out.end(), [](const oci::Mount& a, const oci::Mount& b) {
    return depth(a.destination) < depth(b.destination);
  });
  return out;
}

// The --device-*-bps/iops limits, with each device's numbers looked up on the host.
Result<oci::BlockIo> block_io(const RunOptions& opts) {
  oci::BlockIo b;
  for (auto [flag, list, out] :
       {std::tuple{"--device-read-bps", &opts.device_read_bps, &b.throttle_read_bps_device},
        std::tuple{"--device-write-bps", &opts.device_write_bps, &b.throttle_write_bps_device},
        std::tuple{"--device-read-iops", &opts.device_read_iops, &b.throttle_read_iops_device},
        std::tuple{"--device-write-iops", &opts.device_write_iops,
                   &b.throttle_write_iops_device}}) {
    for (const DeviceRate& d : *list) {
      struct stat st {};
      if (::stat(d.path.c_str(), &st) != 0) {
        return Err(flag_error(flag, d.path, fmt::format("stat: {}", std::strerror(errno))));
      }
      if (!S_ISBLK(st.st_mode)) return Err(flag_error(flag, d.path, "not a block device"));
      out->push_back(oci::ThrottleDevice{major(st.st_rdev), minor(st.st_rdev), d.rate});
    }
  }
  return b;
}

Result<oci::Resources> resources(const RunOptions& opts) {
  oci::Resources r;
  r.devices = opts.privileged ? std::vector<oci::DeviceRule>{oci::DeviceRule{true, "a", std::nullopt, std::nullopt, "rwm"}}
                              : default_device_rules();
  if (opts.memory || opts.memory_swap || opts.memory_reservation) {
    oci::Memory m;
    m.limit = opts.memory;
    m.swap = opts.memory_swap;
    m.reservation = opts.memory_reservation;
    r.memory = m;
  }
  bool shares = opts.cpu_shares && *opts.cpu_shares > 0;
  bool cfs = opts.cpu_period.value_or(0) > 0 || opts.cpu_quota.value_or(0) != 0;
  if ((opts.nano_cpus && *opts.nano_cpus > 0) || shares || cfs || !opts.cpuset_cpus.empty() ||
      !opts.cpuset_mems.empty()) {
    oci::Cpu c;
    if (opts.nano_cpus && *opts.nano_cpus > 0) {
      c.period = kCpuPeriod;
      c.quota = *opts.nano_cpus * static_cast<int64_t>(kCpuPeriod) / 1000000000;
    }
    if (opts.cpu_period.value_or(0) > 0) c.period = static_cast<uint64_t>(*opts.cpu_period);
    if (opts.cpu_quota.value_or(0) != 0) c.quota = *opts.cpu_quota;
    if (shares) c.shares = static_cast<uint64_t>(*opts.cpu_shares);
    c.cpus = opts.cpuset_cpus;
    c.mems = opts.cpuset_mems;
    r.cpu = c;
  }
  oci::BlockIo b = TRY(block_io(opts));
  if (b != oci::BlockIo{}) r.block_io = std::move(b);
  int64_t pids = opts.pids_limit.value_or(kDefaultPidsLimit);
  r.pids = oci::Pids{pids > 0 ? pids : -1};
  return r;
}

Result<std::vector<oci::Rlimit>> rlimits(const RunOptions& opts) {
  std::vector<oci::Rlimit> out;
  std::set<std::string> seen;
  for (const auto& u : opts.ulimits) {
    if (!seen.insert(u.name).second) {
      return Err(flag_error("--ulimit", u.name, fmt::format("{} is given twice", u.name)));
    }
    out.push_back(oci::Rlimit{"RLIMIT_" + upper(u.name), u.hard, u.soft});
  }
  // The runtime's own check: soft <= hard, hard within the caller's hard limit.
  auto checked = runtime::resolve_rlimits(out);
  if (!checked) {
    Error e = checked.error();
    e.context("--ulimit");
    return Err(e);
  }
  return out;
}

std::string kernel_release() {
  struct utsname u {};
  return ::uname(&u) == 0 ? std::string(u.release) : std::string();
}

Result<std::optional<oci::Seccomp>> seccomp(const RunOptions& opts,
                                            const std::vector<std::string>& caps) {
  if (opts.privileged || opts.seccomp_profile == "unconfined") return std::optional<oci::Seccomp>();
  if (opts.seccomp_profile.empty()) {
    return std::optional<oci::Seccomp>(
        resolve_seccomp_profile(default_seccomp_profile(), caps, host_go_arch(), kernel_release()));
  }
  const std::string& path = opts.seccomp_profile;
  auto text = read_file(path);
  if (!text) {
    Error e = text.error();
    e.context(fmt::format("--security-opt seccomp={}", path));
    return Err(e);
  }
  auto profile = parse_seccomp_profile(*text);
  if (!profile) {
    Error e = profile.error();
    e.context(fmt::format("--security-opt seccomp={}", path));
    return Err(e);
  }
  return std::optional<oci::Seccomp>(
      resolve_seccomp_profile(*profile, caps, host_go_arch(), kernel_release()));
}

// Every capability berth can give: those of the kernel that are in berth's own bounding set
// (a capability outside it cannot be granted; capset would fail).
std::vector<std::string> all_capabilities() {
  std::vector<std::string> out;
  int last = runtime::last_capability();
  uint64_t bounding = ~uint64_t{0};
  if (auto own = runtime::read_process_capabilities(0)) bounding = own->bounding;
  for (int i = 0; i <= last && i < 64; ++i) {
    auto name = runtime::capability_name(i);
    if (!name.empty() && (bounding >> i & 1) != 0) out.emplace_back(name);
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> command_line(const RunOptions& opts, const oci::ContainerConfig& image) {
  std::vector<std::string> entrypoint = image.entrypoint;
  std::vector<std::string> cmd = image.cmd;
  if (opts.entrypoint) {
    entrypoint.clear();
    if (!opts.entrypoint->empty()) entrypoint.push_back(*opts.entrypoint);
    cmd.clear();
  }
  if (!opts.command.empty()) cmd = opts.command;
  std::vector<std::string> args = entrypoint;
  args.insert(args.end(), cmd.begin(), cmd.end());
  if (args.empty()) {
    return Err(invalid("no command specified: the image has no ENTRYPOINT or CMD; give a "
                       "command after the image or --entrypoint"));
  }
  return args;
}


std::vector<std::string> default_capabilities() {
  return {std::begin(kDockerDefaultCaps), std::end(kDockerDefaultCaps)};
}

Result<std::vector<std::string>> resolve_capability_flags(const std::vector<std::string>& add,
                                                          const std::vector<std::string>& drop) {
  auto normalize = [](std::string_view flag, const std::string& raw) -> Result<std::string> {
    std::string name = upper(trim(raw));
    if (name == "ALL") return name;
    if (!name.starts_with("CAP_")) name = "CAP_" + name;
    if (!runtime::capability_from_name(name)) {
      return Err(flag_error(flag, raw, fmt::format("unknown capability: {}", quote(name))));
    }
    return name;
  };
  std::vector<std::string> adds, drops;
  for (const auto& a : add) adds.push_back(TRY(normalize("--cap-add", a)));
  for (const auto& d : drop) drops.push_back(TRY(normalize("--cap-drop", d)));
  auto has = [](const std::vector<std::string>& v, std::string_view s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  std::vector<std::string> caps;
  if (has(adds, "ALL")) {
    caps = all_capabilities();
  } else if (!has(drops, "ALL")) {
    caps = default_capabilities();
  }
  std::erase_if(caps, [&](const std::string& c) { return has(drops, c) && !has(adds, c); });
  if (!has(adds, "ALL")) {
    for (const auto& a : adds) {
      if (!has(caps, a)) caps.push_back(a);
    }
  }
  return caps;
}

std::string secret_file_name(const std::vector<SecretRef>& secrets, size_t index) {
  const std::string& name = secrets[index].name;
  for (size_t i = 0; i < index; ++i) {
    if (secrets[i].name == name) return fmt::format("{}-{}", name, index);
  }
  return name;
}

Result<void> validate_run_options(const RunOptions& opts) {
  const HealthOptions& h = opts.health;
  if (h.none && (!h.cmd.empty() || h.interval || h.timeout || h.start_period || h.retries)) {
    return Err(invalid("--no-healthcheck conflicts with --health-* options"));
  }
  auto check_duration = [](std::string_view flag, const std::optional<int64_t>& d) -> Result<void> {
    if (!d) return {};
    if (*d < 0) return Err(invalid(fmt::format("{} cannot be negative", flag)));
    if (*d != 0 && *d < 1000000) return Err(invalid(fmt::format("{} cannot be less than 1ms", flag)));
    return {};
  };
  TRY(check_duration("--health-interval", h.interval));
  TRY(check_duration("--health-timeout", h.timeout));
  TRY(check_duration("--health-start-period", h.start_period));
  if (h.retries && *h.retries < 0) return Err(invalid("--health-retries cannot be negative"));
  if (opts.memory && *opts.memory < kMinMemory) {
    return Err(invalid("--memory: the minimum memory limit allowed is 6MB"));
  }
  if (opts.memory_swap && *opts.memory_swap != -1) {
    if (!opts.memory) {
      return Err(invalid("--memory-swap: set the memory limit (--memory) as well when using "
                         "--memory-swap"));
    }
    if (*opts.memory_swap < *opts.memory) {
      return Err(invalid("--memory-swap: the memory+swap limit must be larger than the memory "
                         "limit (--memory)"));
    }
  }
  if (!opts.cpuset_cpus.empty() && !valid_cpuset(opts.cpuset_cpus)) {
    return Err(flag_error("--cpuset-cpus", opts.cpuset_cpus, "expected a list like 0-3,5"));
  }
  if (!opts.cpuset_mems.empty() && !valid_cpuset(opts.cpuset_mems)) {
    return Err(flag_error("--cpuset-mems", opts.cpuset_mems, "expected a list like 0-3,5"));
  }
  bool nano = opts.nano_cpus && *opts.nano_cpus > 0;
  if (nano && opts.cpu_period.value_or(0) > 0) {
    return Err(invalid("Conflicting options: --cpus and --cpu-period cannot both be set"));
  }
  if (nano && opts.cpu_quota.value_or(0) > 0) {
    return Err(invalid("Conflicting options: --cpus and --cpu-quota cannot both be set"));
  }
  if (opts.cpu_period && *opts.cpu_period != 0 &&
      (*opts.cpu_period < 1000 || *opts.cpu_period > 1000000)) {
    return Err(
        invalid("--cpu-period: the CFS period must be between 1ms and 1s (1000 to 1000000)"));
  }
  if (opts.cpu_quota && (*opts.cpu_quota < -1 || (*opts.cpu_quota > 0 && *opts.cpu_quota < 1000))) {
    return Err(
        invalid("--cpu-quota: the CFS quota cannot be less than 1ms (1000); -1 is no limit"));
  }
  if (opts.cpu_shares && *opts.cpu_shares < 0) {
    return Err(invalid("-c, --cpu-shares cannot be negative"));
  }
  if (opts.memory_reservation && opts.memory && *opts.memory_reservation > *opts.memory) {
    return Err(
        invalid("--memory-reservation: the memory limit (--memory) cannot be less than "
                "the memory reservation"));
  }
  if (opts.shm_size && *opts.shm_size <= 0) {
    return Err(invalid("--shm-size must be greater than 0"));
  }
  if (opts.domainname.size() > 64) {
    return Err(flag_error("--domainname", opts.domainname, "longer than 64 characters"));
  }
  bool own_network = opts.network.mode != "host" && !opts.network.mode.starts_with("container:");
  for (const auto& [key, value] : opts.sysctls) {
    if (key.starts_with("net.") && !own_network) {
      return Err(flag_error("--sysctl", key + "=" + value,
                            fmt::format("the container shares another network namespace "
                                        "(--network {}); net.* sysctls would change it",
                                        opts.network.mode)));
    }
  }
  if (!opts.workdir.empty() && opts.workdir.front() != '/') {
    return Err(invalid(fmt::format("-w, --workdir: the working directory '{}' is invalid, it "
                                   "needs to be an absolute path",
                                   opts.workdir)));
  }
  if (opts.stop_timeout && *opts.stop_timeout < -1) {
    return Err(invalid("--stop-timeout cannot be below -1"));
  }
  if (opts.security_profile == SecurityProfile::Strict) {
    if (opts.privileged) {
      return Err(invalid("strict profile: --privileged gives the container every capability and "
                         "device; remove --privileged or use --security-profile default"));
    }
    if (opts.seccomp_profile == "unconfined") {
      return Err(invalid("strict profile: the container needs a seccomp filter; remove "
                         "--security-opt seccomp=unconfined"));
    }
    if (!opts.no_new_privileges) {
      return Err(invalid("strict profile: setuid binaries must not gain privileges; remove "
                         "--security-opt no-new-privileges=false"));
    }
    if (!opts.cap_add.empty()) {
      return Err(invalid("strict profile: the container runs without capabilities; remove "
                         "--cap-add"));
    }
    if (opts.network.mode == "host") {
      return Err(invalid("strict profile: --network host shares the host's network stack with the "
                         "container; use a bridge network and publish ports with -p"));
    }
    if (!opts.memory) {
      return Err(invalid("strict profile: a memory limit is required; add --memory (e.g. "
                         "--memory 512m)"));
    }
    if (!opts.pids_limit || *opts.pids_limit <= 0) {
      return Err(invalid("strict profile: a pids limit is required; add --pids-limit (e.g. "
                         "--pids-limit 256)"));
    }
  }
  TRY(block_io(opts));  // the devices exist now, at create
  // Capabilities and a profile file are checked now, so that create refuses them too.
  if (!opts.privileged) {
    auto caps = TRY(resolve_capability_flags(opts.cap_add, opts.cap_drop));
    if (!opts.seccomp_profile.empty() && opts.seccomp_profile != "unconfined") TRY(seccomp(opts, caps));
  }
  return {};
}

Result<oci::Spec> build_container_spec(const RunOptions& opts, const oci::ImageConfig& image,
                                       const ContainerSpecInputs& in) {
  TRY(validate_run_options(opts));
  const bool strict = opts.security_profile == SecurityProfile::Strict;
  const oci::ContainerConfig& cfg = image.config;
  if (in.id.empty()) return Fail(ErrorCode::Internal, "build container spec: no container id");
  if (in.rootfs.empty() || in.rootfs.front() != '/') {
    return Fail(ErrorCode::Internal, "build container spec: rootfs {} is not absolute", quote(in.rootfs));
  }

  oci::Spec spec;
  spec.oci_version = std::string(oci::kSpecVersion);
  spec.root = oci::Root{in.rootfs, opts.read_only || strict};
  spec.hostname = opts.hostname.empty() ? in.id.substr(0, 12) : opts.hostname;
  spec.domainname = opts.domainname;

  oci::Process p;
  p.terminal = opts.tty;
  std::vector<std::string> args = TRY(command_line(opts, cfg));
  if (opts.init) {
    if (in.init_binary.empty()) return Fail(ErrorCode::Internal, "--init: the engine gave no init binary");
    std::vector<std::string> wrapped = {std::string(kInitPath), "--"};
    wrapped.insert(wrapped.end(), args.begin(), args.end());
    args = std::move(wrapped);
  }
  p.args = std::move(args);
  p.cwd = !opts.workdir.empty() ? opts.workdir : (!cfg.working_dir.empty() ? cfg.working_dir : "/");
  if (p.cwd.front() != '/') {
    return Err(invalid(fmt::format("the image's working directory '{}' is invalid, it needs to "
                                   "be an absolute path; pass -w",
                                   p.cwd)));
  }
  p.cwd = clean_path(p.cwd);  // "/app/./x/../y/" is kept as written in an image, as Docker does

  // User, resolved in the container's own account files.
  std::string user_text = opts.user.value_or(cfg.user);
  auto root_fd = open_fd(in.rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (!root_fd) {
    Error e = root_fd.error();
    e.context("open the container's root filesystem");
    return Err(e);
  }
  ResolvedUser user = TRY(resolve_container_user(root_fd->get(), user_text, opts.group_add));
  if (strict && user.uid == 0) {
    return Err(invalid("strict profile: the container would run as root; add USER to the image "
                       "or pass --user"));
  }
  p.user.uid = user.uid;
  p.user.gid = user.gid;
  p.user.additional_gids = user.additional_gids;

  // Environment: PATH, HOSTNAME, TERM, then the image's, then -e (later wins).
  std::vector<std::string> env = {std::string(kDefaultPath), "HOSTNAME=" + spec.hostname};
  if (opts.tty) env.push_back("TERM=xterm");
  std::vector<std::string> config_env = cfg.env;
  merge_env(config_env, opts.env);
  merge_env(env, config_env);
  if (std::none_of(env.begin(), env.end(), [](const std::string& e) { return env_key(e) == "HOME"; })) {
    env.push_back("HOME=" + user.home);
  }
  p.env = std::move(env);

  // Capabilities: bounding = effective = permitted; no inheritable or ambient (as Docker).
  std::vector<std::string> caps;
  if (opts.privileged) {
    caps = all_capabilities();
  } else if (strict) {
    caps.clear();
  } else {
    caps = TRY(resolve_capability_flags(opts.cap_add, opts.cap_drop));
  }
  oci::Capabilities c;
  c.bounding = caps;
  c.effective = caps;
  c.permitted = caps;
  p.capabilities = c;
  p.no_new_privileges = opts.no_new_privileges;
  p.rlimits = TRY(rlimits(opts));
  p.oom_score_adj = opts.oom_score_adj;
  spec.process = std::move(p);

  // Mounts: the defaults (minus those a user mount replaces), the engine's files, the user's.
  std::vector<oci::Mount> users = TRY(user_mounts(opts, in, strict));
  auto replaced = [&](const std::string& dest) {
    return std::any_of(users.begin(), users.end(), [&](const oci::Mount& m) { return m.destination == dest; });
  };
  for (auto& m : default_mounts(opts.privileged, opts.shm_size.value_or(kDefaultShmSize))) {
    if (!replaced(m.destination)) spec.mounts.push_back(std::move(m));
  }
  if (opts.init) {
    spec.mounts.push_back(mount(std::string(kInitPath), "bind", in.init_binary,
                                {"rbind", "ro", "nosuid", "nodev", "rprivate"}));
  }
  for (auto [dest, src] : {std::pair<const char*, const std::string*>{"/etc/resolv.conf", &in.resolv_conf_path},
                           {"/etc/hostname", &in.hostname_path},
                           {"/etc/hosts", &in.hosts_path}}) {
    if (!src->empty() && !replaced(dest)) spec.mounts.push_back(bind_mount(dest, *src, false, ""));
  }
  for (auto& m : users) spec.mounts.push_back(std::move(m));

  oci::Linux l;
  for (auto t : {oci::NamespaceType::Pid, oci::NamespaceType::Ipc, oci::NamespaceType::Uts,
                 oci::NamespaceType::Mount, oci::NamespaceType::Cgroup}) {
    l.namespaces.push_back(oci::Namespace{t, ""});
  }
  if (opts.network.mode != "host") l.namespaces.push_back(oci::Namespace{oci::NamespaceType::Network, in.netns_path});
  l.resources = TRY(resources(opts));
  l.sysctl = opts.sysctls;
  l.cgroups_path = in.cgroups_path;
  l.seccomp = TRY(seccomp(opts, caps));
  if (!opts.privileged) {
    l.masked_paths.assign(std::begin(kMaskedPaths), std::end(kMaskedPaths));
    l.readonly_paths.assign(std::begin(kReadonlyPaths), std::end(kReadonlyPaths));
  }
  spec.linux = std::move(l);
  TRY_CTX("the generated OCI spec", oci::validate_spec(spec));
  return spec;
}

}  // namespace berth::engine
