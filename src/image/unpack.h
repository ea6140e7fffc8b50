// Unpacking an image's layers into committed snapshots named by ChainID, so layers shared
// between images are unpacked once. Verifies each layer's diff ID against the image config.
#pragma once

#include <string>

#include "base/error.h"
#include "image/content_store.h"
#include "image/layer_apply.h"
#include "image/progress.h"
#include "image/snapshotter.h"
#include "oci/image_spec.h"

namespace berth::image {

struct UnpackOptions {
  bool allow_devices = true;
  int64_t max_layer_uncompressed = int64_t{64} << 30;
  ProgressSink progress;
};

// Returns the key of the top committed snapshot (the last ChainID), or "" for an image with no
// layers. Idempotent; safe to run concurrently for images sharing layers (one wins, the other
// finds the snapshot committed).
Result<std::string> unpack_image(ContentStore& content, Snapshotter& snapshots,
                                 const oci::Manifest& manifest, const oci::ImageConfig& config,
                                 const UnpackOptions& options);

}  // namespace berth::image
