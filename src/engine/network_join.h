// The monitor's part of networking: plugging a created container into its networks before it
// starts, and taking its published ports away when it ends. `network connect` and
// `disconnect` use the per-endpoint steps on running containers.
#pragma once

#include <sys/types.h>


#include "base/error.h"
#include "engine/container.h"

namespace berth::engine {

// For each of c.state.networks: join_endpoint; a default route through the first network's
// gateway (none on an --internal network); then c.state.ports as nftables DNAT rules. Undone
// when a step fails.
Result<void> join_networks(const Container& c, pid_t pid);
// A veth pair: e.veth on e.bridge, e.interface with e.ip in the network namespace of pid.
Result<void> join_endpoint(const EndpointState& e, int netns_fd);
// Removes c.state.ports' rules and the host ends of c.state.networks' veths that are left (they
// normally go with the container's namespace). Safe to call when nothing was made.
Result<void> leave_networks(const Container& c);
// Unplugs one endpoint: deletes its veth pair (nothing when it is gone already).
Result<void> leave_endpoint(const EndpointState& e);
// The host end of a container's veth on its index-th network: "vb", 12 hex digits of the ID
// and the index (15 bytes, the kernel's limit).
std::string host_veth_name(const std::string& container_id, size_t index);

}  // namespace berth::engine
