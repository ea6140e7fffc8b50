// The storage form of a container in berth.db: snake_case members, enums as Docker's words,
// optional flags absent when unset, the image config nested as its own canonical JSON. Read
// with oci::jsonio so a bad value names its path ("config.mounts[1].kind: ...") and absent
// members keep the model's defaults.
#include "engine/container_json.h"

#include <algorithm>

#include "oci/json_reader.h"

namespace berth::engine {

namespace {

using OJson = nlohmann::ordered_json;
using oci::jsonio::Json;
using oci::jsonio::ObjectReader;

template <class E>
struct EnumName {
  E value;
  std::string_view name;
};

constexpr EnumName<MountKind> kMountKinds[] = {
    {MountKind::Bind, "bind"}, {MountKind::Volume, "volume"}, {MountKind::Tmpfs, "tmpfs"}};
constexpr EnumName<RestartName> kRestartNames[] = {{RestartName::No, "no"},
                                                   {RestartName::OnFailure, "on-failure"},
                                                   {RestartName::Always, "always"},
                                                   {RestartName::UnlessStopped, "unless-stopped"}};
constexpr EnumName<SecurityProfile> kProfiles[] = {{SecurityProfile::Default, "default"},
                                                   {SecurityProfile::Strict, "strict"}};

template <class E, size_t N>
std::string enum_name(const EnumName<E> (&table)[N], E value) {
  for (const auto& e : table) {
    if (e.value == value) return std::string(e.name);
  }
  return "unknown";
}

template <class E, size_t N>
Result<void> read_enum(const EnumName<E> (&table)[N], const Json& j, const std::string& path, E& out) {
  std::string text;
  TRY(oci::jsonio::read(j, path, text));
  for (const auto& e : table) {
    if (e.name == text) {
      out = e.value;
      return {};
    }
  }
  std::string names;
  for (const auto& e : table) names += (names.empty() ? "" : ", ") + std::string(e.name);
  return oci::jsonio::fail_at(path, "unknown value {}, expected one of {}", quote(text), names);
}

// Never throws: text that is not UTF-8 (possible in env values or health output) is replaced.
std::string dump(const OJson& j) { return j.dump(-1, ' ', false, OJson::error_handler_t::replace); }

template <class T>
void put_optional(OJson& o, const char* key, const std::optional<T>& v) {
  if (v) o[key] = *v;
}

OJson write(const MountSpec& m) {
  OJson o = OJson::object();
  o["kind"] = enum_name(kMountKinds, m.kind);
  o["source"] = m.source;
  o["target"] = m.target;
  o["readonly"] = m.readonly;
  o["propagation"] = m.propagation;
  put_optional(o, "tmpfs_size", m.tmpfs_size);
  put_optional(o, "tmpfs_mode", m.tmpfs_mode);
  o["tmpfs_options"] = m.tmpfs_options;
  o["volume_nocopy"] = m.volume_nocopy;
  return o;
}

OJson write(const NetworkOptions& n) {
  OJson attachments = OJson::array();
  for (const auto& a : n.attachments)
    attachments.push_back(OJson{{"network", a.network}, {"name", a.name}, {"aliases", a.aliases}, {"ipv4", a.ipv4}});
  return OJson{{"mode", n.mode},       {"attachments", std::move(attachments)},
               {"publish", n.publish}, {"publish_all", n.publish_all},
               {"expose", n.expose},   {"dns", n.dns},
               {"dns_search", n.dns_search}, {"dns_options", n.dns_options},
               {"extra_hosts", n.extra_hosts}};
}

OJson write(const RunOptions& r) {
  OJson o = OJson::object();
  o["image"] = r.image;
  o["command"] = r.command;
  o["name"] = r.name;
  o["detach"] = r.detach;
  o["rm"] = r.rm;
  o["interactive"] = r.interactive;
  o["tty"] = r.tty;
  o["env"] = r.env;
  OJson mounts = OJson::array();
  for (const auto& m : r.mounts) mounts.push_back(write(m));
  o["mounts"] = std::move(mounts);
  o["read_only"] = r.read_only;
  put_optional(o, "user", r.user);
  o["group_add"] = r.group_add;
  o["cap_add"] = r.cap_add;
  o["cap_drop"] = r.cap_drop;
  o["no_new_privileges"] = r.no_new_privileges;
  o["seccomp_profile"] = r.seccomp_profile;
  o["privileged"] = r.privileged;
  put_optional(o, "memory", r.memory);
  put_optional(o, "memory_swap", r.memory_swap);
  put_optional(o, "nano_cpus", r.nano_cpus);
  o["cpuset_cpus"] = r.cpuset_cpus;
  o["cpuset_mems"] = r.cpuset_mems;
  put_optional(o, "memory_reservation", r.memory_reservation);
  put_optional(o, "cpu_shares", r.cpu_shares);
  put_optional(o, "cpu_period", r.cpu_period);
  put_optional(o, "cpu_quota", r.cpu_quota);
  put_optional(o, "shm_size", r.shm_size);
  for (auto [key, list] : {std::pair{"device_read_bps", &r.device_read_bps},
                           {"device_write_bps", &r.device_write_bps},
                           {"device_read_iops", &r.device_read_iops},
                           {"device_write_iops", &r.device_write_iops}}) {
    OJson rates = OJson::array();
    for (const auto& d : *list) rates.push_back(OJson{{"path", d.path}, {"rate", d.rate}});
    o[key] = std::move(rates);
  }
  o["sysctls"] = r.sysctls;
  put_optional(o, "oom_score_adj", r.oom_score_adj);
  o["domainname"] = r.domainname;
  put_optional(o, "pids_limit", r.pids_limit);
  OJson ulimits = OJson::array();
  for (const auto& u : r.ulimits) ulimits.push_back(OJson{{"name", u.name}, {"soft", u.soft}, {"hard", u.hard}});
  o["ulimits"] = std::move(ulimits);
  o["restart"] = OJson{{"name", enum_name(kRestartNames, r.restart.name)}, {"max_retries", r.restart.max_retries}};
  OJson health = OJson::object();
  health["cmd"] = r.health.cmd;
  put_optional(health, "interval", r.health.interval);
  put_optional(health, "timeout", r.health.timeout);
  put_optional(health, "start_period", r.health.start_period);
  put_optional(health, "retries", r.health.retries);
  health["none"] = r.health.none;
  o["health"] = std::move(health);
  o["init"] = r.init;
  o["workdir"] = r.workdir;
  put_optional(o, "entrypoint", r.entrypoint);
  o["hostname"] = r.hostname;
  o["labels"] = r.labels;
  o["cidfile"] = r.cidfile;
  o["stop_signal"] = r.stop_signal;
  put_optional(o, "stop_timeout", r.stop_timeout);
  o["log"] = OJson{{"max_size", r.log.max_size}, {"max_file", r.log.max_file}};
  OJson secrets = OJson::array();
  for (const auto& s : r.secrets) {
    secrets.push_back(OJson{{"name", s.name}, {"target", s.target}, {"uid", s.uid}, {"gid", s.gid}, {"mode", s.mode}});
  }
  o["secrets"] = std::move(secrets);
  o["security_profile"] = enum_name(kProfiles, r.security_profile);
  o["network"] = write(r.network);
  return o;
}

OJson write(const ContainerState& s) {
  OJson o = OJson::object();
  o["status"] = std::string(to_string(s.status));
  o["pid"] = s.pid;
  o["monitor_pid"] = s.monitor_pid;
  o["exit_code"] = s.exit_code;
  o["oom_killed"] = s.oom_killed;
  o["error"] = s.error;
  o["started_at"] = s.started_at;
  o["finished_at"] = s.finished_at;
  o["restart_count"] = s.restart_count;
  o["manually_stopped"] = s.manually_stopped;
  OJson log = OJson::array();
  for (const auto& h : s.health.log) {
    log.push_back(OJson{{"start", h.start}, {"end", h.end}, {"exit_code", h.exit_code}, {"output", h.output}});
  }
  o["health"] = OJson{{"status", s.health.status}, {"failing_streak", s.health.failing_streak}, {"log", std::move(log)}};
  OJson networks = OJson::array();
  for (const auto& e : s.networks) {
    networks.push_back(OJson{{"network_id", e.network_id}, {"network", e.network}, {"ip", e.ip},
                             {"prefix", e.prefix}, {"gateway", e.gateway}, {"mac", e.mac},
                             {"bridge", e.bridge}, {"veth", e.veth}, {"interface", e.interface},
                             {"dns_names", e.dns_names}, {"dns_server", e.dns_server}});
  }
  o["networks"] = std::move(networks);
  OJson ports = OJson::array();
  for (const auto& p : s.ports) {
    ports.push_back(OJson{{"host_ip", p.host_ip}, {"host_port", p.host_port},
                          {"container_port", p.container_port}, {"proto", p.proto}});
  }
  o["ports"] = std::move(ports);
  return o;
}

// The image config is stored as the object oci::to_json writes, so it reads back with the
// OCI parser (and its error paths) unchanged.
OJson image_config_object(const oci::ImageConfig& config) {
  OJson j = OJson::parse(oci::to_json(config), nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? OJson::object() : j;
}

}  // namespace

// Readers found by argument-dependent lookup from oci::jsonio's templates.
Result<void> read(const Json& j, const std::string& path, MountKind& out) {
  return read_enum(kMountKinds, j, path, out);
}
Result<void> read(const Json& j, const std::string& path, RestartName& out) {
  return read_enum(kRestartNames, j, path, out);
}
Result<void> read(const Json& j, const std::string& path, SecurityProfile& out) {
  return read_enum(kProfiles, j, path, out);
}
Result<void> read(const Json& j, const std::string& path, ContainerStatus& out) {
  std::string text;
  TRY(oci::jsonio::read(j, path, text));
  auto status = parse_container_status(text);
  if (!status) return oci::jsonio::fail_at(path, "unknown container status {}", quote(text));
  out = *status;
  return {};
}

Result<void> read(const Json& j, const std::string& path, MountSpec& m) {
  return ObjectReader(j, path)
      .field("kind", m.kind)
      .field("source", m.source)
      .field("target", m.target)
      .field("readonly", m.readonly)
      .field("propagation", m.propagation)
      .field("tmpfs_size", m.tmpfs_size)
      .field("tmpfs_mode", m.tmpfs_mode)
      .field("tmpfs_options", m.tmpfs_options)
      .field("volume_nocopy", m.volume_nocopy)
      .done();
}

Result<void> read(const Json& j, const std::string& path, DeviceRate& d) {
  return ObjectReader(j, path).field("path", d.path).field("rate", d.rate).done();
}

Result<void> read(const Json& j, const std::string& path, Ulimit& u) {
  return ObjectReader(j, path).field("name", u.name).field("soft", u.soft).field("hard", u.hard).done();
}

Result<void> read(const Json& j, const std::string& path, RestartPolicy& r) {
  return ObjectReader(j, path).field("name", r.name).field("max_retries", r.max_retries).done();
}

Result<void> read(const Json& j, const std::string& path, HealthOptions& h) {
  return ObjectReader(j, path)
      .field("cmd", h.cmd)
      .field("interval", h.interval)
      .field("timeout", h.timeout)
      .field("start_period", h.start_period)
      .field("retries", h.retries)
      .field("none", h.none)
      .done();
}

Result<void> read(const Json& j, const std::string& path, LogOptions& l) {
  return ObjectReader(j, path).field("max_size", l.max_size).field("max_file", l.max_file).done();
}

Result<void> read(const Json& j, const std::string& path, SecretRef& s) {
  return ObjectReader(j, path)
      .field("name", s.name)
      .field("target", s.target)
      .field("uid", s.uid)
      .field("gid", s.gid)
      .field("mode", s.mode)
      .done();
}

Result<void> read(const Json& j, const std::string& path, NetworkAttachment& a) {
  return ObjectReader(j, path)
      .field("network", a.network)
      .field("name", a.name)
      .field("aliases", a.aliases)
      .field("ipv4", a.ipv4)
      .done();
}

Result<void> read(const Json& j, const std::string& path, NetworkOptions& n) {
  return ObjectReader(j, path)
      .field("mode", n.mode)
      .field("attachments", n.attachments)
      .field("publish", n.publish)
      .field("publish_all", n.publish_all)
      .field("expose", n.expose)
      .field("dns", n.dns)
      .field("dns_search", n.dns_search)
      .field("dns_options", n.dns_options)
      .field("extra_hosts", n.extra_hosts)
      .done();
}

Result<void> read(const Json& j, const std::string& path, EndpointState& e) {
  return ObjectReader(j, path)
      .field("network_id", e.network_id)
      .field("network", e.network)
      .field("ip", e.ip)
      .field("prefix", e.prefix)
      .field("gateway", e.gateway)
      .field("mac", e.mac)
      .field("bridge", e.bridge)
      .field("veth", e.veth)
      .field("interface", e.interface)
      .field("dns_names", e.dns_names)
      .field("dns_server", e.dns_server)
      .done();
}

Result<void> read(const Json& j, const std::string& path, PortBinding& p) {
  return ObjectReader(j, path)
      .field("host_ip", p.host_ip)
      .field("host_port", p.host_port)
      .field("container_port", p.container_port)
      .field("proto", p.proto)
      .done();
}

Result<void> read(const Json& j, const std::string& path, RunOptions& r) {
  return ObjectReader(j, path)
      .field("image", r.image)
      .field("command", r.command)
      .field("name", r.name)
      .field("detach", r.detach)
      .field("rm", r.rm)
      .field("interactive", r.interactive)
      .field("tty", r.tty)
      .field("env", r.env)
      .field("mounts", r.mounts)
      .field("read_only", r.read_only)
      .field("user", r.user)
      .field("group_add", r.group_add)
      .field("cap_add", r.cap_add)
      .field("cap_drop", r.cap_drop)
      .field("no_new_privileges", r.no_new_privileges)
      .field("seccomp_profile", r.seccomp_profile)
      .field("privileged", r.privileged)
      .field("memory", r.memory)
      .field("memory_swap", r.memory_swap)
      .field("nano_cpus", r.nano_cpus)
      .field("cpuset_cpus", r.cpuset_cpus)
      .field("cpuset_mems", r.cpuset_mems)
      .field("memory_reservation", r.memory_reservation)
      .field("cpu_shares", r.cpu_shares)
      .field("cpu_period", r.cpu_period)
      .field("cpu_quota", r.cpu_quota)
      .field("shm_size", r.shm_size)
      .field("device_read_bps", r.device_read_bps)
      .field("device_write_bps", r.device_write_bps)
      .field("device_read_iops", r.device_read_iops)
      .field("device_write_iops", r.device_write_iops)
      .field("sysctls", r.sysctls)
      .field("oom_score_adj", r.oom_score_adj)
      .field("domainname", r.domainname)
      .field("pids_limit", r.pids_limit)
      .field("ulimits", r.ulimits)
      .field("restart", r.restart)
      .field("health", r.health)
      .field("init", r.init)
      .field("workdir", r.workdir)
      .field("entrypoint", r.entrypoint)
      .field("hostname", r.hostname)
      .field("labels", r.labels)
      .field("cidfile", r.cidfile)
      .field("stop_signal", r.stop_signal)
      .field("stop_timeout", r.stop_timeout)
      .field("log", r.log)
      .field("secrets", r.secrets)
      .field("security_profile", r.security_profile)
      .field("network", r.network)
      .done();
}

Result<void> read(const Json& j, const std::string& path, HealthResult& h) {
  return ObjectReader(j, path)
      .field("start", h.start)
      .field("end", h.end)
      .field("exit_code", h.exit_code)
      .field("output", h.output)
      .done();
}

Result<void> read(const Json& j, const std::string& path, HealthState& h) {
  return ObjectReader(j, path)
      .field("status", h.status)
      .field("failing_streak", h.failing_streak)
      .field("log", h.log)
      .done();
}

Result<void> read(const Json& j, const std::string& path, ContainerState& s) {
  return ObjectReader(j, path)
      .field("status", s.status)
      .field("pid", s.pid)
      .field("monitor_pid", s.monitor_pid)
      .field("exit_code", s.exit_code)
      .field("oom_killed", s.oom_killed)
      .field("error", s.error)
      .field("started_at", s.started_at)
      .field("finished_at", s.finished_at)
      .field("restart_count", s.restart_count)
      .field("manually_stopped", s.manually_stopped)
      .field("health", s.health)
      .field("networks", s.networks)
      .field("ports", s.ports)
      .done();
}

Result<void> read(const Json& j, const std::string& path, ResolvedMount& m) {
  return ObjectReader(j, path)
      .field("spec", m.spec)
      .field("host_path", m.host_path)
      .field("volume", m.volume)
      .done();
}

std::string container_to_json(const Container& c) {
  OJson o = OJson::object();
  o["id"] = c.id;
  o["name"] = c.name;
  o["image"] = c.image;
  o["image_id"] = c.image_id;
  o["created"] = c.created;
  o["config"] = write(c.config);
  o["image_config"] = image_config_object(c.image_config);
  OJson mounts = OJson::array();
  for (const auto& m : c.mounts) {
    mounts.push_back(OJson{{"spec", write(m.spec)}, {"host_path", m.host_path}, {"volume", m.volume}});
  }
  o["mounts"] = std::move(mounts);
  o["path"] = c.path;
  o["args"] = c.args;
  o["state"] = write(c.state);
  return dump(o);
}

Result<Container> container_from_json(std::string_view json) {
  Json j = TRY_CTX("parse container JSON", oci::jsonio::parse_json(json));
  Container c;
  TRY(ObjectReader(j, "")
          .field("id", c.id)
          .field("name", c.name)
          .field("image", c.image)
          .field("image_id", c.image_id)
          .field("created", c.created)
          .field("config", c.config)
          .field("mounts", c.mounts)
          .field("path", c.path)
          .field("args", c.args)
          .field("state", c.state)
          .done());
  if (auto it = j.find("image_config"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return oci::jsonio::type_error("image_config", "an object", *it);
    auto config = oci::parse_image_config(it->dump(-1, ' ', false, Json::error_handler_t::replace));
    if (!config) return oci::jsonio::fail_at("image_config", "{}", config.error().what());
    c.image_config = std::move(*config);
  }
  return c;
}

std::string container_state_to_json(const ContainerState& s) { return dump(write(s)); }

Result<ContainerState> container_state_from_json(std::string_view json) {
  Json j = TRY_CTX("parse container state JSON", oci::jsonio::parse_json(json));
  ContainerState s;
  TRY(read(j, "", s));
  return s;
}

namespace {

std::string env_key(std::string_view kv) { return std::string(kv.substr(0, kv.find('='))); }

std::optional<oci::HealthConfig> effective_health(const HealthOptions& h,
                                                  const std::optional<oci::HealthConfig>& image) {
  if (h.none) return oci::HealthConfig{.test = {"NONE"}};
  bool any = !h.cmd.empty() || h.interval || h.timeout || h.start_period || h.retries;
  if (!any) return image;
  oci::HealthConfig out = image.value_or(oci::HealthConfig{});
  if (!h.cmd.empty()) out.test = {"CMD-SHELL", h.cmd};
  if (h.interval) out.interval = *h.interval;
  if (h.timeout) out.timeout = *h.timeout;
  if (h.start_period) out.start_period = *h.start_period;
  if (h.retries) out.retries = *h.retries;
  return out;
}

}  // namespace

oci::ContainerConfig effective_config(const RunOptions& opts, const oci::ImageConfig& image) {
  oci::ContainerConfig c = image.config;
  for (const auto& kv : opts.env) {
    std::string key = env_key(kv);
    auto it = std::find_if(c.env.begin(), c.env.end(), [&](const std::string& e) { return env_key(e) == key; });
    if (it != c.env.end()) {
      *it = kv;
    } else {
      c.env.push_back(kv);
    }
  }
  if (opts.entrypoint) {
    c.entrypoint.clear();
    if (!opts.entrypoint->empty()) c.entrypoint.push_back(*opts.entrypoint);
    c.cmd.clear();
  }
  if (!opts.command.empty()) c.cmd = opts.command;
  if (opts.user) c.user = *opts.user;
  if (!opts.workdir.empty()) c.working_dir = opts.workdir;
  for (const auto& [k, v] : opts.labels) c.labels[k] = v;
  if (!opts.stop_signal.empty()) c.stop_signal = opts.stop_signal;
  c.healthcheck = effective_health(opts.health, image.config.healthcheck);
  return c;
}

}  // namespace berth::engine
