// The OCI image specification's data model (index, manifest, image config, descriptor), read
// from OCI and Docker schema2 JSON alike. Docker's manifest list and schema2 manifest have the
// same shape as the OCI index and manifest and differ only in media types, so one model holds
// both; the original bytes stay in the content store, which keeps digests stable for push.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/digest.h"
#include "base/error.h"

namespace berth::oci {

namespace media_type {
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kOciLayerNondistributableGzip =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr std::string_view kDockerLayerGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerForeignLayerGzip =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
}  // namespace media_type

bool is_index_media_type(std::string_view mt);     // OCI index or Docker manifest list
bool is_manifest_media_type(std::string_view mt);  // OCI manifest or Docker schema2 manifest
bool is_layer_media_type(std::string_view mt);     // any tar layer media type above

enum class Compression { None, Gzip, Zstd };
// The compression a layer media type declares; InvalidArgument for a non-layer type.
Result<Compression> layer_compression(std::string_view media_type);

struct Platform {
  std::string architecture;  // GOARCH: "amd64", "arm64"
  std::string os;            // "linux"
  std::string variant;       // "v8", "v7"; empty when none
  std::string os_version;
  std::vector<std::string> os_features;

  // "linux/amd64", "linux/arm64/v8".
  std::string to_string() const;
  bool operator==(const Platform&) const = default;
};

// The platform berth runs on, normalised as Go names it (x86_64 is amd64, aarch64 is arm64/v8).
Platform host_platform();
// Parses --platform text "os[/arch[/variant]]" with Docker's normalisation (aarch64 → arm64,
// x86_64 → amd64, arm64 defaults to variant v8); InvalidArgument names the text.
Result<Platform> parse_platform(std::string_view text);
// Whether a descriptor's platform satisfies the wanted one (os and architecture equal; the
// variant equal when wanted has one, arm64's empty variant counting as v8).
bool platform_matches(const Platform& wanted, const Platform& have);

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::vector<std::string> urls;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;
  std::string artifact_type;

  bool operator==(const Descriptor&) const = default;
};

// OCI image index or Docker manifest list.
struct Index {
  int schema_version = 2;
  std::string media_type;  // as in the document; may be empty for OCI
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;
  bool operator==(const Index&) const = default;
};

// OCI image manifest or Docker schema2 manifest.
struct Manifest {
  int schema_version = 2;
  std::string media_type;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;
  bool operator==(const Manifest&) const = default;
};

// A healthcheck as Docker stores it in the image config (durations in nanoseconds).
struct HealthConfig {
  std::vector<std::string> test;
  int64_t interval = 0;
  int64_t timeout = 0;
  int64_t start_period = 0;
  int64_t start_interval = 0;
  int retries = 0;
  bool operator==(const HealthConfig&) const = default;
};

// The "config" member of an image config: what a container starts with.
struct ContainerConfig {
  std::string user;
  std::vector<std::string> exposed_ports;  // "80/tcp", sorted, unique
  std::vector<std::string> env;            // "KEY=value"
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> volumes;  // sorted, unique
  std::string working_dir;
  std::map<std::string, std::string> labels;
  std::string stop_signal;
  std::optional<HealthConfig> healthcheck;  // Docker extension
  std::vector<std::string> on_build;        // Docker extension
  std::vector<std::string> shell;           // Docker extension
  bool args_escaped = false;
  bool operator==(const ContainerConfig&) const = default;
};

struct HistoryEntry {
  std::string created;  // RFC 3339
  std::string created_by;
  std::string author;
  std::string comment;
  bool empty_layer = false;
  bool operator==(const HistoryEntry&) const = default;
};

struct ImageConfig {
  std::string created;  // RFC 3339, may be empty
  std::string author;
  std::string architecture;
  std::string os;
  std::string variant;
  std::string os_version;
  ContainerConfig config;
  std::vector<Digest> diff_ids;  // rootfs.diff_ids; rootfs.type must be "layers"
  std::vector<HistoryEntry> history;
  // Docker-only members kept verbatim so a round trip through berth changes nothing users see.
  std::string docker_version;
  std::string comment;

  Platform platform() const;
  bool operator==(const ImageConfig&) const = default;
};

// Parsers: every error is InvalidArgument naming the JSON path ("manifests[1].digest: invalid
// digest ..."). Unknown members are ignored, as the specs require.
Result<Index> parse_index(std::string_view json);
Result<Manifest> parse_manifest(std::string_view json);
Result<ImageConfig> parse_image_config(std::string_view json);

// Canonical JSON (members in a fixed order, no whitespace): what berth writes and digests.
std::string to_json(const Index& index);
std::string to_json(const Manifest& manifest);
std::string to_json(const ImageConfig& config);

// The media type of a manifest-like document: its "mediaType" member, else inferred from its
// shape ("manifests" → OCI index, "config" → OCI manifest); InvalidArgument when neither.
Result<std::string> detect_manifest_media_type(std::string_view json);

// ChainID of a layer stack as the OCI image spec defines it: ChainID(L0) = DiffID(L0),
// ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)). Returns one ID per layer.
std::vector<Digest> chain_ids(const std::vector<Digest>& diff_ids);

}  // namespace berth::oci
