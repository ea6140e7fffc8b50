// berth's rtnetlink client: creates the bridges and veth pairs of its networks and configures
// links, addresses and routes with raw NETLINK_ROUTE messages (no libnl, no `ip`).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "network/address.h"
#include "network/netlink_socket.h"

namespace berth::network {

// A NETLINK_ROUTE socket in the network namespace of the thread that opened it. Every call is
// one request answered by an ack; errors say what was tried on which link ("create bridge
// berth0: File exists") and carry the kernel's errno. Links are named, never indexed, by callers.
class Netlink {
 public:
  static Result<Netlink> open();

  // A Linux bridge, down; AlreadyExists if a link of that name is present.
  Result<void> create_bridge(const std::string& name);
  // A veth pair; the peer is created directly in the namespace netns_fd (-1: same namespace)
  // under peer_name (so no rename dance), with peer_mac when given. Both ends down.
  Result<void> create_veth(const std::string& host_name, const std::string& peer_name,
                           int peer_netns_fd = -1, const std::array<uint8_t, 6>* peer_mac = nullptr);
  // Enslaves link name to the bridge.
  Result<void> set_master(const std::string& name, const std::string& bridge);
  Result<void> set_up(const std::string& name);
  Result<void> set_mtu(const std::string& name, int mtu);
  // Bridge port hairpin mode (a container reaching itself through a published port).
  Result<void> set_hairpin(const std::string& port_name, bool on);
  // Adds address/prefix (10.88.0.1/16) to the link; an address already there is fine.
  Result<void> add_address(const std::string& name, Ipv4Net address);
  // A default route via gateway in the socket's namespace.
  Result<void> add_default_route(Ipv4 gateway);
  // NotFound when absent.
  Result<void> delete_link(const std::string& name);
  // The interface index; nullopt when absent.
  Result<std::optional<int>> link_index(const std::string& name);
  // The bridge (or other master) the link is enslaved to; nullopt when none.
  Result<std::optional<std::string>> master_of(const std::string& name);
  // Every IPv4 address and every IPv4 route destination of the main table (default route
  // excepted), to refuse or skip subnets already in use; except_link's own are left out.
  Result<std::vector<Ipv4Net>> addresses_and_routes(const std::string& except_link = "");
  // Names of links whose name starts with prefix (to sweep leftovers: "berth", "vb").
  Result<std::vector<std::string>> links_with_prefix(const std::string& prefix);

 private:
  explicit Netlink(nl::Socket socket) : socket_(std::move(socket)) {}
  // The index of an existing link; NotFound naming it otherwise.
  Result<int> require_index(const std::string& name);
  // The name of the link with that index.
  Result<std::string> link_name(int index);

  nl::Socket socket_;
};

}  // namespace berth::network
