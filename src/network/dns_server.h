// The embedded DNS server of a user network: one small process per network (`berth dns ...`),
// listening on the network's gateway address in the host's namespace. It answers A, AAAA and PTR
// queries for the names in the network's records file (see dns_records.h) and forwards
// everything else, verbatim, to the host's resolvers.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "network/address.h"

namespace berth::network {

struct DnsServerConfig {
  std::vector<std::pair<Ipv4, uint16_t>> listen;  // usually {gateway, 53}; UDP and TCP on each
  std::string records_path;                       // written by the engine, re-read when it changes
  std::vector<std::pair<Ipv4, uint16_t>> upstreams;  // empty: the nameservers of /etc/resolv.conf
  std::function<void()> ready;                       // called once the sockets are bound
};

// Serves until the records file disappears, or SIGTERM/SIGINT; then returns success. Errors
// reading the records file or binding the sockets are returned at once, before ready is called.
// Single-threaded: everything runs on the calling thread.
Result<void> run_dns_server(const DnsServerConfig& config);

}  // namespace berth::network
