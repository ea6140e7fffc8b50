// Network namespaces and sysctls: running code inside a container's network namespace (to
// configure its interfaces from the monitor) and writing /proc/sys/net knobs.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace berth::network {

// Runs fn on a new thread that entered the network namespace netns_fd (setns(CLONE_NEWNET)
// affects the calling thread only), joins it, returns fn's result. The caller's thread never
// changes namespace; a Netlink or socket opened by fn stays bound to netns_fd's namespace.
Result<void> run_in_netns(int netns_fd, const std::function<Result<void>()>& fn);

// Opens /proc/<pid>/ns/net.
Result<UniqueFd> open_netns_of(pid_t pid);

// Writes value to /proc/sys/<key> in the calling thread's network namespace; key like
// "net/ipv4/ip_forward" or "net/ipv4/conf/berth0/route_localnet".
Result<void> write_sysctl(const std::string& key, const std::string& value);

}  // namespace berth::network
