// `berth dns DIR GATEWAY`: the embedded DNS server of one user network, a process of its own
// (started by NetworkService when a container joins the network; ends when the network is
// removed, that is when DIR/records disappears).
#pragma once

#include <string>

namespace berth::engine {

// Serves the names in DIR/records on GATEWAY:53 (UDP and TCP), forwarding other names to the
// host's resolvers. Holds DIR/dns.lock while it runs (a second server for the network exits
// at once) and closes ready_fd after writing "ready" once it answers. Returns the exit code.
int run_network_dns(const std::string& dir, const std::string& gateway, int ready_fd);

}  // namespace berth::engine
