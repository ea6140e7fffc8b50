#include "image/registry_session.h"

#include <algorithm>

#include "base/strings.h"
#include "image/registry_auth.h"

namespace berth::image {

namespace {

http::ClientOptions client_options(const RegistryOptions& o) {
  http::ClientOptions c;
  c.insecure_hosts = o.insecure_registries;
  c.user_agent = o.user_agent;
  c.timeout_seconds = o.timeout_seconds;
  return c;
}

std::string append_query(std::string url, std::string_view query) {
  url += url.find('?') == std::string::npos ? "?" : "&";
  url += query;
  return url;
}

}  // namespace

std::string url_encode(std::string_view s) {
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') out += c;
    else out += fmt::format("%{:02X}", u);
  }
  return out;
}

RegistrySession::RegistrySession(RegistryOptions options)
    : options_(std::move(options)), http_(client_options(options_)) {}

std::string RegistrySession::base_url(const std::string& domain) const {
  std::string host = registry_host(domain);
  const auto& insecure = options_.insecure_registries;
  bool plain = http::is_loopback_host(host) ||
               std::find(insecure.begin(), insecure.end(), domain) != insecure.end() ||
               std::find(insecure.begin(), insecure.end(), host) != insecure.end();
  return (plain ? "http://" : "https://") + host;
}

std::optional<std::string> RegistrySession::cached(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = auth_cache_.find(key);
  if (it == auth_cache_.end()) return std::nullopt;
  if (std::chrono::steady_clock::now() >= it->second.expires) {
    auth_cache_.erase(it);
    return std::nullopt;
  }
  return it->second.header;
}

Result<http::Response> RegistrySession::send(const std::string& domain, const std::string& scope,
                                             http::Request req, const http::BodySink& sink) {
  std::string key = registry_host(domain) + " " + scope;
  if (auto header = cached(key)) req.headers.set("Authorization", *header);
  http::Response resp = TRY(http_.send(req, sink));
  if (resp.status != 401) return resp;
  std::optional<CachedAuth> auth = TRY(authenticate(domain, scope, resp));
  if (!auth) return resp;
  {
    std::lock_guard lock(mu_);
    auth_cache_[key] = *auth;
  }
  req.headers.set("Authorization", auth->header);
  return http_.send(req, sink);
}

Result<std::optional<RegistrySession::CachedAuth>> RegistrySession::authenticate(
    const std::string& domain, const std::string& scope, const http::Response& challenge) {
  std::vector<AuthChallenge> challenges;
  for (const auto& value : challenge.headers.get_all("WWW-Authenticate")) {
    auto parsed = parse_www_authenticate(value);
    if (parsed) challenges.insert(challenges.end(), parsed->begin(), parsed->end());
  }
  for (const auto& ch : challenges) {
    if (ch.scheme != "bearer") continue;
    std::string realm = ch.param("realm");
    if (realm.empty())
      return Fail(ErrorCode::InvalidArgument, "registry {}: bearer challenge without a realm", domain);
    return std::optional<CachedAuth>(TRY(fetch_token(domain, realm, ch.param("service"), scope)));
  }
  std::optional<AuthConfig> creds;
  if (options_.credentials) creds = options_.credentials(domain);
  for (const auto& ch : challenges) {
    if (ch.scheme != "basic" || !creds || creds->username.empty()) continue;
    return std::optional<CachedAuth>(
        CachedAuth{"Basic " + base64_encode(creds->username + ":" + creds->password),
                   std::chrono::steady_clock::time_point::max()});
  }
  return std::optional<CachedAuth>();
}

Result<RegistrySession::CachedAuth> RegistrySession::fetch_token(const std::string& domain,
                                                                 const std::string& realm,
                                                                 const std::string& service,
                                                                 const std::string& scope) {
  std::optional<AuthConfig> creds;
  if (options_.credentials) creds = options_.credentials(domain);
  http::Request req;
  std::vector<std::string> query;
  if (!service.empty()) query.push_back("service=" + url_encode(service));
  if (!scope.empty()) query.push_back("scope=" + url_encode(scope));
  if (creds && !creds->identity_token.empty()) {
    req.method = "POST";
    req.url = realm;
    req.headers.set("Content-Type", "application/x-www-form-urlencoded");
    query.push_back("grant_type=refresh_token");
    query.push_back("client_id=berth");
    query.push_back("refresh_token=" + url_encode(creds->identity_token));
    req.body = join(query, "&");
  } else {
    if (creds && !creds->username.empty()) {
      query.push_back("account=" + url_encode(creds->username));
      req.headers.set("Authorization",
                      "Basic " + base64_encode(creds->username + ":" + creds->password));
    }
    req.url = query.empty() ? realm : append_query(realm, join(query, "&"));
  }
  std::string what = "fetch token from " + realm;
  http::Response resp = TRY_CTX(what, http_.send(req));
  if (resp.status != 200) return Err(registry_error(resp.status, resp.body).context(what));
  BearerToken token = TRY_CTX(what, parse_token_response(resp.body));
  int64_t lifetime = token.expires_in > 20 ? token.expires_in - 10 : token.expires_in;
  return CachedAuth{"Bearer " + token.token,
                    std::chrono::steady_clock::now() + std::chrono::seconds(lifetime)};
}

}  // namespace berth::image
