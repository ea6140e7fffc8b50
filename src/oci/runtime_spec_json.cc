// config.json <-> Spec. Field names are those of the OCI runtime spec 1.1; unknown fields are
// ignored, wrong types and out-of-range numbers are errors naming the JSON path.
#include <exception>

#include "base/fs.h"
#include "oci/json_reader.h"
#include "oci/runtime_spec.h"

namespace berth::oci {

using jsonio::Json;
using jsonio::ObjectReader;
using OJson = nlohmann::ordered_json;

// ---- reading ---------------------------------------------------------------------------------
// Found by argument-dependent lookup from the generic readers of json_reader.h, so each reader
// is defined after the readers of its members.

static Result<void> read(const Json& j, const std::string& p, ConsoleSize& v) {
  return ObjectReader(j, p).field("height", v.height).field("width", v.width).done();
}

static Result<void> read(const Json& j, const std::string& p, User& v) {
  return ObjectReader(j, p)
      .field("uid", v.uid)
      .field("gid", v.gid)
      .field("umask", v.umask)
      .field("additionalGids", v.additional_gids)
      .done();
}

static Result<void> read(const Json& j, const std::string& p, Capabilities& v) {
  return ObjectReader(j, p)
      .field("bounding", v.bounding)
      .field("effective", v.effective)
      .field("inheritable", v.inheritable)
      .field("permitted", v.permitted)
      .field("ambient", v.ambient)
      .done();
}

static Result<void> read(const Json& j, const std::string& p, Rlimit& v) {
  return ObjectReader(j, p)
      .field("type", v.type)
      .field("hard", v.hard)
      .field("soft", v.soft)
      .done();
}

static Result<void> read(const Json& j, const std::string& p, IoPriority& v) {
  return ObjectReader(j, p).field("class", v.io_class).field("priority", v.priority).done();
}

static Result<void> read(const Json& j, const std::string& p, Scheduler& v) {
  return ObjectReader(j, p)
      .field("policy", v.policy)
      .field("nice", v.nice)
      .field("priority", v.priority)
      .field("flags", v.flags)
      .field("runtime", v.runtime)
      .field("deadline", v.deadline)
      .field("period", v.period)
      .done();
}

static Result<void> read(const Json& j, const std::string& p, Process& v) {
  return ObjectReader(j, p)
      .field("terminal", v.terminal)
      .field("consoleSize", v.console_size)
      .field("user", v.user)
      .field("args", v.args)
      .field("env", v.env)
      .field("cwd", v.cwd)
      .field("capabilities", v.capabilities)
      .field("rlimits", v.rlimits)
      .field("noNewPrivileges", v.no_new_privileges)
      .field("apparmorProfile", v.apparmor_profile)
      .field("oomScoreAdj", v.oom_score_adj)
      .field("selinuxLabel", v.selinux_label)
      .field("ioPriority", v.io_priority)
      .field("scheduler", v.scheduler)
      .done();
}

static Result<void> read(const Json& j, const std::string& p, Root& v) {
  return ObjectReader(j, p).field("path", v.path).field("readonly", v.readonly).done();
}

static Result<void> read(const Json& j, const std::string& p, IdMapping& v) {
  return ObjectReader(j, p)
      .field("containerID", v.container_id)
      .field("hostID", v.host_id)
      .field("size", v.size)
      .done();
}

static Result<void> read(const Json& j, const std::string& p, Mount& v) {
  return ObjectReader(j, p)
      .field("destination", v.destination)
      .field("type", v.type)
      .field("source", v.source)
      .field("options", v.options)
      .field("uidMappings", v.uid_mappings)
      .field("gidMappings", v.gid_mappings)
      .done();
}

static Result<void> read(const Json& j, const std::string& p, Hook& v) {
  return ObjectReader(j, p)
      .field("path", v.path)
      .field("args", v.args)
      .field("env", v.env)
      .field("timeout", v.timeout)
      .done();
}

static Result<void> read(const Json& j, const std::string& p, Hooks& v) {
  return ObjectReader(j, p)
      .field("prestart", v.prestart)
      .field("createRuntime", v.create_runtime)
      .field("createContainer", v.create_container)
      .field("startContainer", v.start_container)
      .field("poststart", v.poststart)
      .field("poststop", v.poststop)
      .done();
}

static Result<void> read(const Json& j, const std::string& p, Namespace& v) {
  std::string type;
  TRY(ObjectReader(j, p).required("type", type).field("path", v.path).done());
  auto t = namespace_from_string(type);
  if (!t)
    return jsonio::fail_at(jsonio::member_path(p, "type"), "unknown namespace {}",
                           berth::quote(type));
  v.type = *t;
  return {};
}

static Result<void> read(const Json& j, const std::string& p, TimeOffset& v) {
  return ObjectReader(j, p).field("secs", v.secs).field("nanosecs", v.nanosecs).done();
}

static Result<void> read(const Json& j, const std::string& p, Device& v) {
  return ObjectReader(j, p)
      .field("path", v.path)
      .field("type", v.type)
      .field("major", v.major)
      .field("minor", v.minor)
      .field("fileMode", v.file_mode)
      .field("uid", v.uid)
      .field("gid", v.gid)
      .done();
}

static Result<void> read(const Json& j, const std::string& p, DeviceRule& v) {
  return ObjectReader(j, p)
      .field("allow", v.allow)
      .field("type", v.type)
      .field("major", v.major)
      .field("minor", v.minor)
      .field("access", v.access)
      .done();
}

static Result<void> read(const Json& j, const std::string& p, Memory& v) {
  return ObjectReader(j, p)
      .field("limit", v.limit)
      .field("reservation", v.reservation)
      .field("swap", v.swap)
      .field("kernel", v.kernel)
      .field("kernelTCP", v.kernel_tcp)
      .field("swappiness", v.swappiness)
      .field("disableOOMKiller", v.disable_oom_killer)
      .field("useHierarchy", v.use_hierarchy)
      .field("checkBeforeUpdate", v.check_before_update)
      .done();
}

static Result<void> read(const Json& j, const std::string& p, Cpu& v) {
  return ObjectReader(j, p)
      .field("shares", v.shares)
      .field("quota", v.quota)
      .field("burst", v.burst)
      .field("period", v.period)
      .field("realtimeRuntime", v.realtime_runtime)
      .field("realtimePeriod", v.realtime_period)
      .field("cpus", v.cpus)
      .field("mems", v.mems)
      .field("idle", v.idle)
      .done();
}

static Result<void> read(const Json& j, const std::string& p, Pids& v) {
  return ObjectReader(j, p).field("limit", v.limit).done();
}

static Result<void> read(const Json& j, const std::string& p, WeightDevice& v) {
  return ObjectReader(j, p)
      .field("major", v.major)
      .field("minor", v.minor)
      .field("weight", v.weight)
      .field("leafWeight", v.leaf_weight)
      .done();
}

static Result<void> read(const Json& j, const std::string& p, ThrottleDevice& v) {
  return ObjectReader(j, p)
      .field("major", v.major)
      .field("minor", v.minor)
      .field("rate", v.rate)
      .done();
}

static Result<void> read(const Json& j, const std::string& p, BlockIo& v) {
  return ObjectReader(j, p)
      .field("weight", v.weight)
      .field("leafWeight", v.leaf_weight)
      .field("weightDevice", v.weight_device)
      .field("throttleReadBpsDevice", v.throttle_read_bps_device)
      .field("throttleWriteBpsDevice", v.throttle_write_bps_device)
      .field("throttleReadIOPSDevice", v.throttle_read_iops_device)
      .field("throttleWriteIOPSDevice", v.throttle_write_iops_device)
      .done();
}

static Result<void> read(const Json& j, const std::string& p, HugepageLimit& v) {
  return ObjectReader(j, p).field("pageSize", v.page_size).field("limit", v.limit).done();
}

static Result<void> read(const Json& j, const std::string& p, NetworkPriority& v) {
  return ObjectReader(j, p).field("name", v.name).field("priority", v.priority).done();
}

static Result<void> read(const Json& j, const std::string& p, NetworkResources& v) {
  return ObjectReader(j, p).field("classID", v.class_id).field("priorities", v.priorities).done();
}

static Result<void> read(const Json& j, const std::string& p, RdmaLimit& v) {
  return ObjectReader(j, p)
      .field("hcaHandles", v.hca_handles)
      .field("hcaObjects", v.hca_objects)
      .done();
}

static Result<void> read(const Json& j, const std::string& p, Resources& v) {
  return ObjectReader(j, p)
      .field("devices", v.devices)
      .field("memory", v.memory)
      .field("cpu", v.cpu)
      .field("pids", v.pids)
      .field("blockIO", v.block_io)
      .field("hugepageLimits", v.hugepage_limits)
      .field("network", v.network)
      .field("rdma", v.rdma)
      .field("unified", v.unified)
      .done();
}

static Result<void> read(const Json& j, const std::string& p, SeccompArg& v) {
  return ObjectReader(j, p)
      .field("index", v.index)
      .field("value", v.value)
      .field("valueTwo", v.value_two)
      .field("op", v.op)
      .done();
}

static Result<void> read(const Json& j, const std::string& p, SeccompSyscall& v) {
  return ObjectReader(j, p)
      .field("names", v.names)
      .field("action", v.action)
      .field("errnoRet", v.errno_ret)
      .field("args", v.args)
      .done();
}

static Result<void> read(const Json& j, const std::string& p, Seccomp& v) {
  return ObjectReader(j, p)
      .field("defaultAction", v.default_action)
      .field("defaultErrnoRet", v.default_errno_ret)
      .field("architectures", v.architectures)
      .field("flags", v.flags)
      .field("listenerPath", v.listener_path)
      .field("listenerMetadata", v.listener_metadata)
      .field("syscalls", v.syscalls)
      .done();
}

static Result<void> read(const Json& j, const std::string& p, Personality& v) {
  return ObjectReader(j, p).field("domain", v.domain).field("flags", v.flags).done();
}

static Result<void> read(const Json& j, const std::string& p, Linux& v) {
  return ObjectReader(j, p)
      .field("namespaces", v.namespaces)
      .field("uidMappings", v.uid_mappings)
      .field("gidMappings", v.gid_mappings)
      .field("timeOffsets", v.time_offsets)
      .field("devices", v.devices)
      .field("cgroupsPath", v.cgroups_path)
      .field("resources", v.resources)
      .field("rootfsPropagation", v.rootfs_propagation)
      .field("seccomp", v.seccomp)
      .field("sysctl", v.sysctl)
      .field("maskedPaths", v.masked_paths)
      .field("readonlyPaths", v.readonly_paths)
      .field("mountLabel", v.mount_label)
      .field("personality", v.personality)
      .done();
}

static Result<void> read(const Json& j, const std::string& p, Spec& v) {
  return ObjectReader(j, p)
      .field("ociVersion", v.oci_version)
      .field("process", v.process)
      .field("root", v.root)
      .field("hostname", v.hostname)
      .field("domainname", v.domainname)
      .field("mounts", v.mounts)
      .field("hooks", v.hooks)
      .field("annotations", v.annotations)
      .field("linux", v.linux)
      .done();
}

// Parses a whole document into T; every error starts with "<name>: ".
template <class T>
static Result<T> parse_document(std::string_view text, std::string_view name) {
  try {
    auto doc = jsonio::parse_json(text);
    if (!doc.has_value()) return Err(std::move(doc.error()).context(name));
    T out{};
    if (auto r = read(*doc, std::string(), out); !r.has_value())
      return Err(std::move(r.error()).context(name));
    return out;
  } catch (const std::exception& e) {
    return Fail(ErrorCode::Internal, "{}: {}", name, e.what());
  }
}

Result<Spec> parse_spec(std::string_view json) { return parse_document<Spec>(json, "config.json"); }

Result<Process> parse_process(std::string_view json) {
  return parse_document<Process>(json, "process.json");
}

Result<Spec> load_spec(const std::string& bundle_dir) {
  std::string path = bundle_dir + "/config.json";
  auto text = read_file(path);
  if (!text.has_value()) {
    if (text.error().code() == ErrorCode::NotFound) {
      return Fail(ErrorCode::NotFound, "{}: no such file (is {} an OCI bundle?)", path, bundle_dir);
    }
    return Err(std::move(text.error()));
  }
  return parse_document<Spec>(*text, path);
}

// ---- writing ---------------------------------------------------------------------------------
// Absent optionals, empty strings, false booleans and empty lists are left out, as runc's
// encoder (Go's omitempty) does; fields the spec requires are always written. As for reading,
// each writer is defined after the writers of its members, which value() finds by ADL.

template <class T>
static OJson value(const T& v) {
  if constexpr (std::is_arithmetic_v<T> || std::is_same_v<T, std::string>) {
    return OJson(v);
  } else {
    return write(v);
  }
}

static void put(OJson& o, const char* key, const std::string& v) {
  if (!v.empty()) o[key] = v;
}

static void put(OJson& o, const char* key, bool v) {
  if (v) o[key] = true;
}

template <class T>
static void put(OJson& o, const char* key, const std::optional<T>& v) {
  if (v) o[key] = value(*v);
}

template <class T>
static void put(OJson& o, const char* key, const std::vector<T>& v) {
  if (v.empty()) return;
  OJson a = OJson::array();
  for (const auto& e : v) a.push_back(value(e));
  o[key] = std::move(a);
}

template <class T>
static void put(OJson& o, const char* key, const std::map<std::string, T>& m) {
  if (m.empty()) return;
  OJson obj = OJson::object();
  for (const auto& [k, v] : m) obj[k] = value(v);
  o[key] = std::move(obj);
}

static OJson write(const ConsoleSize& v) { return OJson{{"height", v.height}, {"width", v.width}}; }

static OJson write(const User& v) {
  OJson o{{"uid", v.uid}, {"gid", v.gid}};
  put(o, "umask", v.umask);
  put(o, "additionalGids", v.additional_gids);
  return o;
}

static OJson write(const Capabilities& v) {
  OJson o = OJson::object();
  put(o, "bounding", v.bounding);
  put(o, "effective", v.effective);
  put(o, "inheritable", v.inheritable);
  put(o, "permitted", v.permitted);
  put(o, "ambient", v.ambient);
  return o;
}

static OJson write(const Rlimit& v) {
  return OJson{{"type", v.type}, {"hard", v.hard}, {"soft", v.soft}};
}

static OJson write(const IoPriority& v) {
  return OJson{{"class", v.io_class}, {"priority", v.priority}};
}

static OJson write(const Scheduler& v) {
  OJson o{{"policy", v.policy}};
  if (v.nice != 0) o["nice"] = v.nice;
  if (v.priority != 0) o["priority"] = v.priority;
  put(o, "flags", v.flags);
  if (v.runtime != 0) o["runtime"] = v.runtime;
  if (v.deadline != 0) o["deadline"] = v.deadline;
  if (v.period != 0) o["period"] = v.period;
  return o;
}

static OJson write(const Process& v) {
  OJson o = OJson::object();
  put(o, "terminal", v.terminal);
  put(o, "consoleSize", v.console_size);
  o["user"] = write(v.user);
  put(o, "args", v.args);
  put(o, "env", v.env);
  o["cwd"] = v.cwd;
  put(o, "capabilities", v.capabilities);
  put(o, "rlimits", v.rlimits);
  put(o, "noNewPrivileges", v.no_new_privileges);
  put(o, "apparmorProfile", v.apparmor_profile);
  put(o, "oomScoreAdj", v.oom_score_adj);
  put(o, "selinuxLabel", v.selinux_label);
  put(o, "ioPriority", v.io_priority);
  put(o, "scheduler", v.scheduler);
  return o;
}

static OJson write(const Root& v) {
  OJson o{{"path", v.path}};
  put(o, "readonly", v.readonly);
  return o;
}

static OJson write(const IdMapping& v) {
  return OJson{{"containerID", v.container_id}, {"hostID", v.host_id}, {"size", v.size}};
}

static OJson write(const Mount& v) {
  OJson o{{"destination", v.destination}};
  put(o, "type", v.type);
  put(o, "source", v.source);
  put(o, "options", v.options);
  put(o, "uidMappings", v.uid_mappings);
  put(o, "gidMappings", v.gid_mappings);
  return o;
}

static OJson write(const Hook& v) {
  OJson o{{"path", v.path}};
  put(o, "args", v.args);
  put(o, "env", v.env);
  put(o, "timeout", v.timeout);
  return o;
}

static OJson write(const Hooks& v) {
  OJson o = OJson::object();
  put(o, "prestart", v.prestart);
  put(o, "createRuntime", v.create_runtime);
  put(o, "createContainer", v.create_container);
  put(o, "startContainer", v.start_container);
  put(o, "poststart", v.poststart);
  put(o, "poststop", v.poststop);
  return o;
}

static OJson write(const Namespace& v) {
  OJson o{{"type", std::string(to_string(v.type))}};
  put(o, "path", v.path);
  return o;
}

static OJson write(const TimeOffset& v) {
  return OJson{{"secs", v.secs}, {"nanosecs", v.nanosecs}};
}

static OJson write(const Device& v) {
  OJson o{{"path", v.path}, {"type", v.type}, {"major", v.major}, {"minor", v.minor}};
  put(o, "fileMode", v.file_mode);
  put(o, "uid", v.uid);
  put(o, "gid", v.gid);
  return o;
}

static OJson write(const DeviceRule& v) {
  OJson o{{"allow", v.allow}};
  put(o, "type", v.type);
  put(o, "major", v.major);
  put(o, "minor", v.minor);
  put(o, "access", v.access);
  return o;
}

static OJson write(const Memory& v) {
  OJson o = OJson::object();
  put(o, "limit", v.limit);
  put(o, "reservation", v.reservation);
  put(o, "swap", v.swap);
  put(o, "kernel", v.kernel);
  put(o, "kernelTCP", v.kernel_tcp);
  put(o, "swappiness", v.swappiness);
  put(o, "disableOOMKiller", v.disable_oom_killer);
  put(o, "useHierarchy", v.use_hierarchy);
  put(o, "checkBeforeUpdate", v.check_before_update);
  return o;
}

static OJson write(const Cpu& v) {
  OJson o = OJson::object();
  put(o, "shares", v.shares);
  put(o, "quota", v.quota);
  put(o, "burst", v.burst);
  put(o, "period", v.period);
  put(o, "realtimeRuntime", v.realtime_runtime);
  put(o, "realtimePeriod", v.realtime_period);
  put(o, "cpus", v.cpus);
  put(o, "mems", v.mems);
  put(o, "idle", v.idle);
  return o;
}

static OJson write(const Pids& v) { return OJson{{"limit", v.limit}}; }

static OJson write(const WeightDevice& v) {
  OJson o{{"major", v.major}, {"minor", v.minor}};
  put(o, "weight", v.weight);
  put(o, "leafWeight", v.leaf_weight);
  return o;
}

static OJson write(const ThrottleDevice& v) {
  return OJson{{"major", v.major}, {"minor", v.minor}, {"rate", v.rate}};
}

static OJson write(const BlockIo& v) {
  OJson o = OJson::object();
  put(o, "weight", v.weight);
  put(o, "leafWeight", v.leaf_weight);
  put(o, "weightDevice", v.weight_device);
  put(o, "throttleReadBpsDevice", v.throttle_read_bps_device);
  put(o, "throttleWriteBpsDevice", v.throttle_write_bps_device);
  put(o, "throttleReadIOPSDevice", v.throttle_read_iops_device);
  put(o, "throttleWriteIOPSDevice", v.throttle_write_iops_device);
  return o;
}

static OJson write(const HugepageLimit& v) {
  return OJson{{"pageSize", v.page_size}, {"limit", v.limit}};
}

static OJson write(const NetworkPriority& v) {
  return OJson{{"name", v.name}, {"priority", v.priority}};
}

static OJson write(const NetworkResources& v) {
  OJson o = OJson::object();
  put(o, "classID", v.class_id);
  put(o, "priorities", v.priorities);
  return o;
}

static OJson write(const RdmaLimit& v) {
  OJson o = OJson::object();
  put(o, "hcaHandles", v.hca_handles);
  put(o, "hcaObjects", v.hca_objects);
  return o;
}

static OJson write(const Resources& v) {
  OJson o = OJson::object();
  put(o, "devices", v.devices);
  put(o, "memory", v.memory);
  put(o, "cpu", v.cpu);
  put(o, "pids", v.pids);
  put(o, "blockIO", v.block_io);
  put(o, "hugepageLimits", v.hugepage_limits);
  put(o, "network", v.network);
  put(o, "rdma", v.rdma);
  put(o, "unified", v.unified);
  return o;
}

static OJson write(const SeccompArg& v) {
  OJson o{{"index", v.index}, {"value", v.value}};
  if (v.value_two != 0) o["valueTwo"] = v.value_two;
  o["op"] = v.op;
  return o;
}

static OJson write(const SeccompSyscall& v) {
  OJson o{{"names", v.names}, {"action", v.action}};
  put(o, "errnoRet", v.errno_ret);
  put(o, "args", v.args);
  return o;
}

static OJson write(const Seccomp& v) {
  OJson o{{"defaultAction", v.default_action}};
  put(o, "defaultErrnoRet", v.default_errno_ret);
  put(o, "architectures", v.architectures);
  put(o, "flags", v.flags);
  put(o, "listenerPath", v.listener_path);
  put(o, "listenerMetadata", v.listener_metadata);
  put(o, "syscalls", v.syscalls);
  return o;
}

static OJson write(const Personality& v) {
  OJson o{{"domain", v.domain}};
  put(o, "flags", v.flags);
  return o;
}

static OJson write(const Linux& v) {
  OJson o = OJson::object();
  put(o, "namespaces", v.namespaces);
  put(o, "uidMappings", v.uid_mappings);
  put(o, "gidMappings", v.gid_mappings);
  put(o, "timeOffsets", v.time_offsets);
  put(o, "devices", v.devices);
  put(o, "cgroupsPath", v.cgroups_path);
  put(o, "resources", v.resources);
  put(o, "rootfsPropagation", v.rootfs_propagation);
  put(o, "seccomp", v.seccomp);
  put(o, "sysctl", v.sysctl);
  put(o, "maskedPaths", v.masked_paths);
  put(o, "readonlyPaths", v.readonly_paths);
  put(o, "mountLabel", v.mount_label);
  put(o, "personality", v.personality);
  return o;
}

std::string seccomp_to_json(const Seccomp& seccomp) {
  return write(seccomp).dump(-1, ' ', false, OJson::error_handler_t::replace);
}

std::string spec_to_json(const Spec& spec) {
  OJson o{{"ociVersion", spec.oci_version}};
  put(o, "process", spec.process);
  put(o, "root", spec.root);
  put(o, "hostname", spec.hostname);
  put(o, "domainname", spec.domainname);
  put(o, "mounts", spec.mounts);
  put(o, "hooks", spec.hooks);
  put(o, "annotations", spec.annotations);
  put(o, "linux", spec.linux);
  // Strings that are not UTF-8 (only possible in a spec built in code) are replaced, not thrown.
  return o.dump(2, ' ', false, OJson::error_handler_t::replace) + "\n";
}

}  // namespace berth::oci
