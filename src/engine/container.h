// The engine's model of a container: what it was created from (the run flags and the image it
// resolved to) and what it is doing now (state, exit, health). Stored as JSON in berth.db's
// containers table (store/container_records.h); the CLI, compose, deploy and the Docker API
// all read this one model.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/run_options.h"
#include "oci/image_spec.h"

namespace berth::engine {

// Docker's container states ("State.Status").
enum class ContainerStatus { Created, Running, Paused, Restarting, Removing, Exited, Dead };

std::string_view to_string(ContainerStatus status);
std::optional<ContainerStatus> parse_container_status(std::string_view text);

// One healthcheck run, as `inspect` shows it in State.Health.Log.
struct HealthResult {
  std::string start;  // RFC 3339 with nanoseconds
  std::string end;
  int exit_code = 0;  // 0 healthy, 1 unhealthy, -1 could not run (timeout: -1 too)
  std::string output;  // at most 4096 bytes, like Docker
  bool operator==(const HealthResult&) const = default;
};

// Docker's State.Health: Status "starting" | "healthy" | "unhealthy".
struct HealthState {
  std::string status;  // "" when the container has no healthcheck
  int failing_streak = 0;
  std::vector<HealthResult> log;  // the last 5 results, oldest first
  bool operator==(const HealthState&) const = default;
};

// The container's place on one network while it runs (NetworkSettings.Networks in inspect).
struct EndpointState {
  std::string network_id;
  std::string network;  // its name when the container started
  std::string ip;       // "10.88.0.2"
  int prefix = 0;       // 16
  std::string gateway;  // "10.88.0.1"; "" on an --internal network
  std::string mac;      // "02:42:0a:58:00:02", derived from the address as Docker does
  std::string bridge;   // the host's bridge
  std::string veth;     // the host end of the container's veth pair
  std::string interface;  // the container's end: eth0, eth1...
  std::vector<std::string> dns_names;  // the names the network's DNS answers with ip
  std::string dns_server;  // the network's embedded DNS server; "" on the default bridge
  bool operator==(const EndpointState&) const = default;
};

// A published port as bound: NetworkSettings.Ports in inspect, `port`, ps.
struct PortBinding {
  std::string host_ip;  // "0.0.0.0" for all addresses
  uint16_t host_port = 0;
  uint16_t container_port = 0;
  std::string proto;    // "tcp" | "udp"
  bool operator==(const PortBinding&) const = default;
};

// What the container is doing; written by the monitor (and by commands reconciling after a
// monitor died).
struct ContainerState {
  ContainerStatus status = ContainerStatus::Created;
  int pid = 0;              // host pid of the container's init while running, else 0
  int monitor_pid = 0;      // the monitor process while it lives, else 0
  int exit_code = 0;
  bool oom_killed = false;
  std::string error;        // why the last start failed, or why the monitor was lost
  std::string started_at;   // RFC 3339 with nanoseconds; "" = never
  std::string finished_at;
  int restart_count = 0;
  bool manually_stopped = false;  // set by stop/kill; restart policies then stay quiet
  HealthState health;
  std::vector<EndpointState> networks;  // while it runs
  std::vector<PortBinding> ports;       // while it runs
  bool operator==(const ContainerState&) const = default;
};

// One mount as it was resolved at create time: the host path a -v/--mount/--tmpfs entry uses.
struct ResolvedMount {
  MountSpec spec;
  std::string host_path;  // bind source or the volume's _data; "" for tmpfs
  std::string volume;     // the volume name for volume mounts (anonymous ones included)
  bool operator==(const ResolvedMount&) const = default;
};

struct Container {
  std::string id;       // 64 hex digits
  std::string name;     // without Docker's leading "/"
  std::string image;    // as the user wrote it ("busybox", "sha256:...")
  std::string image_id;  // "sha256:<hex>" of the image config
  std::string created;  // RFC 3339 with nanoseconds
  RunOptions config;    // the run/create flags
  oci::ImageConfig image_config;  // the image's config when the container was created
  std::vector<ResolvedMount> mounts;
  // Path and Args the init runs, as Docker reports them (entrypoint + cmd resolved).
  std::string path;
  std::vector<std::string> args;
  ContainerState state;

  bool running() const {
    return state.status == ContainerStatus::Running || state.status == ContainerStatus::Paused ||
           state.status == ContainerStatus::Restarting;
  }
};

// 12 hex digits, as `ps` shows an ID.
inline std::string short_container_id(std::string_view id) { return std::string(id.substr(0, 12)); }

}  // namespace berth::engine
