#include "engine/registry_login.h"

#include "base/strings.h"
#include "image/credentials.h"

namespace berth::engine {
namespace {

image::CredentialStore credential_store(const EngineOptions& options) {
  return image::CredentialStore(options.docker_config.empty() ? image::default_docker_config_path()
                                                              : options.docker_config);
}

}  // namespace

std::string login_registry(const std::string& server) {
  std::string s = server;
  for (std::string_view scheme : {"https://", "http://"})
    if (starts_with(s, scheme)) s = s.substr(scheme.size());
  if (auto slash = s.find('/'); slash != std::string::npos) s.resize(slash);
  if (s.empty() || s == "index.docker.io" || s == "registry-1.docker.io" || s == "docker.io") return "docker.io";
  return s;
}

Result<void> login(const EngineOptions& options, const std::string& server, const image::AuthConfig& auth) {
  std::string registry = login_registry(server);
  image::RegistryOptions ro;
  ro.credentials = [auth](const std::string&) { return std::optional<image::AuthConfig>(auth); };
  ro.insecure_registries = options.insecure_registries;
  auto client = TRY(image::make_registry_client(std::move(ro)));
  TRY_CTX(fmt::format("login to {}", registry), client->ping(registry));
  return credential_store(options).store(registry, auth);
}

Result<void> logout(const EngineOptions& options, const std::string& server) {
  return credential_store(options).erase(login_registry(server));
}

}  // namespace berth::engine
