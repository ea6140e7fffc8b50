// IPv4 addresses and networks as berth's network layer passes them around: host byte order
// inside, dotted quads and CIDR text at the edges (flags, inspect, nft rules, netlink).
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"

namespace berth::network {

struct Ipv4 {
  uint32_t value = 0;  // host byte order: 10.88.0.1 is 0x0a580001
  auto operator<=>(const Ipv4&) const = default;
  std::string str() const;
};

// A network (or an address with its prefix, as an interface carries it): 10.88.0.1/16.
struct Ipv4Net {
  Ipv4 addr;
  int prefix = 32;
  auto operator<=>(const Ipv4Net&) const = default;

  uint32_t mask() const { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }
  Ipv4 network() const { return Ipv4{addr.value & mask()}; }
  Ipv4 broadcast() const { return Ipv4{network().value | ~mask()}; }
  bool contains(Ipv4 ip) const { return (ip.value & mask()) == network().value; }
  // True when the two networks share any address.
  bool overlaps(const Ipv4Net& other) const;
  std::string str() const;  // "10.88.0.0/16" (the address as stored, with its prefix)
};

// "10.88.0.1"; InvalidArgument naming the text otherwise.
Result<Ipv4> parse_ipv4(std::string_view text);
// "10.88.0.0/16"; a bare address is /32. InvalidArgument naming the text otherwise.
Result<Ipv4Net> parse_ipv4_net(std::string_view text);

}  // namespace berth::network
