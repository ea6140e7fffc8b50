// libFuzzer target for what a registry sends back: WWW-Authenticate challenges, token
// responses, and error bodies. Checks that a parsed challenge list, written back with every
// value quoted, parses to the same challenges, and that base64 round-trips.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "image/registry_auth.h"

namespace {

std::string quoted(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

void check_challenges(std::string_view text) {
  auto parsed = berth::image::parse_www_authenticate(text);
  if (!parsed) return;
  std::string again;
  for (const auto& ch : *parsed) {
    if (ch.scheme.empty()) std::abort();
    if (!again.empty()) again += ", ";
    again += ch.scheme;
    if (!ch.token68.empty()) {
      again += " " + ch.token68;
      continue;
    }
    bool first = true;
    for (const auto& [k, v] : ch.params) {
      again += first ? " " : ", ";
      again += k + "=" + quoted(v);
      first = false;
    }
  }
  auto back = berth::image::parse_www_authenticate(again);
  if (!back || back->size() != parsed->size()) {
    std::fprintf(stderr, "rewritten challenges do not parse back: %s\n", again.c_str());
    std::abort();
  }
  for (size_t i = 0; i < parsed->size(); ++i) {
    if ((*back)[i].scheme != (*parsed)[i].scheme || (*back)[i].params != (*parsed)[i].params ||
        (*back)[i].token68 != (*parsed)[i].token68) {
      std::fprintf(stderr, "rewritten challenge %zu differs: %s\n", i, again.c_str());
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  check_challenges(text);
  auto token = berth::image::parse_token_response(text);
  if (token && token->token.empty()) std::abort();
  berth::Error e = berth::image::registry_error(404, text);
  if (e.message().empty()) std::abort();
  (void)berth::image::parse_registry_errors(text);
  if (berth::image::base64_decode(berth::image::base64_encode(text)).value_or("") != text) {
    std::fprintf(stderr, "base64 does not round-trip\n");
    std::abort();
  }
  (void)berth::image::base64_decode(text);
  return 0;
}
