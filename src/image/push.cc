// push_image: layers and config uploaded concurrently (skipping what the registry has), then
// the manifest under the reference's tag.
#include "image/pull.h"
#include "image/transfer_queue.h"

namespace berth::image {

namespace {

void emit(const ProgressSink& sink, const Digest& d, ProgressPhase phase, int64_t current = 0,
          int64_t total = -1) {
  if (sink) sink(ProgressEvent{d.hex.substr(0, 12), phase, current, total});
}

bool is_foreign(const oci::Descriptor& d) {
  return d.media_type == oci::media_type::kDockerForeignLayerGzip ||
         d.media_type == oci::media_type::kOciLayerNondistributableGzip;
}

Result<void> push_one(RegistryClient& registry, ContentStore& content,
                      const oci::ImageReference& ref, const oci::Descriptor& desc,
                      const ProgressSink& sink) {
  if (TRY(registry.blob_exists(ref, desc.digest))) {
    emit(sink, desc.digest, ProgressPhase::LayerExists);
    return {};
  }
  UniqueFd fd = TRY(content.open(desc.digest));
  ProgressFn progress = [&](int64_t done, int64_t total) {
    emit(sink, desc.digest, ProgressPhase::Pushing, done, total);
  };
  TRY(registry.push_blob(ref, desc.digest, desc.size, fd.get(), progress));
  emit(sink, desc.digest, ProgressPhase::Pushed, desc.size, desc.size);
  return {};
}

Result<Digest> push(RegistryClient& registry, ContentStore& content, const oci::ImageReference& ref,
                    const oci::Descriptor& manifest, const PushOptions& options) {
  if (!oci::is_manifest_media_type(manifest.media_type))
    return Fail(ErrorCode::InvalidArgument, "cannot push {}: only image manifests are supported",
                manifest.media_type);
  std::string bytes = TRY(content.read(manifest.digest));
  oci::Manifest parsed = TRY_CTX("manifest " + manifest.digest.to_string(), oci::parse_manifest(bytes));
  std::vector<oci::Descriptor> blobs;
  for (const auto& l : parsed.layers)
    if (!is_foreign(l)) blobs.push_back(l);
  for (const auto& b : blobs) emit(options.progress, b.digest, ProgressPhase::Preparing);
  blobs.push_back(parsed.config);
  TRY(run_transfers(blobs.size(), options.max_concurrent,
                    [&](size_t i, const std::atomic<bool>&) {
                      const auto& b = blobs[i];
                      ProgressSink sink = i + 1 == blobs.size() ? nullptr : options.progress;
                      return push_one(registry, content, ref, b, sink);
                    }));
  std::string reference = ref.tag.empty() ? manifest.digest.to_string() : ref.tag;
  Digest pushed = TRY(registry.put_manifest(ref, reference, manifest.media_type, bytes));
  if (pushed != manifest.digest)
    return Fail(ErrorCode::Internal, "registry stored manifest as {}, expected {}",
                pushed.to_string(), manifest.digest.to_string());
  return pushed;
}

}  // namespace

Result<Digest> push_image(RegistryClient& registry, ContentStore& content,
                          const oci::ImageReference& ref, const oci::Descriptor& manifest,
                          const PushOptions& options) {
  auto r = push(registry, content, ref, manifest, options);
  if (!r) r.error().context("push " + ref.to_string());
  return r;
}

}  // namespace berth::image
