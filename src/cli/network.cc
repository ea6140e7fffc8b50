// berth network create | ls | inspect | rm | prune | connect | disconnect, with Docker's
// flags and output.
#include <algorithm>
#include <iostream>
#include <memory>

#include "base/strings.h"
#include "cli/engine_cli.h"
#include "cli/flag_values.h"
#include "cli/output.h"
#include "engine/network_service.h"

namespace berth::cli {
namespace {

struct CreateFlags {
  std::string name;
  std::string driver = "bridge";
  std::string subnet, gateway, ip_range;
  bool internal = false, attachable = false, ipv6 = false;
  std::vector<std::string> labels;
};

void run_create(EngineGlobals& g, const CreateFlags& f) {
  if (f.ipv6) return fail(g, "berth networks are IPv4 only for now: --ipv6 is not supported");
  auto containers = g.containers();
  if (!containers) return;
  engine::NetworkCreateRequest req;
  req.name = f.name;
  req.driver = f.driver;
  req.subnet = f.subnet;
  req.gateway = f.gateway;
  req.ip_range = f.ip_range;
  req.internal = f.internal;
  req.labels = key_values(f.labels);
  auto n = containers->networks().create(req);
  if (!n) return fail(g, n.error());
  std::cout << n->id << "\n";
}

Row inspect_json(engine::ContainerService& containers, const engine::Network& n) {
  Row j;
  j["Name"] = n.name;
  j["Id"] = n.id;
  j["Created"] = n.created.empty() ? "0001-01-01T00:00:00Z" : n.created;
  j["Scope"] = "local";
  j["Driver"] = n.driver;
  j["EnableIPv6"] = false;
  Row ipam;
  ipam["Driver"] = "default";
  ipam["Options"] = Row::object();
  ipam["Config"] = Row::array();
  if (n.driver == "bridge") {
    Row config;
    config["Subnet"] = n.subnet.str();
    if (n.ip_range) config["IPRange"] = n.ip_range->str();
    config["Gateway"] = n.gateway.str();
    ipam["Config"].push_back(config);
  }
  j["IPAM"] = ipam;
  j["Internal"] = n.internal;
  j["Attachable"] = false;
  j["Ingress"] = false;
  j["ConfigFrom"] = Row{{"Network", ""}};
  j["ConfigOnly"] = false;
  Row members = Row::object();
  if (auto ids = containers.networks().containers_on(n)) {
    for (const auto& id : *ids) {
      auto c = containers.get(id);
      if (!c) continue;
      Row m;
      m["Name"] = c->name;
      m["EndpointID"] = "";
      m["MacAddress"] = "";
      m["IPv4Address"] = "";
      m["IPv6Address"] = "";
      for (const auto& e : c->state.networks) {
        if (e.network_id != n.id) continue;
        m["EndpointID"] = id;
        m["MacAddress"] = e.mac;
        m["IPv4Address"] = fmt::format("{}/{}", e.ip, e.prefix);
      }
      members[id] = m;
    }
  }
  j["Containers"] = members;
  Row options = Row::object();
  if (n.driver == "bridge") options["com.docker.network.bridge.name"] = n.bridge;
  j["Options"] = options;
  j["Labels"] = Row::object();
  for (const auto& [k, v] : n.labels) j["Labels"][k] = v;
  return j;
}

struct ListFlags {
  bool quiet = false, no_trunc = false;
  std::vector<std::string> filters;
  std::string format;
};

void run_list(EngineGlobals& g, const ListFlags& f) {
  auto containers = g.containers();
  if (!containers) return;
  auto list = containers->networks().list(f.filters);
  if (!list) return fail(g, list.error());
  std::sort(list->begin(), list->end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::vector<Row> rows;
  for (const auto& n : *list) {
    std::string id = f.no_trunc ? n.id : n.id.substr(0, 12);
    if (f.quiet) {
      std::cout << id << "\n";
      continue;
    }
    Row row;
    row["CreatedAt"] = n.created;
    row["Driver"] = n.driver;
    row["ID"] = id;
    row["IPv6"] = "false";
    row["Internal"] = n.internal ? "true" : "false";
    std::vector<std::string> labels;
    for (const auto& [k, v] : n.labels) labels.push_back(k + "=" + v);
    row["Labels"] = join(labels, ",");
    row["Name"] = n.name;
    row["Scope"] = "local";
    rows.push_back(std::move(row));
  }
  if (f.quiet) return;
  auto out = render(rows, f.format, "table {{.ID}}\\t{{.Name}}\\t{{.Driver}}\\t{{.Scope}}", {{"ID", "NETWORK ID"}});
  if (!out) return fail(g, out.error());
  std::cout << *out;
}

void run_inspect(EngineGlobals& g, const std::vector<std::string>& refs, const std::string& format) {
  auto containers = g.containers();
  if (!containers) return;
  std::vector<Row> found;
  for (const auto& ref : refs) {
    auto n = containers->networks().get(ref);
    if (!n) {
      fail(g, n.error());
      continue;
    }
    found.push_back(inspect_json(*containers, *n));
  }
  print_inspect(g, found, format);
}

void run_remove(EngineGlobals& g, const std::vector<std::string>& refs, bool force) {
  auto containers = g.containers();
  if (!containers) return;
  for (const auto& ref : refs) {
    auto r = containers->networks().remove(ref);
    if (!r) {
      if (!(force && r.error().code() == ErrorCode::NotFound)) fail(g, r.error());
      continue;
    }
    std::cout << ref << "\n";
  }
}

void run_prune(EngineGlobals& g, const std::vector<std::string>& filters, bool force) {
  if (!confirm("This will remove all custom networks not used by at least one container.", force)) return;
  auto containers = g.containers();
  if (!containers) return;
  auto removed = containers->networks().prune(filters);
  if (!removed) return fail(g, removed.error());
  if (removed->empty()) return;
  std::cout << "Deleted Networks:\n";
  for (const auto& name : *removed) std::cout << name << "\n";
  std::cout << "\n";
}

struct ConnectFlags {
  std::string network, container, ip;
  std::vector<std::string> aliases;
};

void run_connect(EngineGlobals& g, const ConnectFlags& f) {
  auto containers = g.containers();
  if (!containers) return;
  engine::NetworkAttachment a;
  a.network = f.network;
  a.aliases = f.aliases;
  a.ipv4 = f.ip;
  if (auto r = containers->connect(f.container, a); !r) fail(g, r.error());
}

void run_disconnect(EngineGlobals& g, const std::string& network, const std::string& container, bool force) {
  auto containers = g.containers();
  if (!containers) return;
  if (auto r = containers->disconnect(container, network, force); !r) fail(g, r.error());
}

}  // namespace

void add_network(CLI::App& app, EngineGlobals& g) {
  CLI::App* network = app.add_subcommand("network", "Manage networks");
  network->require_subcommand(1);

  auto* create = network->add_subcommand("create", "Create a network");
  auto cf = std::make_shared<CreateFlags>();
  create->add_option("name", cf->name, "NETWORK")->required();
  create->add_option("-d,--driver", cf->driver, "Driver to manage the Network (bridge)")->capture_default_str();
  create->add_option("--subnet", cf->subnet, "Subnet in CIDR format that represents a network segment");
  create->add_option("--gateway", cf->gateway, "IPv4 Gateway for the master subnet");
  create->add_option("--ip-range", cf->ip_range, "Allocate container ip from a sub-range");
  create->add_flag("--internal", cf->internal, "Restrict external access to the network");
  create->add_flag("--attachable", cf->attachable, "Accepted for compatibility (every berth network is)");
  create->add_flag("--ipv6", cf->ipv6, "Enable IPv6 networking (not supported yet)");
  create->add_option("--label", cf->labels, "Set metadata on a network")->allow_extra_args(false);
  create->callback([&g, cf] { run_create(g, *cf); });

  auto* ls = network->add_subcommand("ls", "List networks")->alias("list");
  auto lf = std::make_shared<ListFlags>();
  ls->add_flag("-q,--quiet", lf->quiet, "Only display network IDs");
  ls->add_flag("--no-trunc", lf->no_trunc, "Do not truncate the output");
  ls->add_option("-f,--filter", lf->filters, "Provide filter values (e.g. 'driver=bridge')")->allow_extra_args(false);
  ls->add_option("--format", lf->format, "'table', 'json', or a Go template such as '{{.Name}}'");
  ls->callback([&g, lf] { run_list(g, *lf); });

  auto* inspect = network->add_subcommand("inspect", "Display detailed information on one or more networks");
  auto inames = std::make_shared<std::vector<std::string>>();
  auto iformat = std::make_shared<std::string>();
  inspect->add_option("network", *inames, "NETWORK [NETWORK...]")->required();
  inspect->add_option("-f,--format", *iformat, "'json' or a Go template such as '{{.IPAM}}'");
  inspect->callback([&g, inames, iformat] { run_inspect(g, *inames, *iformat); });

  auto* rm = network->add_subcommand("rm", "Remove one or more networks")->alias("remove");
  auto rnames = std::make_shared<std::vector<std::string>>();
  auto rforce = std::make_shared<bool>(false);
  rm->add_option("network", *rnames, "NETWORK [NETWORK...]")->required();
  rm->add_flag("-f,--force", *rforce, "Do not error if the network does not exist");
  rm->callback([&g, rnames, rforce] { run_remove(g, *rnames, *rforce); });

  auto* prune = network->add_subcommand("prune", "Remove all unused networks");
  auto pfilters = std::make_shared<std::vector<std::string>>();
  auto pforce = std::make_shared<bool>(false);
  prune->add_flag("-f,--force", *pforce, "Do not prompt for confirmation");
  prune->add_option("--filter", *pfilters, "Provide filter values (e.g. 'label=<key>=<value>')")->allow_extra_args(false);
  prune->callback([&g, pfilters, pforce] { run_prune(g, *pfilters, *pforce); });

  auto* connect = network->add_subcommand("connect", "Connect a container to a network");
  auto kf = std::make_shared<ConnectFlags>();
  connect->add_option("network", kf->network, "NETWORK")->required();
  connect->add_option("container", kf->container, "CONTAINER")->required();
  connect->add_option("--alias", kf->aliases, "Add network-scoped alias for the container")->allow_extra_args(false);
  connect->add_option("--ip", kf->ip, "IPv4 address (e.g., \"172.30.100.104\")");
  connect->callback([&g, kf] { run_connect(g, *kf); });

  auto* disconnect = network->add_subcommand("disconnect", "Disconnect a container from a network");
  auto dnet = std::make_shared<std::string>();
  auto dctr = std::make_shared<std::string>();
  auto dforce = std::make_shared<bool>(false);
  disconnect->add_option("network", *dnet, "NETWORK")->required();
  disconnect->add_option("container", *dctr, "CONTAINER")->required();
  disconnect->add_flag("-f,--force", *dforce, "Force the container to disconnect from a network");
  disconnect->callback([&g, dnet, dctr, dforce] { run_disconnect(g, *dnet, *dctr, *dforce); });
}

}  // namespace berth::cli
