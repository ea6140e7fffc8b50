// The pieces of registry authentication and error reporting that parse what a registry sends:
// WWW-Authenticate challenges (RFC 7235), token responses, and the distribution API's error
// bodies. Pure functions with no I/O, so the fuzz target and unit tests call them directly.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace berth::image {

// One authentication challenge: `Bearer realm="https://auth.docker.io/token",service="x"`.
struct AuthChallenge {
  std::string scheme;                        // lower-cased: "bearer", "basic"
  std::map<std::string, std::string> params;  // names lower-cased, values unquoted
  std::string token68;                        // the alternative to params ("Basic dXNlcg==")

  // The value of a parameter, "" when absent.
  std::string param(const std::string& name) const;
};

// Parses a WWW-Authenticate header value (one or several comma-separated challenges, quoted
// strings with backslash escapes, token68 values). InvalidArgument names the byte offset.
Result<std::vector<AuthChallenge>> parse_www_authenticate(std::string_view header);

// A bearer token from a token server's JSON reply.
struct BearerToken {
  std::string token;
  int64_t expires_in = 60;  // seconds; the spec's default when absent
  std::string refresh_token;
};

// Parses {"token" | "access_token", "expires_in", "refresh_token"}; InvalidArgument when no
// token is present or the JSON is malformed.
Result<BearerToken> parse_token_response(std::string_view json);

// One entry of a distribution error body {"errors":[{"code","message","detail"}]}.
struct RegistryError {
  std::string code;  // "MANIFEST_UNKNOWN", "UNAUTHORIZED", ...
  std::string message;
};

// The errors of an error body; empty when the body is not one (registries send HTML too).
std::vector<RegistryError> parse_registry_errors(std::string_view body);

// An Error for a failed registry response: the category from the status and error codes
// (NotFound for 404 and *_UNKNOWN, PermissionDenied for 401/403, Unavailable for 5xx and 429,
// else InvalidArgument) and a message like "manifest unknown" or "unauthorized: authentication
// required", taken from the body when it has one.
Error registry_error(int status, std::string_view body);

// Standard base64 (with padding), for Basic credentials and config.json's "auth".
std::string base64_encode(std::string_view data);
// Decodes standard base64; InvalidArgument for anything else.
Result<std::string> base64_decode(std::string_view text);

}  // namespace berth::image
