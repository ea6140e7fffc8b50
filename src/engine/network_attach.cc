// A container's start and end on its networks: addresses, names, published ports, and the
// hosts and resolv.conf files it sees.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>

#include "base/fs.h"
#include "base/process.h"
#include "base/scope_guard.h"
#include "base/strings.h"
#include "engine/container_internal.h"
#include "engine/network_join.h"
#include "engine/network_service.h"
#include "network/ipam.h"
#include "network/port_spec.h"
#include "store/database.h"
#include "store/network_records.h"

namespace berth::engine {
namespace {

std::string hosts_header() {
  return "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
         "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
         "ff02::2\tip6-allrouters\n";
}

// resolv.conf with the given nameservers (--dns, or the network's DNS server) and the
// host's search and options lines unless --dns-search / --dns-option replace them.
std::string resolv_conf(const NetworkOptions& opts, const std::vector<std::string>& nameservers) {
  std::string base = host_resolv_conf();
  std::string out;
  if (nameservers.empty() && opts.dns.empty()) out = base;
  for (const auto& ns : opts.dns.empty() ? nameservers : opts.dns) out += "nameserver " + ns + "\n";
  if (!nameservers.empty() || !opts.dns.empty()) {
    for (const auto& line : split(base, '\n')) {
      if ((line.starts_with("search") && opts.dns_search.empty()) ||
          (line.starts_with("options") && opts.dns_options.empty()))
        out += line + "\n";
    }
  }
  if (!opts.dns_search.empty()) out += "search " + join(opts.dns_search, " ") + "\n";
  if (!opts.dns_options.empty()) out += "options " + join(opts.dns_options, " ") + "\n";
  return out;
}

// A socket bound to the host port, held by the monitor for the container's life, so that no
// other container or host program can take the port. The first free port of [first, last];
// 0 asks the kernel for a free ephemeral one.
Result<std::pair<UniqueFd, uint16_t>> reserve_port(std::optional<network::Ipv4> ip, network::Protocol proto,
                                                   uint16_t first, uint16_t last) {
  std::string host = ip ? ip->str() : "0.0.0.0";
  for (uint32_t port = first; port <= last; ++port) {
    int type = proto == network::Protocol::Tcp ? SOCK_STREAM : SOCK_DGRAM;
    UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
    if (!fd) return FailErrno(errno, "socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(ip ? ip->value : INADDR_ANY);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      socklen_t len = sizeof addr;
      if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) return FailErrno(errno, "getsockname");
      return std::pair{std::move(fd), ntohs(addr.sin_port)};
    }
    if (errno != EADDRINUSE && errno != EACCES) return FailErrno(errno, "bind {}:{}/{}", host, port, to_string(proto));
  }
  std::string ports = first == last ? std::to_string(first) : fmt::format("{}-{}", first, last);
  return Fail(ErrorCode::Conflict, "Bind for {}:{} failed: port is already allocated", host, ports);
}

// The container's published ports: -p as given, and with -P every exposed port (the image's
// and --expose) to a random host port.
Result<std::vector<network::PortMapping>> port_mappings(const Container& c) {
  std::vector<network::PortMapping> out;
  for (const auto& text : c.config.network.publish) {
    auto mappings = TRY(network::parse_publish(text));
    for (auto& m : mappings) out.push_back(m);
  }
  if (c.config.network.publish_all) {
    std::vector<std::string> exposed = c.image_config.config.exposed_ports;
    exposed.insert(exposed.end(), c.config.network.expose.begin(), c.config.network.expose.end());
    std::set<std::pair<uint16_t, network::Protocol>> seen;
    for (const auto& text : exposed) {
      auto ports = TRY(network::parse_expose(text));
      for (auto [port, proto] : ports) {
        if (!seen.insert({port, proto}).second) continue;
        network::PortMapping m;
        m.container_port = port;
        m.proto = proto;
        out.push_back(m);
      }
    }
  }
  return out;
}

}  // namespace

std::string host_resolv_conf() {
  auto host = read_file("/etc/resolv.conf");
  std::string out;
  bool nameserver = false;
  if (host) {
    for (const auto& line : split(*host, '\n')) {
      auto t = trim(line);
      if (t.starts_with("nameserver")) {
        auto addr = trim(t.substr(10));
        if (addr.starts_with("127.") || addr == "::1") continue;
        nameserver = true;
      }
      if (!t.empty()) out += std::string(t) + "\n";
    }
  }
  if (!nameserver) out += "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";
  return out;
}

Result<void> NetworkService::write_dns_records(const Network& n) {
  std::string text;
  auto endpoints = TRY(records_->endpoints_of_network(n.id));
  for (const auto& e : endpoints) text += e.ip + " " + e.names + "\n";
  std::string dir = network_run_dir(n.id);
  TRY(make_dirs(dir, 0700));
  return write_file_atomic(dir + "/records", text, 0644);
}

