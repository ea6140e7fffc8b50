// Values of the name-resolution and address flags of `berth run`: --add-host, --dns,
// --dns-search, --dns-option, --network-alias and --ip. Each parser returns the value the
// engine stores or an InvalidArgument in the run flags' shape naming the flag and the value.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "network/address.h"

namespace berth::network {

// The --add-host value that the engine replaces with the host's address on the network.
inline constexpr std::string_view kHostGateway = "host-gateway";

// One /etc/hosts entry added with --add-host.
struct ExtraHost {
  std::string name;
  std::string address;  // IPv4 or IPv6 text as given (brackets removed), or "host-gateway"
  bool operator==(const ExtraHost&) const = default;
};

// --add-host name:ip or name=ip (split at the first '=' else the first ':', so IPv6 works);
// "host-gateway" is kept as is. The name may not be empty nor hold ':' or whitespace.
Result<ExtraHost> parse_add_host(std::string_view text);

// --dns: an IPv4 or IPv6 nameserver address, returned in canonical form.
Result<std::string> parse_dns(std::string_view text);

// --dns-search: a domain (Docker's rules: letters, digits and '-' labels, a trailing '.'
// dropped, under 255 characters, at least one letter) or "." for none.
Result<std::string> parse_dns_search(std::string_view text);

// --dns-option: one resolv.conf "options" word ("ndots:2", "edns0"); no whitespace.
Result<std::string> parse_dns_option(std::string_view text);

// --network-alias: a name the network's DNS answers for: dot-separated labels of letters,
// digits, '-' and '_', each 1-63 characters, not starting or ending with '-', 253 at most.
// Docker does not check aliases; berth does, since its DNS server must be able to answer them.
Result<std::string> parse_network_alias(std::string_view text);

// --ip: the container's IPv4 address on its network.
Result<Ipv4> parse_ip_flag(std::string_view text);

}  // namespace berth::network
