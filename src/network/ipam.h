// IP address management for berth's bridge networks: subnets (given or chosen), the pool a
// network hands addresses out of, dynamic and static (--ip) addresses. Pure functions over the
// state the caller read from the store; nothing here touches the kernel or the database.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "network/address.h"

namespace berth::network {

// --subnet: CIDR text naming a network address ("10.89.0.0/24"), prefix /8 to /30. Host bits
// are refused as Docker 25+ refuses them: "invalid subnet 10.89.0.5/24: it should be 10.89.0.0/24".
Result<Ipv4Net> parse_subnet(std::string_view text);

// The addresses one network hands out: its subnet, the gateway (the bridge's own address) and
// the optional --ip-range dynamic addresses are taken from.
struct Pool {
  Ipv4Net subnet;
  Ipv4 gateway;
  std::optional<Ipv4Net> ip_range;
};

// Checks --gateway and --ip-range against the subnet with Docker's messages; the gateway
// defaults to the subnet's first host address.
Result<Pool> make_pool(const Ipv4Net& subnet, std::optional<Ipv4> gateway,
                       std::optional<Ipv4Net> ip_range);

// The lowest free host address of the ip-range (or the whole subnet), never the network,
// broadcast or gateway address. Unavailable "no available IPv4 addresses on network NAME" when
// full.
Result<Ipv4> allocate(const Pool& pool, const std::set<Ipv4>& used, std::string_view network);

// --ip: the address must be a host address of the subnet (the ip-range does not apply, as in
// Docker); Conflict "Address already in use" when it is the gateway or already used.
Result<void> check_static(const Pool& pool, Ipv4 ip, const std::set<Ipv4>& used);

// The subnet of a network created without --subnet. The default bridge takes 10.88.0.0/16, or
// the first of 10.87.0.0/16 ... 10.80.0.0/16 that overlaps nothing taken; a user network takes
// the first free /24 of 10.89.0.0/24, 10.89.1.0/24 ... 10.255.255.0/24 (podman's scheme).
// "taken" holds the other networks' subnets and the host's addresses and routes; a default
// route (prefix 0) is ignored since it overlaps everything. Unavailable when nothing is free.
Result<Ipv4Net> choose_subnet(const std::vector<Ipv4Net>& taken, bool default_bridge);

// A --subnet given by the user against the existing networks (name, subnet): Conflict
// "subnet 10.89.0.0/24 overlaps with network "front" (10.89.0.0/16)".
Result<void> check_overlap(const Ipv4Net& subnet,
                           const std::vector<std::pair<std::string, Ipv4Net>>& networks);

}  // namespace berth::network
