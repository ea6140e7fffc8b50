// Published and exposed ports: Docker's -p/--publish and --expose syntax, the image's
// ExposedPorts keys, choosing a free host port and `docker port`'s output shape.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "network/address.h"
#include "network/protocol.h"

namespace berth::network {

// One container port published on the host. host_port_first..last is the host port, or the
// range one free port is picked from; 0..0 picks one from the ephemeral range.
struct PortMapping {
  std::optional<Ipv4> host_ip;  // nullopt: all addresses (0.0.0.0 is normalised to nullopt)
  uint16_t host_port_first = 0;
  uint16_t host_port_last = 0;
  uint16_t container_port = 0;
  Protocol proto = Protocol::Tcp;
  bool operator==(const PortMapping&) const = default;
};

// -p/--publish: [ip:][hostPort:]containerPort[/proto] with port ranges ("8000-8005:80-85" is
// six mappings, "8000-8005:80" one mapping choosing from the host range). IPv6 host addresses
// and sctp are refused. Errors in the run flags' shape with go-connections' reasons.
Result<std::vector<PortMapping>> parse_publish(std::string_view text);

// --expose and the image's ExposedPorts keys: port[-port][/proto] ("80/tcp", "8000-8010").
// "flag" names the source in errors.
Result<std::vector<std::pair<uint16_t, Protocol>>> parse_expose(std::string_view text,
                                                                std::string_view flag = "--expose");

// Picks a free host port for a mapping: first..last (one port when equal), or a random one of
// the ephemeral range (/proc/sys/net/ipv4/ip_local_port_range) when both are 0. A port is free
// when it is not in "taken" (ports berth already published on that address) and a socket of
// the protocol binds to ip (or 0.0.0.0) and port without SO_REUSEADDR. Conflict in Docker's
// words ("Bind for 0.0.0.0:8080 failed: port is already allocated") when none is free.
Result<uint16_t> pick_host_port(std::optional<Ipv4> ip, Protocol proto, uint16_t first,
                                uint16_t last, const std::set<uint16_t>& taken);

// `docker port`'s line for a mapping whose host port is chosen: "80/tcp -> 0.0.0.0:8080".
std::string format_port_mapping(const PortMapping& m);

}  // namespace berth::network
