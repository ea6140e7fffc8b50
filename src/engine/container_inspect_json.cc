// `docker inspect CONTAINER` (Engine API v1.43 ContainerInspectResponse): members in Docker's
// order, null where Docker's Go structs hold nil slices and maps, omitted where Docker says
// omitempty.
#include "engine/container_json.h"
#include "network/port_spec.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>

namespace berth::engine {

namespace {

using Json = nlohmann::ordered_json;

// Go's zero time.Time, which Docker prints for "never".
constexpr std::string_view kZeroTime = "0001-01-01T00:00:00Z";

template <class T>
Json or_null(const T& v) {
  return v.empty() ? Json(nullptr) : Json(v);
}

std::string time_or_zero(const std::string& t) { return t.empty() ? std::string(kZeroTime) : t; }

bool health_active(const std::optional<oci::HealthConfig>& h) {
  return h && !h->test.empty() && h->test[0] != "NONE";
}

Json health_state(const HealthState& h) {
  Json log = Json::array();
  for (const auto& r : h.log) {
    log.push_back(Json{{"Start", r.start}, {"End", r.end}, {"ExitCode", r.exit_code}, {"Output", r.output}});
  }
  return Json{{"Status", h.status.empty() ? "starting" : h.status},
              {"FailingStreak", h.failing_streak},
              {"Log", std::move(log)}};
}

Json state_json(const Container& c, bool has_health) {
  const ContainerState& s = c.state;
  Json j;
  j["Status"] = std::string(to_string(s.status));
  j["Running"] = c.running();
  j["Paused"] = s.status == ContainerStatus::Paused;
  j["Restarting"] = s.status == ContainerStatus::Restarting;
  j["OOMKilled"] = s.oom_killed;
  j["Dead"] = s.status == ContainerStatus::Dead;
  j["Pid"] = s.pid;
  j["ExitCode"] = s.exit_code;
  j["Error"] = s.error;
  j["StartedAt"] = time_or_zero(s.started_at);
  j["FinishedAt"] = time_or_zero(s.finished_at);
  // Docker creates State.Health when the container first starts with a healthcheck.
  if (!s.health.status.empty() || (has_health && !s.started_at.empty())) j["Health"] = health_state(s.health);
  return j;
}

// "10m" for 10 MiB: the largest binary unit that divides the size, as --log-opt takes it.
std::string size_text(int64_t bytes) {
  if (bytes <= 0) return fmt::format("{}", bytes);
  constexpr std::pair<int64_t, char> kUnits[] = {{1LL << 30, 'g'}, {1LL << 20, 'm'}, {1LL << 10, 'k'}};
  for (auto [unit, suffix] : kUnits) {
    if (bytes % unit == 0) return fmt::format("{}{}", bytes / unit, suffix);
  }
  return fmt::format("{}", bytes);
}

bool default_propagation(const std::string& p) { return p.empty() || p == "rprivate"; }

// The -v text of a bind or named volume mount: "src:dst[:ro,rshared,nocopy]".
std::string bind_text(const MountSpec& m) {
  std::vector<std::string> opts;
  if (m.readonly) opts.push_back("ro");
  if (m.kind == MountKind::Bind && !default_propagation(m.propagation)) opts.push_back(m.propagation);
  if (m.volume_nocopy) opts.push_back("nocopy");
  std::string text = m.source + ":" + m.target;
  if (!opts.empty()) text += ":" + fmt::format("{}", fmt::join(opts, ","));
  return text;
}

// --tmpfs's option text: "ro,size=65536,mode=1777,exec".
std::string tmpfs_text(const MountSpec& m) {
  std::vector<std::string> opts;
  if (m.readonly) opts.push_back("ro");
  if (m.tmpfs_size) opts.push_back(fmt::format("size={}", *m.tmpfs_size));
  if (m.tmpfs_mode) opts.push_back(fmt::format("mode={:o}", *m.tmpfs_mode));
  opts.insert(opts.end(), m.tmpfs_options.begin(), m.tmpfs_options.end());
  return fmt::format("{}", fmt::join(opts, ","));
}

std::string_view mount_type(MountKind kind) {
  switch (kind) {
    case MountKind::Bind: return "bind";
    case MountKind::Volume: return "volume";
    case MountKind::Tmpfs: return "tmpfs";
  }
  return "bind";
}

std::string_view restart_name(RestartName name) {
  switch (name) {
    case RestartName::No: return "no";
    case RestartName::OnFailure: return "on-failure";
    case RestartName::Always: return "always";
    case RestartName::UnlessStopped: return "unless-stopped";
  }
  return "no";
}

// The --security-opt values that differ from Docker's defaults.
std::vector<std::string> security_opts(const RunOptions& o) {
  std::vector<std::string> out;
  if (o.no_new_privileges) out.push_back("no-new-privileges=true");
  if (!o.seccomp_profile.empty()) out.push_back("seccomp=" + o.seccomp_profile);
  return out;
}

// HostConfig.PortBindings: "80/tcp" -> [{HostIp, HostPort}] as asked (HostPort "" = random).
Json port_bindings(const NetworkOptions& n) {
  std::map<std::string, Json> by_port;
  for (const auto& text : n.publish) {
    auto mappings = network::parse_publish(text);
    if (!mappings) continue;
    for (const auto& m : *mappings) {
      std::string port = m.host_port_first == 0 ? ""
                         : m.host_port_first == m.host_port_last
                             ? std::to_string(m.host_port_first)
                             : fmt::format("{}-{}", m.host_port_first, m.host_port_last);
      by_port[fmt::format("{}/{}", m.container_port, network::to_string(m.proto))].push_back(
          Json{{"HostIp", m.host_ip ? m.host_ip->str() : ""}, {"HostPort", port}});
    }
  }
  Json out = Json::object();
  for (auto& [key, bindings] : by_port) out[key] = std::move(bindings);
  return out;
}

// NetworkSettings: the published ports as bound, and each network's endpoint while it runs.
Json network_settings(const Container& c, const oci::ContainerConfig& eff) {
  // Go's encoding/json writes map keys sorted: so do these.
  std::map<std::string, Json> by_port;
  for (const auto& p : eff.exposed_ports) by_port[p] = nullptr;
  for (const auto& p : c.config.network.expose) by_port[p] = nullptr;
  for (const auto& b : c.state.ports) {
    by_port[fmt::format("{}/{}", b.container_port, b.proto)].push_back(
        Json{{"HostIp", b.host_ip}, {"HostPort", std::to_string(b.host_port)}});
  }
  Json ports = Json::object();
  for (auto& [port, bindings] : by_port) ports[port] = std::move(bindings);
  std::map<std::string, Json> by_name;
  for (const auto& a : c.config.network.attachments) {
    Json n;
    n["IPAMConfig"] = a.ipv4.empty() ? Json(nullptr) : Json{{"IPv4Address", a.ipv4}};
    n["Links"] = nullptr;
    n["Aliases"] = or_null(a.aliases);
    n["MacAddress"] = "";
    n["NetworkID"] = a.network;
    n["EndpointID"] = "";
    n["Gateway"] = "";
    n["IPAddress"] = "";
    n["IPPrefixLen"] = 0;
    n["DNSNames"] = nullptr;
    for (const auto& e : c.state.networks) {
      if (e.network_id != a.network) continue;
      n["MacAddress"] = e.mac;
      n["EndpointID"] = c.id;
      n["Gateway"] = e.gateway;
      n["IPAddress"] = e.ip;
      n["IPPrefixLen"] = e.prefix;
      n["DNSNames"] = e.dns_names;
    }
    by_name[a.name.empty() ? a.network : a.name] = std::move(n);
  }
  if (c.config.network.mode == "host" || c.config.network.mode == "none") by_name[c.config.network.mode] = Json::object();
  Json networks = Json::object();
  for (auto& [name, n] : by_name) networks[name] = std::move(n);
  Json j{{"Bridge", ""}, {"SandboxID", ""}, {"SandboxKey", c.state.pid ? fmt::format("/proc/{}/ns/net", c.state.pid) : ""},
         {"Ports", std::move(ports)}};
  const EndpointState* first = c.state.networks.empty() ? nullptr : &c.state.networks[0];
  j["Gateway"] = first ? first->gateway : "";
  j["IPAddress"] = first ? first->ip : "";
  j["IPPrefixLen"] = first ? first->prefix : 0;
  j["MacAddress"] = first ? first->mac : "";
  j["Networks"] = std::move(networks);
  return j;
}

Json host_config(const Container& c) {
  const RunOptions& o = c.config;
  Json j;
  std::vector<std::string> binds;
  Json tmpfs = Json::object();
  // From the flags, not the resolved mounts: an anonymous volume (-v /path) is no bind, even
  // after create named it.
  for (const auto& s : o.mounts) {
    if (s.kind == MountKind::Tmpfs) {
      tmpfs[s.target] = tmpfs_text(s);
    } else if (s.kind == MountKind::Bind || !s.source.empty()) {
      binds.push_back(bind_text(s));
    }
  }
  j["Binds"] = or_null(binds);
  j["ContainerIDFile"] = o.cidfile;
  j["LogConfig"] = Json{{"Type", "json-file"},
                        {"Config", Json{{"max-file", fmt::format("{}", o.log.max_file)},
                                        {"max-size", size_text(o.log.max_size)}}}};
  j["NetworkMode"] = o.network.mode;
  j["PortBindings"] = port_bindings(o.network);
  j["PublishAllPorts"] = o.network.publish_all;
  j["Dns"] = o.network.dns;
  j["DnsOptions"] = o.network.dns_options;
  j["DnsSearch"] = o.network.dns_search;
  j["ExtraHosts"] = or_null(o.network.extra_hosts);
  j["RestartPolicy"] = Json{{"Name", std::string(restart_name(o.restart.name))}, {"MaximumRetryCount", o.restart.max_retries}};
  j["AutoRemove"] = o.rm;
  j["VolumeDriver"] = "";
  j["VolumesFrom"] = nullptr;
  j["CapAdd"] = or_null(o.cap_add);
  j["CapDrop"] = or_null(o.cap_drop);
  j["GroupAdd"] = or_null(o.group_add);
  j["Privileged"] = o.privileged;
  j["ReadonlyRootfs"] = o.read_only;
  j["SecurityOpt"] = or_null(security_opts(o));
  if (!tmpfs.empty()) j["Tmpfs"] = std::move(tmpfs);
  j["ShmSize"] = o.shm_size.value_or(kDefaultShmSize);
  for (auto [key, list] : {std::pair{"BlkioDeviceReadBps", &o.device_read_bps},
                           {"BlkioDeviceWriteBps", &o.device_write_bps},
                           {"BlkioDeviceReadIOps", &o.device_read_iops},
                           {"BlkioDeviceWriteIOps", &o.device_write_iops}}) {
    Json rates = Json::array();
    for (const auto& d : *list) rates.push_back(Json{{"Path", d.path}, {"Rate", d.rate}});
    j[key] = rates.empty() ? Json(nullptr) : rates;
  }
  if (!o.sysctls.empty()) j["Sysctls"] = o.sysctls;
  j["OomScoreAdj"] = o.oom_score_adj.value_or(0);
  j["CpuShares"] = o.cpu_shares.value_or(0);
  j["CpuPeriod"] = o.cpu_period.value_or(0);
  j["CpuQuota"] = o.cpu_quota.value_or(0);
  j["Memory"] = o.memory.value_or(0);
  j["NanoCpus"] = o.nano_cpus.value_or(0);
  j["CpusetCpus"] = o.cpuset_cpus;
  j["CpusetMems"] = o.cpuset_mems;
  j["MemoryReservation"] = o.memory_reservation.value_or(0);
  j["MemorySwap"] = o.memory_swap.value_or(0);
  j["PidsLimit"] = o.pids_limit.value_or(kDefaultPidsLimit);
  Json ulimits = Json::array();
  for (const auto& u : o.ulimits) {
    // RLIM_INFINITY reads as -1, as Docker's int64 fields hold it.
    ulimits.push_back(Json{{"Name", u.name}, {"Hard", static_cast<int64_t>(u.hard)}, {"Soft", static_cast<int64_t>(u.soft)}});
  }
  j["Ulimits"] = ulimits.empty() ? Json(nullptr) : ulimits;
  j["Init"] = o.init;
  return j;
}

Json mount_json(const ResolvedMount& m) {
  const MountSpec& s = m.spec;
  Json j;
  j["Type"] = std::string(mount_type(s.kind));
  if (s.kind == MountKind::Volume) j["Name"] = m.volume.empty() ? s.source : m.volume;
  j["Source"] = m.host_path;
  j["Destination"] = s.target;
  if (s.kind == MountKind::Volume) j["Driver"] = "local";
  j["Mode"] = s.readonly ? "ro" : (s.kind == MountKind::Volume ? "z" : "");
  j["RW"] = !s.readonly;
  j["Propagation"] = s.kind == MountKind::Bind ? (s.propagation.empty() ? "rprivate" : s.propagation) : "";
  return j;
}

Json key_set(const std::vector<std::string>& keys) {
  if (keys.empty()) return nullptr;
  Json obj = Json::object();
  for (const auto& k : keys) obj[k] = Json::object();
  return obj;
}

Json config_json(const Container& c, const oci::ContainerConfig& eff) {
  const RunOptions& o = c.config;
  Json j;
  j["Hostname"] = o.hostname.empty() ? short_container_id(c.id) : o.hostname;
  j["Domainname"] = o.domainname;
  j["User"] = eff.user;
  j["AttachStdin"] = o.interactive && !o.detach;
  j["AttachStdout"] = !o.detach;
  j["AttachStderr"] = !o.detach;
  if (!eff.exposed_ports.empty()) j["ExposedPorts"] = key_set(eff.exposed_ports);
  j["Tty"] = o.tty;
  j["OpenStdin"] = o.interactive;
  j["StdinOnce"] = o.interactive && !o.detach;
  j["Env"] = or_null(eff.env);
  j["Cmd"] = or_null(eff.cmd);
  if (eff.healthcheck) {
    const oci::HealthConfig& h = *eff.healthcheck;
    Json hj;
    hj["Test"] = or_null(h.test);
    if (h.interval) hj["Interval"] = h.interval;
    if (h.timeout) hj["Timeout"] = h.timeout;
    if (h.start_period) hj["StartPeriod"] = h.start_period;
    if (h.retries) hj["Retries"] = h.retries;
    j["Healthcheck"] = std::move(hj);
  }
  j["Image"] = c.image;
  // Image volumes and anonymous -v volumes, as Docker records them.
  std::vector<std::string> volumes = eff.volumes;
  for (const auto& m : o.mounts) {
    if (m.kind == MountKind::Volume && m.source.empty() &&
        std::find(volumes.begin(), volumes.end(), m.target) == volumes.end()) {
      volumes.push_back(m.target);
    }
  }
  std::sort(volumes.begin(), volumes.end());
  j["Volumes"] = key_set(volumes);
  j["WorkingDir"] = eff.working_dir;
  j["Entrypoint"] = or_null(eff.entrypoint);
  j["OnBuild"] = nullptr;
  j["Labels"] = eff.labels.empty() ? Json::object() : Json(eff.labels);
  if (!eff.stop_signal.empty()) j["StopSignal"] = eff.stop_signal;
  if (o.stop_timeout) j["StopTimeout"] = *o.stop_timeout;
  return j;
}

}  // namespace

nlohmann::ordered_json container_inspect_json(const Container& c, const InspectPaths& paths) {
  oci::ContainerConfig eff = effective_config(c.config, c.image_config);
  Json j;
  j["Id"] = c.id;
  j["Created"] = time_or_zero(c.created);
  j["Path"] = c.path;
  j["Args"] = c.args;
  j["State"] = state_json(c, health_active(eff.healthcheck));
  j["Image"] = c.image_id;
  j["ResolvConfPath"] = paths.resolv_conf_path;
  j["HostnamePath"] = paths.hostname_path;
  j["HostsPath"] = paths.hosts_path;
  j["LogPath"] = paths.log_path;
  j["Name"] = "/" + c.name;
  j["RestartCount"] = c.state.restart_count;
  j["Driver"] = "overlay2";
  j["Platform"] = "linux";
  j["MountLabel"] = "";
  j["ProcessLabel"] = "";
  j["AppArmorProfile"] = "";
  j["ExecIDs"] = nullptr;
  j["HostConfig"] = host_config(c);
  j["GraphDriver"] = Json{{"Name", "overlay2"}, {"Data", nullptr}};
  Json mounts = Json::array();
  for (const auto& m : c.mounts) mounts.push_back(mount_json(m));
  j["Mounts"] = std::move(mounts);
  j["Config"] = config_json(c, eff);
  j["NetworkSettings"] = network_settings(c, eff);
  return j;
}

}  // namespace berth::engine
