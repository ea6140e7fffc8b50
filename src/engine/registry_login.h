// `login` and `logout`: credentials checked against the registry, then kept in Docker's
// config.json (0600) so berth and docker share them.
#pragma once

#include <string>

#include "base/error.h"
#include "engine/engine_options.h"
#include "image/registry_client.h"

namespace berth::engine {

// server: "" or "docker.io" for Docker Hub, else a registry host[:port]. Verifies the
// credentials with GET /v2/ before storing them (PermissionDenied when refused).
Result<void> login(const EngineOptions& options, const std::string& server, const image::AuthConfig& auth);
// NotFound when no credentials were stored for server.
Result<void> logout(const EngineOptions& options, const std::string& server);
// The registry host a login server names ("docker.io" for "", "index.docker.io", the v1 URL).
std::string login_registry(const std::string& server);

}  // namespace berth::engine