Result<void> NetworkService::ensure_dns_server(const Network& n) {
  std::string dir = network_run_dir(n.id);
  std::string lock = dir + "/dns.lock";
  {
    UniqueFd fd(::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return FailErrno(errno, "open {}", lock);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return {};  // its server holds it
  }
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return FailErrno(errno, "pipe");
  UniqueFd ready(p[0]), theirs(p[1]);
  TRY(spawn_detached({self_, "dns", dir, n.gateway.str()}, {theirs.get()}, dir + "/dns.log"));
  theirs.reset();
  auto said = TRY(read_all(ready.get()));
  if (trim(said) == "ready") return {};
  auto log = read_file(dir + "/dns.log");
  std::string last = log ? std::string(trim(*log)) : "";
  if (auto nl = last.rfind('\n'); nl != std::string::npos) last = last.substr(nl + 1);
  return Fail(ErrorCode::Unavailable, "the DNS server of network {} did not start: {}", n.name,
              last.empty() ? "see " + dir + "/dns.log" : last);
}

Result<EndpointState> NetworkService::attach_endpoint(const Container& c, const NetworkAttachment& a, size_t index) {
  Network n = TRY(load(a.network));
  TRY(realize(n));
  EndpointState e;
  e.network_id = n.id;
  e.network = n.name;
  e.prefix = n.subnet.prefix;
  if (!n.internal) e.gateway = n.gateway.str();  // no route out of an internal network
  e.bridge = n.bridge;
  e.veth = host_veth_name(c.id, index);
  e.interface = "eth" + std::to_string(index);
  e.dns_names = {c.name, c.id.substr(0, 12)};
  for (const auto& alias : a.aliases) e.dns_names.push_back(alias);
  network::Pool pool{n.subnet, n.gateway, n.ip_range};
  TRY(db_.transaction([&]() -> Result<void> {
    std::set<network::Ipv4> used;
    auto others = TRY(records_->endpoints_of_network(n.id));
    for (const auto& other : others) used.insert(TRY(network::parse_ipv4(other.ip)));
    network::Ipv4 ip;
    if (!a.ipv4.empty()) {
      ip = TRY(network::parse_ipv4(a.ipv4));
      TRY(network::check_static(pool, ip, used));
    } else {
      ip = TRY(network::allocate(pool, used, n.name));
    }
    e.ip = ip.str();
    e.mac = mac_for_ip(ip);
    return records_->insert_endpoint(store::EndpointRecord{n.id, c.id, e.ip, join(e.dns_names, " ")});
  }));
  if (n.has_dns()) {
    auto served = [&]() -> Result<void> {
      TRY(write_dns_records(n));
      return ensure_dns_server(n);
    }();
    if (!served) {
      (void)detach_endpoint(n.id, c.id);
      return Err(served.error());
    }
    e.dns_server = n.gateway.str();
  }
  return e;
}

Result<void> NetworkService::detach_endpoint(const std::string& network_id, const std::string& container_id) {
  TRY(records_->remove_endpoint(network_id, container_id));
  auto n = load(network_id);
  if (n && n->has_dns()) TRY(write_dns_records(*n));
  return {};
}

Result<ContainerNetworking> NetworkService::attach(const Container& c, const std::string& dir) {
  const NetworkOptions& opts = c.config.network;
  std::string hostname = c.config.hostname.empty() ? c.id.substr(0, 12) : c.config.hostname;
  ContainerNetworking out;
  bool done = false;
  auto undo = defer([&] {
    if (!done) (void)detach(c.id);
  });

  std::string hosts = hosts_header();
  std::vector<std::string> nameservers;
  std::string resolv;
  if (opts.mode == "host") {
    hosts = read_file("/etc/hosts").value_or(hosts);
    resolv = read_file("/etc/resolv.conf").value_or("");
  } else if (opts.mode.starts_with("container:")) {
    std::string other = ContainerPaths(options_, opts.mode.substr(10)).dir;
    hosts = TRY(read_file(other + "/hosts"));
    resolv = TRY(read_file(other + "/resolv.conf"));
  }
  for (size_t i = 0; i < opts.attachments.size(); ++i) {
    EndpointState e = TRY(attach_endpoint(c, opts.attachments[i], i));
    // The first user network's server is the container's resolver (it knows that network's
    // names only; docs/design/networks.md).
    if (!e.dns_server.empty() && nameservers.empty()) nameservers.push_back(e.dns_server);
    hosts += e.ip + "\t" + hostname + "\n";
    out.endpoints.push_back(std::move(e));
  }
  for (const auto& entry : opts.extra_hosts) {
    auto colon = entry.find(':');
    std::string ip = entry.substr(colon + 1);
    if (ip == "host-gateway") {
      if (out.endpoints.empty()) return Fail(ErrorCode::InvalidArgument, "--add-host {}: host-gateway needs a bridge network", entry);
      ip = TRY(load(out.endpoints[0].network_id)).gateway.str();
    }
    hosts += ip + "\t" + entry.substr(0, colon) + "\n";
  }
  if (opts.mode == "none" || (opts.joins_networks() && out.endpoints.empty())) hosts += "127.0.1.1\t" + hostname + "\n";
  if (resolv.empty()) resolv = resolv_conf(opts, nameservers);

  auto mappings = TRY(port_mappings(c));
  if (!mappings.empty() && out.endpoints.empty() && opts.mode != "host")
    return Fail(ErrorCode::InvalidArgument, "published ports need a bridge network (the container's is {})", opts.mode);
  if (opts.mode != "host") {
    for (const auto& m : mappings) {
      auto [fd, port] = TRY(reserve_port(m.host_ip, m.proto, m.host_port_first, m.host_port_last));
      out.ports.push_back(PortBinding{m.host_ip ? m.host_ip->str() : "0.0.0.0", port, m.container_port,
                                      std::string(to_string(m.proto))});
      out.port_reservations.push_back(std::move(fd));
    }
  }
  TRY(write_file_atomic(dir + "/hosts", hosts, 0644));
  TRY(write_file_atomic(dir + "/resolv.conf", resolv, 0644));
  done = true;
  return out;
}

Result<void> NetworkService::detach(const std::string& container_id) {
  auto endpoints = TRY(records_->endpoints_of_container(container_id));
  for (const auto& e : endpoints) TRY(detach_endpoint(e.network_id, container_id));
  return {};
}

}  // namespace berth::engine
