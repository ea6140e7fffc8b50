// Registry credentials in Docker's config.json ($DOCKER_CONFIG/config.json, else
// ~/.docker/config.json): "auths" entries with base64 "user:password", written 0600, and the
// optional "credsStore"/"credHelpers" that delegate to docker-credential-<name> programs.
#pragma once

#include <optional>
#include <string>

#include "base/error.h"
#include "image/registry_client.h"

namespace berth::image {

// The config.json berth reads and writes: $DOCKER_CONFIG/config.json or $HOME/.docker/config.json.
std::string default_docker_config_path();

class CredentialStore {
 public:
  explicit CredentialStore(std::string config_path);

  // Credentials for a registry key as Docker spells it ("https://index.docker.io/v1/" for
  // docker.io, else the host). Unknown members of config.json are preserved on write.
  Result<std::optional<AuthConfig>> get(const std::string& registry) const;
  Result<void> store(const std::string& registry, const AuthConfig& auth);
  // NotFound when there was nothing stored.
  Result<void> erase(const std::string& registry);

  // A CredentialLookup for RegistryOptions that reads this store (errors read as "none").
  CredentialLookup lookup() const;

 private:
  std::string path_;
};

// Docker's key for a registry: "https://index.docker.io/v1/" for docker.io, else the host.
std::string credential_key(const std::string& registry);

}  // namespace berth::image
