// Containers as JSON: the storage form berth.db keeps (snake_case members, every field of the
// model, readable by later versions that add members), the object `docker inspect CONTAINER`
// prints (Docker Engine API v1.43 ContainerInspectResponse), and the effective config a
// container runs with once the image config and the run flags are merged as Docker merges them.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/error.h"
#include "engine/container.h"
#include "engine/run_options.h"
#include "oci/image_spec.h"

namespace berth::engine {

// The storage form of a container: every member of Container (RunOptions in full, the image
// config via oci::to_json, mounts, state with health), stable member names in snake_case.
std::string container_to_json(const Container& c);
// Parses container_to_json's output; a missing member keeps its default (so later versions can
// add members); a wrong type is InvalidArgument naming the JSON path. Never throws.
Result<Container> container_from_json(std::string_view json);
// The same for the state alone (the monitor rewrites only the state).
std::string container_state_to_json(const ContainerState& s);
Result<ContainerState> container_state_from_json(std::string_view json);

// What inspect needs beyond the Container.
struct InspectPaths {
  std::string log_path, hosts_path, resolv_conf_path, hostname_path;
};

// `docker inspect CONTAINER`'s object, members in Docker's order (hence ordered_json; it
// converts to nlohmann::json implicitly). Times are RFC 3339 ("0001-01-01T00:00:00Z" for
// never), durations nanoseconds, Name has Docker's leading "/".
nlohmann::ordered_json container_inspect_json(const Container& c, const InspectPaths& paths);

// The effective config the container runs with, merged as Docker merges image and flags: Env
// (image env overridden by flag env of the same key, order kept), Entrypoint and Cmd
// (--entrypoint resets the image CMD, a command replaces CMD, --entrypoint "" clears the
// entrypoint), User, WorkingDir, Labels (image labels overridden by -l), StopSignal (flag or
// image; empty stays empty), Healthcheck (--no-healthcheck gives Test ["NONE"], --health-cmd
// gives ["CMD-SHELL", cmd], each set --health-* value overrides the image's).
oci::ContainerConfig effective_config(const RunOptions& opts, const oci::ImageConfig& image);

}  // namespace berth::engine
