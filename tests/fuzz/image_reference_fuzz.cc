// libFuzzer target for image references: parse, and check that the canonical form parses back
// to the same reference and is a fixed point of to_string. familiar() is not checked: like
// Docker's, it can drop docker.io from a path such as docker.io/a.b/c that then reads as a domain.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "oci/image_reference.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto ref = berth::oci::parse_image_reference(text);
  if (!ref.has_value()) return 0;

  std::string canonical = ref->to_string();
  auto back = berth::oci::parse_image_reference(canonical);
  if (!back.has_value()) {
    std::fprintf(stderr, "canonical form does not parse: %s\n", back.error().what().c_str());
    std::abort();
  }
  if (!(*back == *ref) || back->to_string() != canonical) {
    std::fprintf(stderr, "round trip changed the reference: %s -> %s\n", canonical.c_str(),
                 back->to_string().c_str());
    std::abort();
  }
  return 0;
}
