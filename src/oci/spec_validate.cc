// validate_spec: the checks a config.json needs beyond its JSON shape, done before any syscall.
// Every problem is reported with the JSON path of its field; up to kMaxErrors are collected so
// that one run shows what to fix.
#include <array>
#include <set>

#include "oci/json_reader.h"
#include "oci/runtime_spec.h"

namespace berth::oci {

namespace {

using jsonio::index_path;
using jsonio::member_path;

constexpr size_t kMaxErrors = 20;

constexpr std::array<std::string_view, 16> kRlimits = {
    "RLIMIT_AS",     "RLIMIT_CORE",   "RLIMIT_CPU",        "RLIMIT_DATA",
    "RLIMIT_FSIZE",  "RLIMIT_LOCKS",  "RLIMIT_MEMLOCK",    "RLIMIT_MSGQUEUE",
    "RLIMIT_NICE",   "RLIMIT_NOFILE", "RLIMIT_NPROC",      "RLIMIT_RSS",
    "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK",
};

constexpr std::array<std::string_view, 9> kSeccompActions = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",          "SCMP_ACT_NOTIFY",
};

constexpr std::array<std::string_view, 7> kSeccompOps = {
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",        "SCMP_CMP_EQ",
    "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
};

constexpr std::array<std::string_view, 4> kSeccompFlags = {
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
};

constexpr std::array<std::string_view, 8> kPropagations = {
    "shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable",
};

constexpr std::array<std::string_view, 7> kSchedPolicies = {
    "SCHED_OTHER", "SCHED_FIFO", "SCHED_RR",       "SCHED_BATCH",
    "SCHED_ISO",   "SCHED_IDLE", "SCHED_DEADLINE",
};

constexpr std::array<std::string_view, 7> kSchedFlags = {
    "SCHED_FLAG_RESET_ON_FORK",  "SCHED_FLAG_RECLAIM",     "SCHED_FLAG_DL_OVERRUN",
    "SCHED_FLAG_KEEP_POLICY",    "SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_UTIL_CLAMP_MIN",
    "SCHED_FLAG_UTIL_CLAMP_MAX",
};

// The IPC-namespaced sysctls runc accepts by name; fs.mqueue.* is accepted by prefix.
constexpr std::array<std::string_view, 8> kIpcSysctls = {
    "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
    "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
};

template <size_t N>
bool one_of(std::string_view s, const std::array<std::string_view, N>& set) {
  for (auto e : set) {
    if (e == s) return true;
  }
  return false;
}

bool is_absolute(std::string_view p) { return !p.empty() && p.front() == '/'; }

class Validator {
 public:
  explicit Validator(const Spec& spec) : spec_(spec) {}

  Result<void> run() {
    check_version();
    check_root();
    check_process();
    check_mounts();
    check_hooks();
    check_hostnames();
    if (spec_.linux) check_linux(*spec_.linux);
    if (errors_.empty()) return {};
    std::string msg;
    for (size_t i = 0; i < errors_.size(); ++i) {
      if (i > 0) msg += "; ";
      msg += errors_[i];
    }
    if (dropped_ > 0) msg += fmt::format("; and {} more", dropped_);
    return Fail(ErrorCode::InvalidArgument, "config.json: {}", msg);
  }

 private:
  template <class... Args>
  void error(std::string_view path, fmt::format_string<Args...> f, Args&&... args) {
    if (errors_.size() >= kMaxErrors) {
      ++dropped_;
      return;
    }
    errors_.push_back(fmt::format("{}: {}", path, fmt::format(f, std::forward<Args>(args)...)));
  }

  void absolute(std::string_view path, std::string_view value) {
    if (value.empty()) {
      error(path, "must be set to an absolute path");
    } else if (!is_absolute(value)) {
      error(path, "must be an absolute path, got {}", quote(value));
    }
  }

  bool has_ns(NamespaceType t) const { return spec_.linux && spec_.linux->has_namespace(t); }

  void check_version() {
    const std::string& v = spec_.oci_version;
    if (v.empty()) return error("ociVersion", "must be set");
    std::string_view major = std::string_view(v).substr(0, v.find('.'));
    if (major != "1") error("ociVersion", "unsupported version {} (berth supports 1.x)", quote(v));
  }

  void check_root() {
    if (!spec_.root || spec_.root->path.empty()) error("root.path", "must be set");
  }

