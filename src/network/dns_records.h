// The records file of a network's DNS server: the engine writes it (atomically, by rename) with
// one line per container address, the server reads it. Format, one record a line:
//   <ipv4> <name> [<name>...]      # comment
// Names are container names, service aliases and network aliases; several lines may share a
// name (replicas), and the first name of an address is what a PTR query for it returns.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "network/address.h"

namespace berth::network {

class DnsRecords {
 public:
  // Adds name -> ip (duplicates ignored); the first name added for an ip answers PTR queries.
  void add(Ipv4 ip, std::string_view name);
  // The addresses of name, in file order; case-insensitive, a trailing dot is ignored. Empty
  // when the network has no such name.
  std::span<const Ipv4> lookup(std::string_view name) const;
  // The name an address answers PTR queries with.
  std::optional<std::string> reverse(Ipv4 ip) const;
  bool empty() const { return by_name_.empty(); }

 private:
  std::map<std::string, std::vector<Ipv4>, std::less<>>
      by_name_;  // keys lowercased, no trailing dot
  std::map<Ipv4, std::string> by_ip_;
};

struct ParsedDnsRecords {
  DnsRecords records;         // every valid line
  std::vector<Error> errors;  // one per refused line, naming it ("records line 3: ...")
};

// Parses the file's text; source names it in errors. Bad lines are refused and reported, the
// others kept, so one bad line does not take the network's names down.
ParsedDnsRecords parse_dns_records(std::string_view text, std::string_view source);

// A name as the records file may hold it: dot-separated labels of 1-63 letters, digits, '-'
// or '_' (Docker container names allow '_'), 253 characters at most; one trailing dot allowed.
bool valid_dns_name(std::string_view name);

// "4.0.89.10.in-addr.arpa" (any case, trailing dot allowed) -> 10.89.0.4; nullopt otherwise.
std::optional<Ipv4> parse_reverse_name(std::string_view name);
// 10.89.0.4 -> "4.0.89.10.in-addr.arpa".
std::string reverse_name(Ipv4 ip);

// The IPv4 nameservers of a resolv.conf text ("nameserver 1.2.3.4" lines), port 53, in order.
std::vector<Ipv4> resolv_conf_nameservers(std::string_view text);

}  // namespace berth::network
