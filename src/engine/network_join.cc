#include "engine/network_join.h"

#include "base/log.h"
#include "base/scope_guard.h"
#include "network/netlink.h"
#include "network/netns.h"
#include "network/nft_rules.h"

namespace berth::engine {

std::string host_veth_name(const std::string& container_id, size_t index) {
  return "vb" + container_id.substr(0, 12) + std::string(1, "0123456789abcdefghijklmnopqrstuvwxyz"[index % 36]);
}

Result<void> join_endpoint(const EndpointState& e, int netns_fd) {
  std::string what = fmt::format("connect to network {}", e.network);
  auto host = TRY(network::Netlink::open());
  // The MAC Docker derives from the address: 02:42 and its four bytes.
  uint32_t ip = TRY(network::parse_ipv4(e.ip)).value;
  std::array<uint8_t, 6> mac = {0x02, 0x42, uint8_t(ip >> 24), uint8_t(ip >> 16), uint8_t(ip >> 8), uint8_t(ip)};
  TRY_CTX(what, host.create_veth(e.veth, e.interface, netns_fd, &mac));
  auto undo = defer([&] { (void)host.delete_link(e.veth); });
  TRY_CTX(what, host.set_master(e.veth, e.bridge));
  TRY_CTX(what, host.set_hairpin(e.veth, true));
  TRY_CTX(what, host.set_up(e.veth));
  TRY_CTX(what, network::run_in_netns(netns_fd, [&]() -> Result<void> {
    auto nl = TRY(network::Netlink::open());
    TRY(nl.set_up("lo"));
    TRY(nl.add_address(e.interface, network::Ipv4Net{TRY(network::parse_ipv4(e.ip)), e.prefix}));
    return nl.set_up(e.interface);
  }));
  undo.dismiss();
  return {};
}

Result<void> leave_endpoint(const EndpointState& e) {
  auto nl = TRY(network::Netlink::open());
  auto r = nl.delete_link(e.veth);
  if (!r && r.error().code() != ErrorCode::NotFound) return Err(r.error().context("disconnect from network " + e.network));
  return {};
}

Result<void> join_networks(const Container& c, pid_t pid) {
  const auto& endpoints = c.state.networks;
  if (endpoints.empty()) return {};
  auto netns = TRY(network::open_netns_of(pid));
  bool done = false;
  auto undo = defer([&] {
    if (!done) (void)leave_networks(c);
  });
  for (const auto& e : endpoints) TRY(join_endpoint(e, netns.get()));
  if (!endpoints[0].gateway.empty()) {
    auto gateway = TRY(network::parse_ipv4(endpoints[0].gateway));
    TRY_CTX("add the container's default route", network::run_in_netns(netns.get(), [&]() -> Result<void> {
      return TRY(network::Netlink::open()).add_default_route(gateway);
    }));
  }
  if (!c.state.ports.empty()) {
    const EndpointState& e = endpoints[0];
    auto ip = TRY(network::parse_ipv4(e.ip));
    std::vector<network::PortRule> rules;
    for (const auto& p : c.state.ports) {
      network::PortRule r;
      if (p.host_ip != "0.0.0.0") r.host_ip = TRY(network::parse_ipv4(p.host_ip));
      r.host_port = p.host_port;
      r.container_ip = ip;
      r.container_port = p.container_port;
      r.proto = network::parse_protocol(p.proto).value_or(network::Protocol::Tcp);
      rules.push_back(r);
    }
    network::NftRules nft;
    TRY_CTX("publish the container's ports",
            nft.add_ports(c.id, e.bridge, network::Ipv4Net{network::Ipv4Net{ip, e.prefix}.network(), e.prefix}, rules));
  }
  done = true;
  return {};
}

Result<void> leave_networks(const Container& c) {
  // Only a container that published ports has rules: the others cost no nft run at their end.
  Result<void> removed;
  if (!c.state.ports.empty()) removed = network::NftRules().remove_ports(c.id);
  for (const auto& e : c.state.networks) {
    if (auto r = leave_endpoint(e); !r) log::warn("{}", r.error().what());
  }
  return removed;
}

}  // namespace berth::engine