  void check_process() {
    if (!spec_.process) return error("process", "must be set");
    const Process& p = *spec_.process;
    if (p.args.empty()) error("process.args", "must not be empty");
    absolute("process.cwd", p.cwd);
    if (p.capabilities) check_capabilities(*p.capabilities);
    check_rlimits(p.rlimits);
    if (p.oom_score_adj && (*p.oom_score_adj < -1000 || *p.oom_score_adj > 1000)) {
      error("process.oomScoreAdj", "must be between -1000 and 1000, got {}", *p.oom_score_adj);
    }
    if (p.io_priority) {
      const std::string& c = p.io_priority->io_class;
      if (c != "IOPRIO_CLASS_RT" && c != "IOPRIO_CLASS_BE" && c != "IOPRIO_CLASS_IDLE") {
        error("process.ioPriority.class",
              "unknown class {} (expected IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE)",
              quote(c));
      }
      if (p.io_priority->priority < 0 || p.io_priority->priority > 7) {
        error("process.ioPriority.priority", "must be between 0 and 7, got {}",
              p.io_priority->priority);
      }
    }
    if (p.scheduler) check_scheduler(*p.scheduler);
  }

  void check_capabilities(const Capabilities& caps) {
    auto check = [&](const char* set, const std::vector<std::string>& names) {
      std::string path = member_path("process.capabilities", set);
      for (size_t i = 0; i < names.size(); ++i) {
        if (names[i].rfind("CAP_", 0) != 0) {
          error(index_path(path, i), "{} is not a capability name (names start with CAP_)",
                quote(names[i]));
        }
      }
    };
    check("bounding", caps.bounding);
    check("effective", caps.effective);
    check("inheritable", caps.inheritable);
    check("permitted", caps.permitted);
    check("ambient", caps.ambient);
  }

  void check_rlimits(const std::vector<Rlimit>& rlimits) {
    std::map<std::string_view, size_t> seen;
    for (size_t i = 0; i < rlimits.size(); ++i) {
      const Rlimit& r = rlimits[i];
      std::string path = index_path("process.rlimits", i);
      if (!one_of(r.type, kRlimits)) {
        error(path + ".type", "unknown rlimit {}", quote(r.type));
      } else if (auto [it, fresh] = seen.emplace(r.type, i); !fresh) {
        error(path + ".type", "duplicate {} (also at process.rlimits[{}])", quote(r.type),
              it->second);
      }
      if (r.soft > r.hard)
        error(path, "soft limit {} is greater than hard limit {}", r.soft, r.hard);
    }
  }

  void check_scheduler(const Scheduler& s) {
    if (!one_of(s.policy, kSchedPolicies))
      error("process.scheduler.policy", "unknown policy {}", quote(s.policy));
    if (s.nice < -20 || s.nice > 19)
      error("process.scheduler.nice", "must be between -20 and 19, got {}", s.nice);
    for (size_t i = 0; i < s.flags.size(); ++i) {
      if (!one_of(s.flags[i], kSchedFlags)) {
        error(index_path("process.scheduler.flags", i), "unknown flag {}", quote(s.flags[i]));
      }
    }
  }

  void check_mounts() {
    for (size_t i = 0; i < spec_.mounts.size(); ++i) {
      const Mount& m = spec_.mounts[i];
      std::string path = index_path("mounts", i);
      if (m.destination.empty()) {
        error(path + ".destination", "must be set to an absolute path");
      } else if (!is_absolute(m.destination)) {
        error(path + ".destination",
              "must be an absolute path, got {} (berth does not accept relative destinations)",
              quote(m.destination));
      }
      if (m.uid_mappings.empty() != m.gid_mappings.empty()) {
        error(path, "uidMappings and gidMappings must be given together");
      }
      check_mappings(path + ".uidMappings", m.uid_mappings);
      check_mappings(path + ".gidMappings", m.gid_mappings);
    }
  }

  void check_mappings(const std::string& path, const std::vector<IdMapping>& maps) {
    for (size_t i = 0; i < maps.size(); ++i) {
      const IdMapping& m = maps[i];
      std::string at = index_path(path, i);
      if (m.size == 0) error(at + ".size", "must be greater than 0");
      uint64_t top = 1ULL << 32;
      if (uint64_t{m.container_id} + m.size > top || uint64_t{m.host_id} + m.size > top) {
        error(at, "range of {} ids starting at containerID {} / hostID {} goes past 4294967295",
              m.size, m.container_id, m.host_id);
      }
    }
  }

  void check_hooks() {
    if (!spec_.hooks) return;
    const Hooks& h = *spec_.hooks;
    auto check = [&](const char* stage, const std::vector<Hook>& hooks) {
      for (size_t i = 0; i < hooks.size(); ++i) {
        std::string path = index_path(member_path("hooks", stage), i);
        absolute(path + ".path", hooks[i].path);
        if (hooks[i].timeout && *hooks[i].timeout <= 0) {
          error(path + ".timeout", "must be greater than 0, got {}", *hooks[i].timeout);
        }
      }
    };
    check("prestart", h.prestart);
    check("createRuntime", h.create_runtime);
    check("createContainer", h.create_container);
    check("startContainer", h.start_container);
    check("poststart", h.poststart);
    check("poststop", h.poststop);
  }

