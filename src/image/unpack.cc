#include "image/unpack.h"

#include "base/scope_guard.h"
#include "base/strings.h"
#include "image/snapshot_store.h"

namespace berth::image {
namespace {

void report(const UnpackOptions& options, const Digest& layer, ProgressPhase phase, int64_t current = 0,
            int64_t total = -1) {
  if (!options.progress) return;
  ProgressEvent ev;
  ev.id = layer.hex.substr(0, 12);
  ev.phase = phase;
  ev.current = current;
  ev.total = total;
  options.progress(ev);
}

// Applies one layer into a fresh extract snapshot on top of parent and commits it as chain.
// The extract snapshot is removed on any failure.
Result<void> unpack_layer(ContentStore& content, Snapshotter& snapshots, const oci::Descriptor& layer,
                          const Digest& diff_id, const std::string& parent, const std::string& chain,
                          const UnpackOptions& options) {
  std::string key = "extract-" + random_hex(6) + "-" + chain;
  TRY(snapshots.prepare(key, parent, {}));
  auto discard = defer([&] { (void)snapshots.remove(key); });

  std::string dir = TRY(snapshots.apply_dir(key));
  UniqueFd fd = TRY(content.open(layer.digest));
  report(options, layer.digest, ProgressPhase::Extracting, 0, layer.size);
  ApplyOptions apply;
  apply.layer_name = layer.digest.to_string();
  apply.whiteouts = snapshots.whiteout_format();
  apply.allow_devices = options.allow_devices;
  apply.max_uncompressed = options.max_layer_uncompressed;
  ApplyResult applied = TRY(apply_layer(fd.get(), dir, apply));
  if (applied.diff_id != diff_id) {
    return Fail(ErrorCode::InvalidArgument, "layer {}: diff ID mismatch: the image config says {}, the layer is {}",
                layer.digest.to_string(), diff_id.to_string(), applied.diff_id.to_string());
  }
  auto committed = snapshots.commit(chain, key);
  if (!committed) {
    if (committed.error().code() != ErrorCode::AlreadyExists) return Err(committed.error());
    // Another unpack of the same layer won the race: use its snapshot, drop ours.
  } else {
    discard.dismiss();
  }
  report(options, layer.digest, ProgressPhase::PullComplete, layer.size, layer.size);
  return {};
}

}  // namespace

Result<std::string> unpack_image(ContentStore& content, Snapshotter& snapshots, const oci::Manifest& manifest,
                                 const oci::ImageConfig& config, const UnpackOptions& options) {
  if (manifest.layers.size() != config.diff_ids.size()) {
    return Fail(ErrorCode::InvalidArgument, "unpack: the manifest has {} layers but the config lists {} diff IDs",
                manifest.layers.size(), config.diff_ids.size());
  }
  std::vector<Digest> chains = oci::chain_ids(config.diff_ids);
  std::string parent;
  for (size_t i = 0; i < manifest.layers.size(); ++i) {
    const auto& layer = manifest.layers[i];
    std::string chain = chains[i].to_string();
    auto existing = TRY(snapshots.stat(chain));
    if (existing && existing->kind == SnapshotKind::Committed) {
      report(options, layer.digest, ProgressPhase::AlreadyExists);
    } else {
      TRY_CTX(fmt::format("unpack layer {} of {}", i + 1, manifest.layers.size()),
              unpack_layer(content, snapshots, layer, config.diff_ids[i], parent, chain, options));
    }
    parent = chain;
  }
  return parent;
}

}  // namespace berth::image
