// pull_image: tag → manifest (resolved from an index for the wanted platform) → config and
// layers fetched concurrently into the content store, each verified on commit.
#include "image/pull.h"

#include <unistd.h>

#include <set>

#include "image/transfer_queue.h"

namespace berth::image {

namespace {

std::string short_id(const Digest& d) { return d.hex.substr(0, 12); }

void emit(const ProgressSink& sink, const Digest& d, ProgressPhase phase, int64_t current = 0,
          int64_t total = -1) {
  if (sink) sink(ProgressEvent{short_id(d), phase, current, total});
}

// Forwards to the store's writer, failing writes once the pull was cancelled so that a
// download in flight stops soon after another layer failed.
class CancellableWriter final : public ContentWriter {
 public:
  CancellableWriter(ContentWriter& inner, const std::atomic<bool>& cancelled)
      : inner_(inner), cancelled_(cancelled) {}
  int64_t offset() const override { return inner_.offset(); }
  Result<void> write(std::string_view data) override {
    if (cancelled_.load()) return Fail(ErrorCode::Conflict, "cancelled: another transfer failed");
    return inner_.write(data);
  }
  Result<BlobInfo> commit(const Digest& expected, int64_t expected_size) override {
    return inner_.commit(expected, expected_size);
  }
  Result<BlobInfo> commit_computed() override { return inner_.commit_computed(); }
  Result<void> abort() override { return inner_.abort(); }
  Result<void> truncate() override { return inner_.truncate(); }

 private:
  ContentWriter& inner_;
  const std::atomic<bool>& cancelled_;
};

// Fetches one blob into the store unless it is there already; ingest ref "pull-<digest>" so
// that an interrupted pull resumes.
Result<void> fetch_into_store(RegistryClient& registry, ContentStore& content,
                              const oci::ImageReference& ref, const oci::Descriptor& desc,
                              const ProgressSink& sink, const std::atomic<bool>& cancelled) {
  if (TRY(content.stat(desc.digest))) {
    emit(sink, desc.digest, ProgressPhase::AlreadyExists);
    return {};
  }
  // Another berth pull fetching the same blob holds its ingest: wait for that one to finish
  // (the blob appears) or give up the ingest (we take over and resume its bytes).
  std::unique_ptr<ContentWriter> writer;
  while (!writer) {
    auto w = content.writer("pull-" + desc.digest.to_string());
    if (w) {
      writer = std::move(*w);
    } else if (w.error().code() != ErrorCode::Conflict || cancelled.load()) {
      return Err(w.error());
    } else {
      emit(sink, desc.digest, ProgressPhase::Waiting);
      ::usleep(100 * 1000);
      if (TRY(content.stat(desc.digest))) {
        emit(sink, desc.digest, ProgressPhase::AlreadyExists);
        return {};
      }
    }
  }
  CancellableWriter guarded(*writer, cancelled);
  bool verifying = false;
  ProgressFn progress = [&](int64_t done, int64_t total) {
    emit(sink, desc.digest, ProgressPhase::Downloading, done, total);
    if (!verifying && total >= 0 && done >= total) {
      verifying = true;
      emit(sink, desc.digest, ProgressPhase::Verifying, done, total);
    }
  };
  TRY(registry.fetch_blob(ref, desc.digest, desc.size, guarded, progress));
  emit(sink, desc.digest, ProgressPhase::DownloadComplete, desc.size, desc.size);
  return {};
}

// Stores fetched manifest bytes and describes them.
Result<oci::Descriptor> keep_manifest(ContentStore& content, const FetchedManifest& m) {
  BlobInfo info = TRY(content.put(m.bytes));
  oci::Descriptor d;
  d.media_type = m.media_type;
  d.digest = info.digest;
  d.size = info.size;
  return d;
}

Result<oci::Descriptor> pick_platform(const oci::Index& index, const oci::Platform& wanted) {
  for (const auto& m : index.manifests) {
    if (!m.platform || !oci::is_manifest_media_type(m.media_type)) continue;
    if (oci::platform_matches(wanted, *m.platform)) return m;
  }
  return Fail(ErrorCode::NotFound, "no matching manifest for {} in the manifest list entries",
              wanted.to_string());
}

Result<PulledImage> pull(RegistryClient& registry, ContentStore& content,
                         const oci::ImageReference& ref, const PullOptions& options) {
  std::string reference = ref.digest.empty() ? ref.tag : ref.digest;
  FetchedManifest top = TRY(registry.get_manifest(ref, reference));
  PulledImage out;
  out.target = TRY(keep_manifest(content, top));
  std::string manifest_bytes = top.bytes;
  if (oci::is_index_media_type(top.media_type)) {
    oci::Index index = TRY_CTX("index " + top.digest.to_string(), oci::parse_index(top.bytes));
    oci::Platform wanted = options.platform.os.empty() ? oci::host_platform() : options.platform;
    oci::Descriptor chosen = TRY(pick_platform(index, wanted));
    FetchedManifest m = TRY(registry.get_manifest(ref, chosen.digest.to_string()));
    if (!oci::is_manifest_media_type(m.media_type))
      return Fail(ErrorCode::InvalidArgument, "manifest {} for {} is a {}, not an image manifest",
                  chosen.digest.to_string(), wanted.to_string(), m.media_type);
    TRY(keep_manifest(content, m));
    out.manifest = chosen;
    manifest_bytes = std::move(m.bytes);
  } else if (oci::is_manifest_media_type(top.media_type)) {
    out.manifest = out.target;
  } else {
    return Fail(ErrorCode::InvalidArgument, "unsupported manifest media type {}", top.media_type);
  }
  out.parsed_manifest = TRY_CTX("manifest " + out.manifest.digest.to_string(),
                                oci::parse_manifest(manifest_bytes));

  const oci::Descriptor& config = out.parsed_manifest.config;
  std::atomic<bool> never{false};
  TRY(fetch_into_store(registry, content, ref, config, nullptr, never));
  std::string config_bytes = TRY(content.read(config.digest));
  out.config = TRY_CTX("config " + config.digest.to_string(), oci::parse_image_config(config_bytes));
  out.config_digest = config.digest;

  std::vector<oci::Descriptor> layers;
  std::set<Digest> seen;
  for (const auto& l : out.parsed_manifest.layers)
    if (seen.insert(l.digest).second) layers.push_back(l);
  for (const auto& l : layers) emit(options.progress, l.digest, ProgressPhase::Waiting, 0, l.size);
  TRY(run_transfers(layers.size(), options.max_concurrent,
                    [&](size_t i, const std::atomic<bool>& cancelled) {
                      return fetch_into_store(registry, content, ref, layers[i], options.progress,
                                              cancelled);
                    }));
  return out;
}

}  // namespace

Result<PulledImage> pull_image(RegistryClient& registry, ContentStore& content,
                               const oci::ImageReference& ref, const PullOptions& options) {
  auto r = pull(registry, content, ref, options);
  if (!r) r.error().context("pull " + ref.to_string());
  return r;
}

}  // namespace berth::image