  void check_hostnames() {
    if (has_ns(NamespaceType::Uts)) return;
    if (!spec_.hostname.empty())
      error("hostname", "setting a hostname requires a uts namespace in linux.namespaces");
    if (!spec_.domainname.empty()) {
      error("domainname", "setting a domainname requires a uts namespace in linux.namespaces");
    }
  }

  void check_linux(const Linux& l) {
    check_namespaces(l);
    check_user_mappings(l);
    check_time_offsets(l);
    for (size_t i = 0; i < l.devices.size(); ++i) {
      const Device& d = l.devices[i];
      std::string path = index_path("linux.devices", i);
      absolute(path + ".path", d.path);
      if (d.type != "c" && d.type != "b" && d.type != "u" && d.type != "p") {
        error(path + ".type", "unknown device type {} (expected c, b, u or p)", quote(d.type));
      }
    }
    if (l.resources) check_resources(*l.resources);
    if (!l.rootfs_propagation.empty() && !one_of(l.rootfs_propagation, kPropagations)) {
      error("linux.rootfsPropagation",
            "unknown propagation {} (expected shared, slave, private, unbindable or their "
            "r-prefixed forms)",
            quote(l.rootfs_propagation));
    }
    if (l.seccomp) check_seccomp(*l.seccomp);
    check_sysctl(l.sysctl);
    for (size_t i = 0; i < l.masked_paths.size(); ++i)
      absolute(index_path("linux.maskedPaths", i), l.masked_paths[i]);
    for (size_t i = 0; i < l.readonly_paths.size(); ++i) {
      absolute(index_path("linux.readonlyPaths", i), l.readonly_paths[i]);
    }
    if (l.personality && l.personality->domain != "LINUX" && l.personality->domain != "LINUX32") {
      error("linux.personality.domain", "unknown domain {} (expected LINUX or LINUX32)",
            quote(l.personality->domain));
    }
  }

  void check_namespaces(const Linux& l) {
    std::map<NamespaceType, size_t> seen;
    for (size_t i = 0; i < l.namespaces.size(); ++i) {
      const Namespace& ns = l.namespaces[i];
      std::string path = index_path("linux.namespaces", i);
      if (auto [it, fresh] = seen.emplace(ns.type, i); !fresh) {
        error(path + ".type", "duplicate namespace {} (also at linux.namespaces[{}])",
              quote(to_string(ns.type)), it->second);
      }
      if (!ns.path.empty() && !is_absolute(ns.path)) {
        error(path + ".path", "must be an absolute path, got {}", quote(ns.path));
      }
    }
  }

  void check_user_mappings(const Linux& l) {
    const Namespace* user = l.find_namespace(NamespaceType::User);
    if (user && user->path.empty()) {
      if (l.uid_mappings.empty())
        error("linux.uidMappings", "must not be empty when a new user namespace is created");
      if (l.gid_mappings.empty())
        error("linux.gidMappings", "must not be empty when a new user namespace is created");
    } else if (!user) {
      if (!l.uid_mappings.empty())
        error("linux.uidMappings", "set but linux.namespaces has no user namespace");
      if (!l.gid_mappings.empty())
        error("linux.gidMappings", "set but linux.namespaces has no user namespace");
    }
    check_mappings("linux.uidMappings", l.uid_mappings);
    check_mappings("linux.gidMappings", l.gid_mappings);
  }

  void check_time_offsets(const Linux& l) {
    if (l.time_offsets.empty()) return;
    const Namespace* time = l.find_namespace(NamespaceType::Time);
    if (!time) {
      error("linux.timeOffsets", "set but linux.namespaces has no time namespace");
    } else if (!time->path.empty()) {
      error("linux.timeOffsets",
            "can only be set for a new time namespace, not one joined by path");
    }
    for (const auto& [clock, offset] : l.time_offsets) {
      std::string path = member_path("linux.timeOffsets", clock);
      if (clock != "boottime" && clock != "monotonic") {
        error(path, "unknown clock {} (expected boottime or monotonic)", quote(clock));
      }
      if (offset.nanosecs >= 1000000000)
        error(path + ".nanosecs", "must be less than 1000000000, got {}", offset.nanosecs);
    }
  }

