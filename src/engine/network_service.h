// Docker's networks for a daemonless engine: `network create/ls/inspect/rm/prune/connect/
// disconnect`, and what a container's start and end do to them. A network is a row in
// berth.db; its host side (a bridge with the gateway address, berth's nftables rules, and for
// user networks an embedded DNS server, `berth dns`) is made on first use and after a reboot
// by realize(). A running container holds one endpoint per network: an address unique on that
// network (a row, so racing starts cannot share one) and the names the network's DNS answers.
//
// The CLI, compose, deploy and the Docker API call this; it prints nothing.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "engine/container.h"
#include "engine/engine_options.h"
#include "engine/network.h"

namespace berth::store {
class Database;
class NetworkRecords;
}  // namespace berth::store

namespace berth::engine {

// What a starting container holds on the host until its monitor ends: its endpoints and its
// published ports, each port reserved by a bound socket (so neither another container nor a
// host program can take it; the traffic itself goes by nftables to the container).
struct ContainerNetworking {
  std::vector<EndpointState> endpoints;
  std::vector<PortBinding> ports;
  std::vector<UniqueFd> port_reservations;
};

class NetworkService {
 public:
  // db is borrowed and outlives the service; self is the berth binary (for `berth dns`).
  NetworkService(EngineOptions options, store::Database& db, std::string self);
  ~NetworkService();

  // Conflict naming the other network when the name or subnet is taken; InvalidArgument for
  // a bad address. Nothing is made on the host until a container joins.
  Result<Network> create(const NetworkCreateRequest& request);
  // A name, full ID or unique ID prefix; the default network is made on first use.
  // NotFound: "network X not found".
  Result<Network> get(const std::string& ref);
  // Every network, the default one included; filters: name=, id=, label=, driver=, type=.
  Result<std::vector<Network>> list(const std::vector<std::string>& filters = {});
  // Conflict while a container (running or not) is attached; removes the host side too.
  Result<void> remove(const std::string& ref);
  // Removes the user networks no container is attached to; their names.
  Result<std::vector<std::string>> prune(const std::vector<std::string>& filters = {});
  // The IDs of the containers configured on the network (from their records).
  Result<std::vector<std::string>> containers_on(const Network& n);

  // Makes the host side of a network: bridge, gateway address, sysctls, nftables rules, and
  // its DNS server when it has one. Idempotent; a few syscalls when everything is there.
  Result<void> realize(const Network& n);

  // Start: allocates c's endpoints on its networks, reserves its published ports, writes
  // its hosts and resolv.conf files into dir, and updates the networks' DNS records. Undone
  // when it fails.
  Result<ContainerNetworking> attach(const Container& c, const std::string& dir);
  // End: releases the container's endpoints and DNS names.
  Result<void> detach(const std::string& container_id);
  // One network of a container: an address (a.ipv4, or the next free one) and its DNS names;
  // index numbers the container's interfaces (eth<index>).
  Result<EndpointState> attach_endpoint(const Container& c, const NetworkAttachment& a, size_t index);
  Result<void> detach_endpoint(const std::string& network_id, const std::string& container_id);

 private:
  Result<Network> load(const std::string& id);
  Result<Network> ensure_default();
  Result<void> write_dns_records(const Network& n);
  Result<void> ensure_dns_server(const Network& n);
  std::string network_run_dir(const std::string& id) const;

  EngineOptions options_;
  store::Database& db_;
  std::string self_;
  std::unique_ptr<store::NetworkRecords> records_;
};

// The MAC address Docker derives from an IPv4 address: 02:42 and the four bytes.
std::string mac_for_ip(network::Ipv4 ip);

// The host's /etc/resolv.conf without loopback nameservers (Google's when none is left).
std::string host_resolv_conf();

}  // namespace berth::engine
