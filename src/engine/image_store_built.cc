// ImageService::store_image: an image that `berth build` assembled from layers it wrote.
#include "engine/image_service.h"

namespace berth::engine {

Result<std::string> ImageService::store_image(const oci::ImageConfig& config,
                                              const std::vector<image::LayerBlob>& layers,
                                              const std::vector<std::string>& tags) {
  if (layers.size() != config.diff_ids.size())
    return Fail(ErrorCode::Internal, "store image: {} layers but {} diff IDs", layers.size(), config.diff_ids.size());
  std::vector<std::string> names;
  for (const auto& tag : tags) {
    auto ref = TRY(oci::parse_image_reference(tag));
    if (!ref.digest.empty())
      return Fail(ErrorCode::InvalidArgument, "a digest reference cannot name an image: {}", tag);
    names.push_back(ref.to_string());
  }
  auto config_blob = TRY_CTX("store image config", content_->put(oci::to_json(config)));
  oci::Manifest m;
  m.schema_version = 2;
  m.media_type = std::string(oci::media_type::kOciManifest);
  m.config.media_type = std::string(oci::media_type::kOciConfig);
  m.config.digest = config_blob.digest;
  m.config.size = config_blob.size;
  for (const auto& layer : layers) {
    oci::Descriptor d;
    d.media_type = layer.media_type;
    d.digest = layer.digest;
    d.size = layer.size;
    m.layers.push_back(std::move(d));
  }
  auto manifest_blob = TRY_CTX("store image manifest", content_->put(oci::to_json(m)));
  oci::Descriptor manifest;
  manifest.media_type = m.media_type;
  manifest.digest = manifest_blob.digest;
  manifest.size = manifest_blob.size;
  return record(manifest, names, {});
}

}  // namespace berth::engine
