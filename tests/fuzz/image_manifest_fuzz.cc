// libFuzzer target for the image documents a registry sends: index, manifest, image config and
// media-type detection. Every document that parses must serialise to canonical JSON that parses
// back to the same model and re-serialises byte for byte.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "oci/image_spec.h"

namespace {

// Checks parse(to_json(x)) == x and that to_json is a fixed point; aborts otherwise.
template <class T, class Parse>
void check_round_trip(const char* what, const T& value, Parse parse) {
  std::string json = berth::oci::to_json(value);
  auto back = parse(json);
  if (!back.has_value()) {
    std::fprintf(stderr, "%s: canonical JSON does not parse: %s\n%s\n", what,
                 back.error().what().c_str(), json.c_str());
    std::abort();
  }
  std::string again = berth::oci::to_json(*back);
  if (!(*back == value) || again != json) {
    std::fprintf(stderr, "%s: round trip changed the document:\n%s\n%s\n", what, json.c_str(),
                 again.c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto index = berth::oci::parse_index(text); index.has_value())
    check_round_trip("index", *index, berth::oci::parse_index);
  if (auto manifest = berth::oci::parse_manifest(text); manifest.has_value())
    check_round_trip("manifest", *manifest, berth::oci::parse_manifest);
  if (auto config = berth::oci::parse_image_config(text); config.has_value()) {
    check_round_trip("image config", *config, berth::oci::parse_image_config);
    (void)berth::oci::chain_ids(config->diff_ids);
    (void)config->platform().to_string();
  }
  if (auto mt = berth::oci::detect_manifest_media_type(text); mt.has_value()) {
    (void)berth::oci::is_index_media_type(*mt);
    (void)berth::oci::is_manifest_media_type(*mt);
  }
  return 0;
}
