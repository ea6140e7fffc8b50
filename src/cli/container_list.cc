// berth ps | container ls: Docker's table, -a, -q, -n, -l, --filter, --format, --no-trunc.
#include <iostream>
#include <set>

#include "base/strings.h"
#include "cli/container_verbs.h"
#include "cli/output.h"

namespace berth::cli {
namespace {

struct PsFlags {
  bool all = false, quiet = false, no_trunc = false, latest = false, size = false;
  int last = -1;
  std::vector<std::string> filters;
  std::string format;
};

// Docker's STATUS column: "Up 5 seconds (healthy)", "Exited (0) 2 minutes ago", ...
std::string status_text(const engine::Container& c) {
  using engine::ContainerStatus;
  const auto& s = c.state;
  auto ago = [](const std::string& t) {
    int64_t secs = seconds_since(t);
    return secs < 0 ? std::string("") : " " + human_duration(secs) + " ago";
  };
  switch (s.status) {
    case ContainerStatus::Created: return "Created";
    case ContainerStatus::Removing: return "Removal In Progress";
    case ContainerStatus::Dead: return "Dead";
    case ContainerStatus::Exited: return fmt::format("Exited ({}){}", s.exit_code, ago(s.finished_at));
    case ContainerStatus::Restarting: return fmt::format("Restarting ({}){}", s.exit_code, ago(s.finished_at));
    case ContainerStatus::Running:
    case ContainerStatus::Paused: break;
  }
  std::string text = "Up " + human_duration(std::max<int64_t>(0, seconds_since(s.started_at)));
  if (s.status == ContainerStatus::Paused) return text + " (Paused)";
  if (s.health.status == "starting") return text + " (health: starting)";
  if (!s.health.status.empty()) return text + " (" + s.health.status + ")";
  return text;
}

// The COMMAND column: the command line quoted, cut to 20 characters with "…".
std::string command_text(const engine::Container& c, bool no_trunc) {
  std::vector<std::string> parts = {c.path};
  parts.insert(parts.end(), c.args.begin(), c.args.end());
  std::string cmd = join(parts, " ");
  if (!no_trunc && cmd.size() > 20) cmd = cmd.substr(0, 19) + "…";
  return "\"" + cmd + "\"";
}

std::string labels_text(const std::map<std::string, std::string>& labels) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : labels) parts.push_back(k + "=" + v);
  return join(parts, ",");
}

// Docker's NETWORKS column: the networks the container is configured on, or its mode.
std::string networks_text(const engine::Container& c) {
  std::vector<std::string> names;
  for (const auto& a : c.config.network.attachments) names.push_back(a.name);
  return names.empty() ? c.config.network.mode : join(names, ",");
}

// Docker's PORTS column: "0.0.0.0:8080->80/tcp, 443/tcp" (published while running, and the
// exposed ports).
std::string ports_text(const engine::Container& c) {
  std::vector<std::string> parts;
  std::set<std::string> published;
  for (const auto& p : c.state.ports) {
    std::string port = fmt::format("{}/{}", p.container_port, p.proto);
    published.insert(port);
    parts.push_back(fmt::format("{}:{}->{}", p.host_ip, p.host_port, port));
  }
  std::set<std::string> exposed(c.image_config.config.exposed_ports.begin(), c.image_config.config.exposed_ports.end());
  exposed.insert(c.config.network.expose.begin(), c.config.network.expose.end());
  for (const auto& port : exposed) {
    if (!published.contains(port)) parts.push_back(port);
  }
  return join(parts, ", ");
}

void run_ps(EngineGlobals& g, const PsFlags& flags) {
  auto svc = g.containers();
  if (!svc) return;
  engine::ListFilter filter;
  filter.all = flags.all || flags.latest || flags.last >= 0;
  filter.filters = flags.filters;
  filter.last = flags.latest ? 1 : flags.last;
  auto list = svc->list(filter);
  if (!list) return fail(g, list.error());
  if (flags.quiet) {
    for (const auto& c : *list) std::cout << (flags.no_trunc ? c.id : engine::short_container_id(c.id)) << "\n";
    return;
  }
  std::vector<Row> rows;
  for (const auto& c : *list) {
    Row row;
    auto labels = c.image_config.config.labels;
    for (const auto& [k, v] : c.config.labels) labels[k] = v;
    std::vector<std::string> mounts;
    for (const auto& m : c.mounts) mounts.push_back(m.volume.empty() ? m.host_path : m.volume);
    int64_t age = seconds_since(c.created);
    row["Command"] = command_text(c, flags.no_trunc);
    row["CreatedAt"] = docker_time(c.created);
    row["ID"] = flags.no_trunc ? c.id : engine::short_container_id(c.id);
    row["Image"] = c.image;
    row["Labels"] = labels_text(labels);
    row["LocalVolumes"] = std::to_string(std::count_if(c.mounts.begin(), c.mounts.end(), [](auto& m) { return !m.volume.empty(); }));
    row["Mounts"] = join(mounts, ",");
    row["Names"] = c.name;
    row["Networks"] = networks_text(c);
    row["Ports"] = ports_text(c);
    row["RunningFor"] = age < 0 ? "" : human_duration(age) + " ago";
    row["Size"] = "N/A";
    row["State"] = std::string(engine::to_string(c.state.status));
    row["Status"] = status_text(c);
    rows.push_back(std::move(row));
  }
  std::string table =
      "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{.Status}}\\t{{.Ports}}\\t{{.Names}}";
  auto out = render(rows, flags.format, table,
                    {{"ID", "CONTAINER ID"}, {"RunningFor", "CREATED"}, {"CreatedAt", "CREATED AT"},
                     {"LocalVolumes", "LOCAL VOLUMES"}});
  if (!out) return fail(g, out.error());
  std::cout << *out;
}

void define(CLI::App* cmd, EngineGlobals& g) {
  auto flags = std::make_shared<PsFlags>();
  cmd->add_flag("-a,--all", flags->all, "Show all containers (default shows just running)");
  cmd->add_option("-f,--filter", flags->filters, "Filter output based on conditions provided")->allow_extra_args(false);
  cmd->add_option("--format", flags->format, "'table', 'json', or a Go template such as '{{.Names}}'");
  cmd->add_option("-n,--last", flags->last, "Show n last created containers (includes all states)");
  cmd->add_flag("-l,--latest", flags->latest, "Show the latest created container (includes all states)");
  cmd->add_flag("--no-trunc", flags->no_trunc, "Don't truncate output");
  cmd->add_flag("-q,--quiet", flags->quiet, "Only display container IDs");
  cmd->add_flag("-s,--size", flags->size, "Display total file sizes (shown as N/A)");
  cmd->callback([&g, flags] { run_ps(g, *flags); });
}

}  // namespace

void add_ps(CLI::App& app, CLI::App& container, EngineGlobals& g) {
  define(app.add_subcommand("ps", "List containers"), g);
  define(container.add_subcommand("ls", "List containers")->alias("list")->alias("ps"), g);
}

}  // namespace berth::cli
