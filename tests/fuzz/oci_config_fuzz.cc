// libFuzzer target for config.json: parse, validate, and check that what spec_to_json writes
// parses back to the same Spec.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "oci/runtime_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto spec = berth::oci::parse_spec(text);
  if (!spec.has_value()) return 0;
  (void)berth::oci::validate_spec(*spec);

  std::string written = berth::oci::spec_to_json(*spec);
  auto back = berth::oci::parse_spec(written);
  if (!back.has_value()) {
    std::fprintf(stderr, "spec_to_json output does not parse: %s\n%s\n",
                 back.error().what().c_str(), written.c_str());
    std::abort();
  }
  if (!(*back == *spec)) {
    std::fprintf(stderr, "round trip changed the spec:\n%s\n", written.c_str());
    std::abort();
  }
  return 0;
}
