// ImageService: prune, garbage collection of unreferenced blobs and snapshots, disk usage.
// Collection runs under the exclusive store lock, so nothing another berth command has
// written but not yet named can be taken.
#include <set>

#include "base/scope_guard.h"
#include "base/strings.h"
#include "engine/image_service.h"

namespace berth::engine {

Result<PruneReport> ImageService::prune(bool all) {
  PruneReport report;
  TRY(lock_.convert(FileLock::Mode::Exclusive));
  auto relock = defer([&] { (void)lock_.convert(FileLock::Mode::Shared); });
  for (const auto& r : TRY(records_->list())) {
    if ((!all && !r.names.empty()) || !users(r.id).empty()) continue;
    TRY(db_->transaction([&]() -> Result<void> {
      for (const auto& name : r.names) {
        TRY(records_->untag(name));
        report.events.push_back({false, familiar_name(name)});
      }
      for (const auto& d : r.repo_digests) report.events.push_back({false, familiar_name(d)});
      TRY(records_->remove(r.id));
      report.events.push_back({true, r.id});
      return {};
    }));
  }
  TRY(collect_garbage(report.reclaimed));
  return report;
}

Result<void> ImageService::collect_garbage(int64_t& reclaimed) {
  std::set<Digest> blobs;
  std::set<std::string> snapshots;
  for (const auto& r : TRY(records_->list())) {
    auto manifest_digest = TRY(parse_digest(r.manifest_digest));
    blobs.insert(manifest_digest);
    auto manifest = TRY(oci::parse_manifest(TRY(content_->read(manifest_digest))));
    blobs.insert(manifest.config.digest);
    for (const auto& layer : manifest.layers) blobs.insert(layer.digest);
    auto config = TRY(oci::parse_image_config(TRY(content_->read(manifest.config.digest))));
    for (const auto& chain : oci::chain_ids(config.diff_ids)) snapshots.insert(chain.to_string());
    for (const auto& rd : r.repo_digests) {
      if (auto at = rd.find('@'); at != std::string::npos) {
        if (auto d = parse_digest(rd.substr(at + 1))) blobs.insert(*d);
      }
    }
  }

  // Active snapshots other than interrupted unpacks belong to containers and mounts: keep them
  // and everything beneath them.
  auto infos = TRY(snapshots_->list());
  std::map<std::string, std::string> parent_of;
  for (const auto& info : infos) {
    parent_of[info.key] = info.parent;
    if (info.kind == image::SnapshotKind::Active && !starts_with(info.key, "extract-"))
      snapshots.insert(info.key);
  }
  for (std::string key : std::vector<std::string>(snapshots.begin(), snapshots.end())) {
    while (parent_of.count(key) && !parent_of[key].empty()) {
      key = parent_of[key];
      snapshots.insert(key);
    }
  }
  // Children before parents: repeat until a pass removes nothing.
  for (bool progress = true; progress;) {
    progress = false;
    for (const auto& info : TRY(snapshots_->list())) {
      if (snapshots.count(info.key)) continue;
      int64_t size = 0;
      if (auto usage = snapshots_->usage(info.key)) size = usage->size;
      auto removed = snapshots_->remove(info.key);
      if (removed) {
        reclaimed += size;
        progress = true;
      } else if (removed.error().code() != ErrorCode::Conflict) {
        return Err(removed.error().context(fmt::format("remove snapshot {}", info.key)));
      }
    }
  }
  for (const auto& blob : TRY(content_->list())) {
    if (blobs.count(blob.digest)) continue;
    TRY(content_->remove(blob.digest));
    reclaimed += blob.size;
  }
  reclaimed += TRY(content_->prune_ingests(std::chrono::seconds(0)));
  return {};
}

Result<DiskUsage> ImageService::disk_usage() {
  DiskUsage du;
  std::set<std::string> counted;
  for (const auto& r : TRY(records_->list())) {
    ++du.images;
    bool active = !users(r.id).empty();
    if (active) ++du.images_active;
    // Shared layers count once, as in `docker system df`.
    auto d = TRY(detail(r));
    for (const auto& chain : oci::chain_ids(d.config.diff_ids)) {
      if (!counted.insert(chain.to_string()).second) continue;
      auto usage = snapshots_->usage(chain.to_string());
      if (!usage) continue;
      du.images_size += usage->size;
      if (!active) du.images_reclaimable += usage->size;
    }
  }
  return du;
}

}  // namespace berth::engine
