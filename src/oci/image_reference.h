// Image references ("redis", "ghcr.io/org/app:1.2@sha256:...") parsed and normalised exactly as
// Docker's distribution/reference does for `docker pull`, so berth names the same image Docker
// would for the same text.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace berth::oci {

inline constexpr std::string_view kDefaultDomain = "docker.io";
inline constexpr std::string_view kDefaultTag = "latest";

// A normalised reference: domain is never empty, and tag is "latest" unless the text had a
// tag or a digest.
struct ImageReference {
  std::string domain;  // "docker.io", "localhost:5000", "[::1]:5000"
  std::string path;    // "library/redis", "user/app"
  std::string tag;     // empty when the reference is by digest only
  std::string digest;  // "sha256:<64 lowercase hex>" or empty

  // domain/path, the repository the reference names.
  std::string name() const;
  // The canonical form domain/path[:tag][@digest]; parse_image_reference returns it unchanged.
  std::string to_string() const;
  // Docker's short form: "docker.io/library/redis:latest" is "redis:latest".
  std::string familiar() const;

  bool operator==(const ImageReference&) const = default;
};

// Parses and normalises: "redis" is docker.io/library/redis:latest, "user/app" is
// docker.io/user/app:latest, "index.docker.io" becomes "docker.io". Errors are InvalidArgument
// and quote the input: `invalid reference "Redis": repository name must be lowercase`.
Result<ImageReference> parse_image_reference(std::string_view text);

}  // namespace berth::oci
