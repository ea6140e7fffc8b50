#include "engine/image_json.h"

namespace berth::engine {
namespace {

using Json = nlohmann::ordered_json;

// Docker writes null for empty lists and maps in image configs.
template <class T>
Json or_null(const T& v) {
  return v.empty() ? Json(nullptr) : Json(v);
}

Json set_of(const std::vector<std::string>& keys) {
  if (keys.empty()) return nullptr;
  Json obj = Json::object();
  for (const auto& k : keys) obj[k] = Json::object();
  return obj;
}

Json container_config(const oci::ContainerConfig& c) {
  Json j;
  j["Hostname"] = "";
  j["Domainname"] = "";
  j["User"] = c.user;
  j["AttachStdin"] = false;
  j["AttachStdout"] = false;
  j["AttachStderr"] = false;
  if (!c.exposed_ports.empty()) j["ExposedPorts"] = set_of(c.exposed_ports);
  j["Tty"] = false;
  j["OpenStdin"] = false;
  j["StdinOnce"] = false;
  j["Env"] = or_null(c.env);
  j["Cmd"] = or_null(c.cmd);
  if (c.healthcheck) {
    Json h;
    h["Test"] = c.healthcheck->test;
    if (c.healthcheck->interval) h["Interval"] = c.healthcheck->interval;
    if (c.healthcheck->timeout) h["Timeout"] = c.healthcheck->timeout;
    if (c.healthcheck->start_period) h["StartPeriod"] = c.healthcheck->start_period;
    if (c.healthcheck->retries) h["Retries"] = c.healthcheck->retries;
    j["Healthcheck"] = h;
  }
  if (c.args_escaped) j["ArgsEscaped"] = true;
  j["Image"] = "";
  j["Volumes"] = set_of(c.volumes);
  j["WorkingDir"] = c.working_dir;
  j["Entrypoint"] = or_null(c.entrypoint);
  j["OnBuild"] = or_null(c.on_build);
  j["Labels"] = or_null(c.labels);
  if (!c.stop_signal.empty()) j["StopSignal"] = c.stop_signal;
  if (!c.shell.empty()) j["Shell"] = c.shell;
  return j;
}

}  // namespace

nlohmann::ordered_json image_inspect_json(const ImageDetail& image) {
  const auto& r = image.record;
  const auto& c = image.config;
  Json j;
  j["Id"] = r.id;
  Json tags = Json::array(), digests = Json::array();
  for (const auto& n : r.names) tags.push_back(familiar_name(n));
  for (const auto& d : r.repo_digests) digests.push_back(familiar_name(d));
  j["RepoTags"] = tags;
  j["RepoDigests"] = digests;
  j["Parent"] = "";
  j["Comment"] = c.comment.empty() && !c.history.empty() ? c.history.back().comment : c.comment;
  j["Created"] = c.created;
  j["DockerVersion"] = c.docker_version;
  j["Author"] = c.author;
  j["Config"] = container_config(c.config);
  j["Architecture"] = c.architecture;
  if (!c.variant.empty()) j["Variant"] = c.variant;
  j["Os"] = c.os;
  if (!c.os_version.empty()) j["OsVersion"] = c.os_version;
  j["Size"] = r.size;
  j["VirtualSize"] = r.size;
  Json graph;
  graph["Data"] = Json{{"Snapshot", r.snapshot}, {"Manifest", r.manifest_digest}};
  graph["Name"] = "berth";
  j["GraphDriver"] = graph;
  Json layers = Json::array();
  for (const auto& d : c.diff_ids) layers.push_back(d.to_string());
  j["RootFS"] = Json{{"Type", "layers"}, {"Layers", layers}};
  j["Metadata"] = Json{{"LastTagTime", r.last_tag_time.empty() ? "0001-01-01T00:00:00Z" : r.last_tag_time}};
  return j;
}

}  // namespace berth::engine
