// Authenticated requests to one registry client's registries: picks http or https per host,
// answers 401 challenges (bearer tokens from the realm, or basic credentials) and caches the
// resulting Authorization per (host, scope) for the session's lifetime. Thread safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "base/error.h"
#include "image/http_client.h"
#include "image/registry_client.h"

namespace berth::image {

// Percent-encodes everything but RFC 3986 unreserved characters (for query values).
std::string url_encode(std::string_view s);

class RegistrySession {
 public:
  explicit RegistrySession(RegistryOptions options);

  // "https://registry-1.docker.io" for docker.io; http:// for loopback and insecure hosts.
  std::string base_url(const std::string& domain) const;
  // Sends req, authenticating for scope ("repository:<path>:pull", or "" for /v2/) on a 401 and
  // retrying once. Returns whatever the registry answered last; the caller maps its status.
  Result<http::Response> send(const std::string& domain, const std::string& scope,
                              http::Request req, const http::BodySink& sink = nullptr);

 private:
  struct CachedAuth {
    std::string header;  // the Authorization value
    std::chrono::steady_clock::time_point expires;
  };

  // The Authorization for a 401 response's challenges; nullopt when there is no way to answer.
  Result<std::optional<CachedAuth>> authenticate(const std::string& domain, const std::string& scope,
                                                 const http::Response& challenge);
  Result<CachedAuth> fetch_token(const std::string& domain, const std::string& realm,
                                 const std::string& service, const std::string& scope);
  std::optional<std::string> cached(const std::string& key);

  RegistryOptions options_;
  http::Client http_;
  std::mutex mu_;
  std::map<std::string, CachedAuth> auth_cache_;  // key: host + " " + scope
};

}  // namespace berth::image
