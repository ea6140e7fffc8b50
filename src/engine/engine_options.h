// Where the engine keeps its state and how it reaches registries; shared by every engine
// service (images now, containers, networks and volumes later).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace berth::engine {

struct EngineOptions {
  std::string root = "/var/lib/berth";  // --root, BERTH_ROOT
  std::string runroot = "/run/berth";   // --runroot
  std::string docker_config;            // config.json for credentials; "" for the default
  std::vector<std::string> insecure_registries;
  // Largest decompressed layer unpacked (a tar bomb guard); --max-layer-size.
  int64_t max_layer_size = int64_t{64} << 30;
};

}  // namespace berth::engine
