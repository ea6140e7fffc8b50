#include "network/ipam.h"

#include <algorithm>

#include "base/strings.h"

namespace berth::network {
namespace {

constexpr int kMinPrefix = 8;
constexpr int kMaxPrefix = 30;

// Parses CIDR text that must carry a prefix; "what" is Docker's name for the field.
Result<Ipv4Net> parse_cidr(std::string_view text, std::string_view what) {
  auto net = parse_ipv4_net(text);
  // parse_ipv4 reads a C string: a NUL would hide what follows it.
  if (!net || text.find('/') == std::string_view::npos || text.find('\0') != std::string_view::npos)
    return Fail(ErrorCode::InvalidArgument, "invalid {} {}: invalid CIDR block notation", what,
                text);
  return *net;
}

Result<void> require_masked(const Ipv4Net& net, std::string_view what) {
  Ipv4Net masked{net.network(), net.prefix};
  if (masked != net)
    return Fail(ErrorCode::InvalidArgument, "invalid {} {}: it should be {}", what, net.str(),
                masked.str());
  return {};
}

bool overlaps_any(const Ipv4Net& candidate, const std::vector<Ipv4Net>& taken) {
  return std::any_of(taken.begin(), taken.end(),
                     [&](const Ipv4Net& t) { return t.prefix > 0 && candidate.overlaps(t); });
}

Ipv4 ip_of(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  return Ipv4{(a << 24) | (b << 16) | (c << 8) | d};
}

}  // namespace

Result<Ipv4Net> parse_subnet(std::string_view text) {
  auto net = TRY(parse_cidr(text, "subnet"));
  TRY(require_masked(net, "subnet"));
  if (net.prefix < kMinPrefix || net.prefix > kMaxPrefix)
    return Fail(ErrorCode::InvalidArgument,
                "invalid subnet {}: the prefix length must be between /{} and /{}", net.str(),
                kMinPrefix, kMaxPrefix);
  return net;
}

Result<Pool> make_pool(const Ipv4Net& subnet, std::optional<Ipv4> gateway,
                       std::optional<Ipv4Net> ip_range) {
  Pool pool{subnet, Ipv4{subnet.network().value + 1}, ip_range};
  if (gateway) {
    const std::string gw = gateway->str();
    if (!subnet.contains(*gateway))
      return Fail(ErrorCode::InvalidArgument,
                  "invalid gateway {}: parent subnet {} doesn't contain this address", gw,
                  subnet.str());
    if (*gateway == subnet.network())
      return Fail(ErrorCode::InvalidArgument,
                  "invalid gateway {}: it is the network address of subnet {}", gw, subnet.str());
    if (*gateway == subnet.broadcast())
      return Fail(ErrorCode::InvalidArgument,
                  "invalid gateway {}: it is the broadcast address of subnet {}", gw, subnet.str());
    pool.gateway = *gateway;
  }
  if (ip_range) {
    const std::string r = ip_range->str();
    if (ip_range->prefix < subnet.prefix)
      return Fail(ErrorCode::InvalidArgument,
                  "invalid ip-range {}: CIDR block is bigger than its parent subnet {}", r,
                  subnet.str());
    TRY(require_masked(*ip_range, "ip-range"));
    if (!subnet.contains(ip_range->addr))
      return Fail(ErrorCode::InvalidArgument,
                  "invalid ip-range {}: parent subnet {} doesn't contain ip-range", r,
                  subnet.str());
  }
  return pool;
}

Result<Ipv4> allocate(const Pool& pool, const std::set<Ipv4>& used, std::string_view network) {
  const Ipv4Net& from = pool.ip_range ? *pool.ip_range : pool.subnet;
  const uint32_t first = from.network().value;
  const uint32_t last = from.broadcast().value;
  auto next_used = used.lower_bound(Ipv4{first});
  for (uint64_t v = first; v <= last; ++v) {
    Ipv4 ip{static_cast<uint32_t>(v)};
    while (next_used != used.end() && *next_used < ip) ++next_used;
    if (next_used != used.end() && *next_used == ip) continue;
    if (ip == pool.subnet.network() || ip == pool.subnet.broadcast() || ip == pool.gateway)
      continue;
    return ip;
  }
  return Fail(ErrorCode::Unavailable, "no available IPv4 addresses on network {}", network);
}

Result<void> check_static(const Pool& pool, Ipv4 ip, const std::set<Ipv4>& used) {
  if (!pool.subnet.contains(ip))
    return Fail(ErrorCode::InvalidArgument,
                "invalid address {}: it does not belong to the network's subnet {}", ip.str(),
                pool.subnet.str());
  if (ip == pool.subnet.network() || ip == pool.subnet.broadcast())
    return Fail(ErrorCode::InvalidArgument, "invalid address {}: it is the {} address of subnet {}",
                ip.str(), ip == pool.subnet.network() ? "network" : "broadcast", pool.subnet.str());
  if (ip == pool.gateway || used.contains(ip))
    return Fail(ErrorCode::Conflict, "Address already in use");
  return {};
}

Result<Ipv4Net> choose_subnet(const std::vector<Ipv4Net>& taken, bool default_bridge) {
  if (default_bridge) {
    for (uint32_t b = 88; b >= 80; --b) {
      Ipv4Net candidate{ip_of(10, b, 0, 0), 16};
      if (!overlaps_any(candidate, taken)) return candidate;
    }
    return Fail(ErrorCode::Unavailable,
                "no free subnet for the default bridge: 10.80.0.0/16 to 10.88.0.0/16 all overlap "
                "networks or host routes; set one with --subnet");
  }
  for (uint32_t b = 89; b <= 255; ++b) {
    for (uint32_t c = 0; c <= 255; ++c) {
      Ipv4Net candidate{ip_of(10, b, c, 0), 24};
      if (!overlaps_any(candidate, taken)) return candidate;
    }
  }
  return Fail(ErrorCode::Unavailable,
              "no free subnet: every /24 of 10.89.0.0 to 10.255.255.0 overlaps a network or a host "
              "route; set one with --subnet");
}

Result<void> check_overlap(const Ipv4Net& subnet,
                           const std::vector<std::pair<std::string, Ipv4Net>>& networks) {
  for (const auto& [name, net] : networks) {
    if (subnet.overlaps(net))
      return Fail(ErrorCode::Conflict, "subnet {} overlaps with network {} ({})", subnet.str(),
                  quote(name), net.str());
  }
  return {};
}

}  // namespace berth::network
