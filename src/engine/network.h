// The engine's model of a network, as `network inspect` and the Docker API show it. Only
// Docker's bridge driver creates networks; "host" and "none" are the fixed pseudo-networks
// every engine lists. Stored as JSON in berth.db's networks table (store/network_records.h).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "base/error.h"
#include "network/address.h"

namespace berth::engine {

// The default bridge network's name, as Docker's.
inline constexpr char kDefaultNetwork[] = "bridge";
// The host bridge of the default network.
inline constexpr char kDefaultBridge[] = "berth0";

struct Network {
  std::string id;  // 64 hex digits
  std::string name;
  std::string created;  // RFC 3339 with nanoseconds
  std::string driver = "bridge";
  network::Ipv4Net subnet;
  network::Ipv4 gateway;
  std::optional<network::Ipv4Net> ip_range;
  std::string bridge;  // the host interface: berth0, or br-<12 hex of the id>
  bool internal = false;
  std::map<std::string, std::string> labels;

  bool is_default() const { return name == kDefaultNetwork; }
  // Containers find each other by name on user networks only, as with Docker.
  bool has_dns() const { return !is_default(); }
};

// What `network create` asks for; unset members are chosen by IPAM.
struct NetworkCreateRequest {
  std::string name;
  std::string driver = "bridge";
  std::string subnet, gateway, ip_range;  // as given, "" = chosen
  bool internal = false;
  std::map<std::string, std::string> labels;
};

std::string network_config_to_json(const Network& n);
// Fills n's configuration members from network_config_to_json's output.
Result<void> network_config_from_json(std::string_view json, Network& n);

}  // namespace berth::engine
