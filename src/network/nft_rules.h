// berth's firewall: NAT for published ports, masquerading for networks, isolation between
// networks. Every rule lives in berth's own table `ip berth`; no other table is read or changed.
//
// The table (IPv4 now; an `ip6 berth` table with the same chains is the place for IPv6):
//   prerouting   nat, hook prerouting, dstnat:  fib daddr type local ip daddr != 127.0.0.0/8 jump
//   ports output       nat, hook output, dstnat (-100): fib daddr type local jump ports ports one
//   DNAT rule per published port, comment "c:<container-id>" postrouting  nat, hook postrouting,
//   srcnat: masquerade per network (comment "n:<id>") and a
//                hairpin masquerade per published port (comment "c:<id>")
//   forward      filter, hook forward, filter, policy accept: isolation drops per network, and
//                the set `bridges` of every berth bridge
//
// berth adds no `accept` meant to override the host's own firewall, and could not: nftables
// runs every base chain registered on a hook (each table's, in priority order), an accept only
// ends the chain it is in, and a drop anywhere is final. So the host's own forward and input
// rules (firewalld, ufw, a hand-written ruleset) still apply to container traffic; publishing a
// port through a host firewall that drops forwarded traffic needs a rule in the host's firewall.
//
// A container reaching its own published port through a host address (hairpin) also needs
// hairpin mode on its bridge port (`bridge link set dev <veth> hairpin on`, as Docker sets it):
// when br_netfilter is loaded the DNAT happens while bridging, and the frame must leave by the
// port it came in on.
//
// Every change is one `nft -f -` batch, applied atomically: the table, chains and set are
// (re)declared with the idempotent `add` in the same batch as the rules, so two berth processes
// may race to create them. Removal reads handles from one `nft -j -a list table ip berth` and
// deletes them in one batch (retried when a concurrent removal took a handle first).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "network/address.h"
#include "network/protocol.h"

namespace berth::network {

// A berth network as the firewall sees it: its bridge and subnet.
struct NetworkRule {
  std::string id;      // network id; goes into comments "n:<id>" ([A-Za-z0-9_.-], 1-100 chars)
  std::string bridge;  // interface name of its bridge
  Ipv4Net subnet;
  bool internal = false;  // --internal: no masquerade, no traffic in or out of the bridge
};

// One published port: host_ip:host_port -> container_ip:container_port.
struct PortRule {
  std::optional<Ipv4> host_ip;  // unset or 0.0.0.0: every local address of the host
  uint16_t host_port = 0;
  Ipv4 container_ip;
  uint16_t container_port = 0;
  Protocol proto = Protocol::Tcp;
};

// The rules of berth's nftables table, changed through the nft program at nft_path.
class NftRules {
 public:
  explicit NftRules(std::string nft_path = "/usr/sbin/nft");

  // Masquerading and isolation for one network; creates the table, chains and set on first use.
  // Idempotent per id: the network's old rules are replaced in the same batch.
  Result<void> add_network(const NetworkRule& network);
  // Deletes the network's rules and its bridge from the set; nothing to do when absent.
  Result<void> remove_network(const std::string& id);
  // DNAT and hairpin rules for a container's published ports, in one batch. Adds: a caller
  // re-publishing a container removes its old rules first (remove_ports).
  Result<void> add_ports(const std::string& container_id, const std::string& bridge, Ipv4Net subnet,
                         const std::vector<PortRule>& ports);
  // Deletes every rule of the container; nothing to do when it has none.
  Result<void> remove_ports(const std::string& container_id);
  // Ids of the containers that have rules in the table, sorted (reconcile after a crash).
  Result<std::vector<std::string>> containers_with_ports();
  // Deletes the whole table (tests, `system reset`); nothing to do when it is absent.
  Result<void> remove_all();

 private:
  std::string nft_path_;
};

}  // namespace berth::network
