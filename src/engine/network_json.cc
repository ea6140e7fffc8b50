// The storage form of a network's configuration in berth.db.
#include <nlohmann/json.hpp>

#include "engine/network.h"
#include "oci/json_reader.h"

namespace berth::engine {

std::string network_config_to_json(const Network& n) {
  nlohmann::ordered_json o = {{"driver", n.driver},       {"subnet", n.subnet.str()},
                              {"gateway", n.gateway.str()}, {"bridge", n.bridge},
                              {"internal", n.internal},   {"labels", n.labels}};
  if (n.ip_range) o["ip_range"] = n.ip_range->str();
  return o.dump();
}

Result<void> network_config_from_json(std::string_view json, Network& n) {
  auto j = TRY_CTX("parse network JSON", oci::jsonio::parse_json(json));
  std::string subnet, gateway;
  std::optional<std::string> ip_range;
  TRY(oci::jsonio::ObjectReader(j, "")
          .field("driver", n.driver)
          .field("subnet", subnet)
          .field("gateway", gateway)
          .field("ip_range", ip_range)
          .field("bridge", n.bridge)
          .field("internal", n.internal)
          .field("labels", n.labels)
          .done());
  n.subnet = TRY(network::parse_ipv4_net(subnet));
  n.gateway = TRY(network::parse_ipv4(gateway));
  if (ip_range) n.ip_range = TRY(network::parse_ipv4_net(*ip_range));
  return {};
}

}  // namespace berth::engine
