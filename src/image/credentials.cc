#include "image/credentials.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "base/fs.h"
#include "base/process.h"
#include "base/strings.h"
#include "image/registry_auth.h"
#include "oci/json_reader.h"

namespace berth::image {

namespace {

using oci::jsonio::Json;

constexpr std::string_view kDockerHubKey = "https://index.docker.io/v1/";

std::string parent_dir(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

Result<Json> load_config(const std::string& path) {
  if (!path_exists(path)) return Json::object();
  std::string text = TRY(read_file(path));
  if (trim(text).empty()) return Json::object();
  Json j = TRY_CTX("read " + path, oci::jsonio::parse_json(text));
  if (!j.is_object()) return Err(oci::jsonio::type_error("", "an object", j).error().context("read " + path));
  return j;
}

Result<void> save_config(const std::string& path, const Json& config) {
  TRY(make_dirs(parent_dir(path), 0700));
  return write_file_atomic(path, config.dump(1, '\t') + "\n", 0600);
}

// The credential helper configured for key: credHelpers[key], else credsStore; "" for none.
std::string helper_for(const Json& config, const std::string& key) {
  if (auto helpers = config.find("credHelpers"); helpers != config.end() && helpers->is_object()) {
    if (auto h = helpers->find(key); h != helpers->end() && h->is_string()) return h->get<std::string>();
  }
  if (auto store = config.find("credsStore"); store != config.end() && store->is_string())
    return store->get<std::string>();
  return "";
}

// Runs `docker-credential-<helper> <action>` with input on stdin; returns its stdout. A helper
// reporting "credentials not found" is NotFound.
Result<std::string> run_helper(const std::string& helper, const std::string& action,
                               std::string_view input) {
  std::string program = "docker-credential-" + helper;
  std::string what = fmt::format("credential helper {} {}", program, action);
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return FailErrno(errno, "{}: pipe", what);
  UniqueFd in_r(in[0]), in_w(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return FailErrno(errno, "{}: pipe", what);
  UniqueFd out_r(out[0]), out_w(out[1]);
  if (input.size() > 60000) return Fail(ErrorCode::InvalidArgument, "{}: input too large", what);
  TRY_CTX(what, write_all(in_w.get(), input));
  in_w.reset();
  SpawnOptions opts;
  opts.argv = {program, action};
  opts.stdin_fd = in_r.get();
  opts.stdout_fd = out_w.get();
  opts.stderr_fd = out_w.get();
  auto child = spawn(opts);
  if (!child) {
    if (child.error().sys_errno() == ENOENT)
      return Fail(ErrorCode::NotFound, "{}: {} is not installed (not found in PATH)", what, program);
    return Err(std::move(child.error()).context(what));
  }
  out_w.reset();
  in_r.reset();
  std::string output = TRY_CTX(what, read_all(out_r.get()));
  int status = TRY_CTX(what, child->wait());
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return output;
  std::string text(trim(output));
  if (text.find("credentials not found") != std::string::npos)
    return Fail(ErrorCode::NotFound, "{}: {}", what, text);
  return Fail(ErrorCode::Internal, "{}: exited with code {}: {}", what,
              exit_code_from_status(status), text);
}

Result<std::optional<AuthConfig>> helper_get(const std::string& helper, const std::string& key) {
  auto output = run_helper(helper, "get", key);
  if (!output && output.error().code() == ErrorCode::NotFound &&
      output.error().message().find("not installed") == std::string::npos)
    return std::optional<AuthConfig>();
  if (!output) return Err(std::move(output.error()));
  std::string what = "docker-credential-" + helper + " get";
  Json j = TRY_CTX(what, oci::jsonio::parse_json(*output));
  std::string username, secret;
  TRY_CTX(what, oci::jsonio::ObjectReader(j, "")
                    .field("Username", username)
                    .field("Secret", secret)
                    .done());
  AuthConfig auth;
  if (username == "<token>") {
    auth.identity_token = secret;
  } else {
    auth.username = username;
    auth.password = secret;
  }
  return std::optional<AuthConfig>(std::move(auth));
}

Result<std::optional<AuthConfig>> entry_get(const Json& config, const std::string& key,
                                            const std::string& path) {
  auto auths = config.find("auths");
  if (auths == config.end() || !auths->is_object()) return std::optional<AuthConfig>();
  auto entry = auths->find(key);
  if (entry == auths->end() || !entry->is_object()) return std::optional<AuthConfig>();
  std::string field_path = oci::jsonio::member_path(oci::jsonio::member_path("auths", key), "auth");
  std::string encoded;
  AuthConfig auth;
  TRY_CTX(path, oci::jsonio::ObjectReader(*entry, oci::jsonio::member_path("auths", key))
                    .field("auth", encoded)
                    .field("username", auth.username)
                    .field("password", auth.password)
                    .field("identitytoken", auth.identity_token)
                    .done());
  if (!encoded.empty()) {
    std::string decoded = TRY_CTX(path + ": " + field_path, base64_decode(encoded));
    size_t colon = decoded.find(':');
    if (colon == std::string::npos)
      return Fail(ErrorCode::InvalidArgument, "{}: {}: expected base64 of \"user:password\"", path,
                  field_path);
    auth.username = decoded.substr(0, colon);
    auth.password = decoded.substr(colon + 1);
  }
  if (auth.username.empty() && auth.identity_token.empty()) return std::optional<AuthConfig>();
  return std::optional<AuthConfig>(std::move(auth));
}

}  // namespace

std::string default_docker_config_path() {
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir && *dir)
    return std::string(dir) + "/config.json";
  std::string home;
  if (const char* h = std::getenv("HOME"); h && *h) home = h;
  else if (const passwd* pw = ::getpwuid(::getuid())) home = pw->pw_dir;
  return home + "/.docker/config.json";
}

std::string credential_key(const std::string& registry) {
  if (registry == "docker.io" || registry == "index.docker.io" ||
      registry == "registry-1.docker.io" || registry == kDockerHubKey)
    return std::string(kDockerHubKey);
  return registry;
}

CredentialStore::CredentialStore(std::string config_path) : path_(std::move(config_path)) {}

Result<std::optional<AuthConfig>> CredentialStore::get(const std::string& registry) const {
  std::string key = credential_key(registry);
  Json config = TRY(load_config(path_));
  if (std::string helper = helper_for(config, key); !helper.empty()) return helper_get(helper, key);
  return entry_get(config, key, path_);
}

Result<void> CredentialStore::store(const std::string& registry, const AuthConfig& auth) {
  std::string key = credential_key(registry);
  Json config = TRY(load_config(path_));
  if (std::string helper = helper_for(config, key); !helper.empty()) {
    Json payload = {{"ServerURL", key},
                    {"Username", auth.identity_token.empty() ? auth.username : "<token>"},
                    {"Secret", auth.identity_token.empty() ? auth.password : auth.identity_token}};
    TRY(run_helper(helper, "store", payload.dump()));
    return {};
  }
  Json& auths = config["auths"];
  if (!auths.is_object()) auths = Json::object();
  Json& entry = auths[key];
  if (!entry.is_object()) entry = Json::object();
  entry.erase("username");
  entry.erase("password");
  entry["auth"] = base64_encode(auth.username + ":" + auth.password);
  if (auth.identity_token.empty()) entry.erase("identitytoken");
  else entry["identitytoken"] = auth.identity_token;
  TRY_CTX("write " + path_, save_config(path_, config));
  return {};
}

Result<void> CredentialStore::erase(const std::string& registry) {
  std::string key = credential_key(registry);
  Json config = TRY(load_config(path_));
  if (std::string helper = helper_for(config, key); !helper.empty()) {
    TRY(run_helper(helper, "erase", key));
    return {};
  }
  auto auths = config.find("auths");
  if (auths == config.end() || !auths->is_object() || auths->erase(key) == 0)
    return Fail(ErrorCode::NotFound, "no credentials for {} in {}", key, path_);
  TRY_CTX("write " + path_, save_config(path_, config));
  return {};
}

CredentialLookup CredentialStore::lookup() const {
  std::string path = path_;
  return [path](const std::string& registry) -> std::optional<AuthConfig> {
    auto auth = CredentialStore(path).get(registry);
    if (!auth) return std::nullopt;
    return *auth;
  };
}

}  // namespace berth::image
