// libFuzzer target for the network flag parsers of `berth run` (network/port_spec.h,
// network/host_flags.h, network/ipam.h): the first byte picks the parser, the rest is the
// flag's text. No input may crash one; an accepted value must hold what the engine relies on.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "network/host_flags.h"
#include "network/ipam.h"
#include "network/port_spec.h"

using namespace berth::network;

namespace {

void require(bool ok, const char* what, std::string_view text) {
  if (ok) return;
  std::fprintf(stderr, "%s: %.*s\n", what, static_cast<int>(text.size()), text.data());
  std::abort();
}

void check_publish(std::string_view text) {
  auto r = parse_publish(text);
  if (!r) return;
  require(!r->empty(), "accepted a publish spec without mappings", text);
  for (const auto& m : *r) {
    require(m.container_port != 0, "accepted container port 0", text);
    require(m.host_port_first <= m.host_port_last, "host range runs backwards", text);
    require(m.host_port_first != 0 || m.host_port_last == 0, "host range starts at 0", text);
    require(!m.host_ip || m.host_ip->value != 0, "0.0.0.0 not normalised", text);
    if (r->size() > 1)
      require(m.host_port_first == m.host_port_last, "host range on a container range", text);
    require(!format_port_mapping(m).empty(), "empty docker port line", text);
  }
}

void check_expose(std::string_view text) {
  auto r = parse_expose(text);
  if (!r) return;
  require(!r->empty(), "accepted an expose spec without ports", text);
  for (const auto& [port, proto] : *r) require(port != 0, "exposed port 0", text);
}

void check_add_host(std::string_view text) {
  auto r = parse_add_host(text);
  if (!r) return;
  require(!r->name.empty(), "accepted an empty host name", text);
  require(r->name.find(':') == std::string::npos, "host name with ':'", text);
  for (char c : r->name + r->address)
    require(static_cast<unsigned char>(c) > 0x20, "whitespace in an /etc/hosts entry", text);
}

void check_subnet(std::string_view text) {
  auto r = parse_subnet(text);
  if (!r) return;
  require(r->prefix >= 8 && r->prefix <= 30, "prefix out of range", text);
  require(r->addr == r->network(), "host bits set", text);
  auto pool = make_pool(*r, std::nullopt, std::nullopt);
  require(pool.has_value(), "no pool for a valid subnet", text);
  auto ip = allocate(*pool, {}, "fuzz");
  require(ip.has_value() && r->contains(*ip) && *ip != pool->gateway, "bad first address", text);
}

void check_names(std::string_view text, bool alias) {
  auto r = alias ? parse_network_alias(text) : parse_dns_search(text);
  if (!r) return;
  require(!r->empty() && r->size() < 255, "bad name length", text);
  for (char c : *r) require(static_cast<unsigned char>(c) > 0x20, "whitespace in a name", text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 8) {
    case 0:
      check_publish(text);
      break;
    case 1:
      check_expose(text);
      break;
    case 2:
      check_add_host(text);
      break;
    case 3:
      check_subnet(text);
      break;
    case 4:
      check_names(text, true);
      break;
    case 5:
      check_names(text, false);
      break;
    case 6: {
      auto d = parse_dns(text);
      require(!d || !d->empty(), "empty nameserver", text);
      (void)parse_dns_option(text);
      break;
    }
    case 7: {
      auto ip = parse_ip_flag(text);
      require(!ip || ip->value != 0, "accepted 0.0.0.0 for --ip", text);
      break;
    }
  }
  return 0;
}
