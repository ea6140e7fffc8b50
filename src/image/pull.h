// Pull and push of whole images over the distribution API: resolve a tag to a manifest (an
// index resolved for a platform), fetch config and layers concurrently into the content store,
// verify every digest; push the reverse. Names are not recorded here (that is store/'s job):
// callers get the descriptors back.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "image/content_store.h"
#include "image/progress.h"
#include "image/registry_client.h"
#include "oci/image_reference.h"
#include "oci/image_spec.h"

namespace berth::image {

struct PullOptions {
  oci::Platform platform;  // resolved from an index; default host_platform()
  int max_concurrent = 3;  // layers fetched at once, as Docker does
  ProgressSink progress;
};

struct PulledImage {
  oci::Descriptor target;    // what the reference named: an index or a manifest
  oci::Descriptor manifest;  // the platform manifest (== target when no index)
  oci::Manifest parsed_manifest;
  oci::ImageConfig config;
  Digest config_digest;  // the image ID
};

Result<PulledImage> pull_image(RegistryClient& registry, ContentStore& content,
                               const oci::ImageReference& ref, const PullOptions& options);

struct PushOptions {
  int max_concurrent = 3;
  ProgressSink progress;
};

// Pushes the manifest (and its config and layers) to ref's repository under ref's tag;
// returns the manifest digest the registry reports.
Result<Digest> push_image(RegistryClient& registry, ContentStore& content,
                          const oci::ImageReference& ref, const oci::Descriptor& manifest,
                          const PushOptions& options);

}  // namespace berth::image
