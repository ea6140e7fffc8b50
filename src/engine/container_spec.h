// Builds a container's OCI runtime spec from `berth run` flags and the image config, with
// berth's secure defaults: Docker's capability set without NET_RAW, no-new-privileges, the
// default seccomp profile, Docker's masked and read-only paths, a pids limit, and an init as
// PID 1. Each default names the flag that turns it off:
//   --cap-add NET_RAW, --security-opt no-new-privileges=false,
//   --security-opt seccomp=unconfined, --pids-limit -1, --init=false, --privileged.
// --security-profile strict goes further (non-root, read-only root with tmpfs /tmp, no
// capabilities, --memory and --pids-limit required).
//
// All validation happens here, before the engine creates anything; every error is
// InvalidArgument naming the flag.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "engine/run_options.h"
#include "oci/image_spec.h"
#include "oci/runtime_spec.h"

namespace berth::engine {

// Where the static berth binary is bind-mounted in the container to run as its init.
inline constexpr std::string_view kInitPath = "/run/berth-init";
inline constexpr std::string_view kSecretsDir = "/run/secrets";

// What the engine prepared before the spec is built.
struct ContainerSpecInputs {
  std::string id;
  std::string rootfs;  // absolute path of the mounted root filesystem
  // Host path of each opts.mounts entry, same index: the bind source, or the volume's
  // _data directory the engine created; ignored for tmpfs (may be shorter then).
  std::vector<std::string> mount_sources;
  std::string hosts_path, resolv_conf_path, hostname_path;  // empty: not mounted
  std::string secrets_dir;  // host dir (on tmpfs) holding one file per secret, by name
  std::string init_binary;  // host path of berth-init (engine/init_binary.h), used when opts.init
  std::string cgroups_path;  // linux.cgroupsPath; empty lets the runtime pick /berth/<id>
  // The network namespace to join (--network container:X: the other's /proc/PID/ns/net);
  // empty for a new one, or none at all with --network host.
  std::string netns_path;
};

// The OCI spec for the container; see the file comment for the defaults.
Result<oci::Spec> build_container_spec(const RunOptions& opts, const oci::ImageConfig& image,
                                       const ContainerSpecInputs& inputs);

// The command the container runs (before the init wraps it): entrypoint + cmd with Docker's
// rules (--entrypoint drops the image's CMD too; a command replaces CMD). InvalidArgument
// when there is none.
Result<std::vector<std::string>> command_line(const RunOptions& opts, const oci::ContainerConfig& image);

// The file in the engine's secrets directory that holds opts.secrets[index]: the secret's name,
// with "-N" added when an earlier --secret names the same secret (each mount has its own
// owner and mode).
std::string secret_file_name(const std::vector<SecretRef>& secrets, size_t index);

// Checks what does not depend on the image or the rootfs (flag combinations, health
// options, strict profile's required limits). build_container_spec calls it first.
Result<void> validate_run_options(const RunOptions& opts);

// Docker's default capabilities without NET_RAW, as "CAP_..." names.
std::vector<std::string> default_capabilities();

// The capability set after --cap-add/--cap-drop (names with or without CAP_, any case, or
// ALL) on top of the default set; errors name the flag and the unknown capability.
Result<std::vector<std::string>> resolve_capability_flags(const std::vector<std::string>& add,
                                                          const std::vector<std::string>& drop);

}  // namespace berth::engine