  void check_resources(const Resources& r) {
    for (size_t i = 0; i < r.devices.size(); ++i) {
      const DeviceRule& d = r.devices[i];
      std::string path = index_path("linux.resources.devices", i);
      if (!d.type.empty() && d.type != "a" && d.type != "c" && d.type != "b") {
        error(path + ".type", "unknown device type {} (expected a, c or b)", quote(d.type));
      }
      if (d.access.find_first_not_of("rwm") != std::string::npos) {
        error(path + ".access", "{} may contain only the letters r, w and m", quote(d.access));
      }
    }
    if (r.block_io) {
      auto weight = [&](const std::string& path, const std::optional<uint16_t>& w) {
        if (w && (*w < 10 || *w > 1000)) error(path, "must be between 10 and 1000, got {}", *w);
      };
      weight("linux.resources.blockIO.weight", r.block_io->weight);
      weight("linux.resources.blockIO.leafWeight", r.block_io->leaf_weight);
      for (size_t i = 0; i < r.block_io->weight_device.size(); ++i) {
        std::string path = index_path("linux.resources.blockIO.weightDevice", i);
        weight(path + ".weight", r.block_io->weight_device[i].weight);
        weight(path + ".leafWeight", r.block_io->weight_device[i].leaf_weight);
      }
    }
  }

  void check_seccomp(const Seccomp& s) {
    bool notify = s.default_action == "SCMP_ACT_NOTIFY";
    if (!one_of(s.default_action, kSeccompActions)) {
      error("linux.seccomp.defaultAction", "unknown action {}", quote(s.default_action));
    }
    if (s.default_errno_ret && s.default_action != "SCMP_ACT_ERRNO" &&
        s.default_action != "SCMP_ACT_TRACE") {
      error("linux.seccomp.defaultErrnoRet", "only applies to SCMP_ACT_ERRNO and SCMP_ACT_TRACE");
    }
    for (size_t i = 0; i < s.architectures.size(); ++i) {
      if (s.architectures[i].rfind("SCMP_ARCH_", 0) != 0) {
        error(index_path("linux.seccomp.architectures", i), "unknown architecture {}",
              quote(s.architectures[i]));
      }
    }
    for (size_t i = 0; i < s.flags.size(); ++i) {
      if (!one_of(s.flags[i], kSeccompFlags)) {
        error(index_path("linux.seccomp.flags", i), "unknown flag {}", quote(s.flags[i]));
      }
    }
    for (size_t i = 0; i < s.syscalls.size(); ++i) {
      const SeccompSyscall& sc = s.syscalls[i];
      std::string path = index_path("linux.seccomp.syscalls", i);
      if (sc.names.empty()) error(path + ".names", "must not be empty");
      if (!one_of(sc.action, kSeccompActions))
        error(path + ".action", "unknown action {}", quote(sc.action));
      if (sc.action == "SCMP_ACT_NOTIFY") notify = true;
      if (sc.errno_ret && sc.action != "SCMP_ACT_ERRNO" && sc.action != "SCMP_ACT_TRACE") {
        error(path + ".errnoRet", "only applies to SCMP_ACT_ERRNO and SCMP_ACT_TRACE");
      }
      for (size_t k = 0; k < sc.args.size(); ++k) {
        std::string at = index_path(path + ".args", k);
        if (sc.args[k].index >= 6)
          error(at + ".index", "must be less than 6, got {}", sc.args[k].index);
        if (!one_of(sc.args[k].op, kSeccompOps))
          error(at + ".op", "unknown operator {}", quote(sc.args[k].op));
      }
    }
    if (notify && s.listener_path.empty()) {
      error("linux.seccomp.listenerPath", "must be set when SCMP_ACT_NOTIFY is used");
    } else if (!s.listener_path.empty() && !is_absolute(s.listener_path)) {
      error("linux.seccomp.listenerPath", "must be an absolute path, got {}",
            quote(s.listener_path));
    }
  }

  // Like runc: only sysctls that live in a namespace the container gets of its own.
  void check_sysctl(const std::map<std::string, std::string>& sysctl) {
    for (const auto& [raw_key, value] : sysctl) {
      std::string key = raw_key;
      for (char& c : key) {
        if (c == '/') c = '.';
      }
      std::string path = member_path("linux.sysctl", raw_key);
      if (one_of(std::string_view(key), kIpcSysctls) || key.rfind("fs.mqueue.", 0) == 0) {
        if (!has_ns(NamespaceType::Ipc)) error(path, "needs an ipc namespace in linux.namespaces");
      } else if (key.rfind("net.", 0) == 0) {
        if (!has_ns(NamespaceType::Network))
          error(path, "needs a network namespace in linux.namespaces");
      } else if (key == "kernel.hostname" || key == "kernel.domainname") {
        bool host = key == "kernel.hostname";
        if (!has_ns(NamespaceType::Uts)) {
          error(path, "needs a uts namespace in linux.namespaces");
        } else if (!(host ? spec_.hostname : spec_.domainname).empty()) {
          error(path, "conflicts with the {} field", host ? "hostname" : "domainname");
        }
      } else {
        error(path, "is not namespaced: a container cannot set it without changing the host");
      }
    }
  }

  const Spec& spec_;
  std::vector<std::string> errors_;
  size_t dropped_ = 0;
};

}  // namespace

Result<void> validate_spec(const Spec& spec) { return Validator(spec).run(); }

}  // namespace berth::oci
