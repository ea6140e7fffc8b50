// Images as users of `docker image` see them: pulled, pushed, loaded, saved, imported, listed,
// tagged, removed and pruned. Ties the content store, the snapshotter and the registry client
// (image/) to the names in berth.db (store/). The CLI and the Docker API call this; it prints
// nothing.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/file_lock.h"
#include "engine/engine_options.h"
#include "image/content_store.h"
#include "image/layer_writer.h"
#include "image/progress.h"
#include "image/snapshotter.h"
#include "oci/image_reference.h"
#include "oci/image_spec.h"
#include "store/image_records.h"

namespace berth::engine {

// One image with everything `images` and `image inspect` show.
struct ImageDetail {
  store::ImageRecord record;
  oci::Manifest manifest;
  oci::ImageConfig config;
};

struct PullRequest {
  std::string platform;  // "" for the host's
  image::ProgressSink progress;
};

struct PullResult {
  oci::ImageReference ref;
  std::string image_id;
  Digest digest;       // what the tag resolved to (index or manifest): the repo digest
  bool updated = false;  // false when the name already pointed at this image
};

struct ImportRequest {
  std::vector<std::string> changes;
  std::string message;
  std::string platform;
  std::string reference;  // optional repository[:tag] to name the image
};

// One line of `rmi` output: "Untagged: busybox:latest" or "Deleted: sha256:...".
struct RemoveEvent {
  bool deleted = false;
  std::string what;
};

struct PruneReport {
  std::vector<RemoveEvent> events;
  int64_t reclaimed = 0;
};

struct DiskUsage {
  int64_t images = 0;
  int64_t images_active = 0;  // used by at least one container
  int64_t images_size = 0;
  int64_t images_reclaimable = 0;
};

// One image `load` stored: its names (familiar form) and ID.
struct LoadedImage {
  std::vector<std::string> names;
  std::string id;
};

struct HistoryRow {
  std::string id;  // the image ID on the top row, "<missing>" below
  oci::HistoryEntry entry;
  int64_t size = 0;
};

// The first 12 hex digits of an ID, as Docker shows it.
std::string short_id(const std::string& id);
// A stored name as Docker prints it: "busybox:latest", "localhost:5000/app@sha256:...".
std::string familiar_name(const std::string& name);

class ImageService {
 public:
  // Opens (creating) the store under options.root and takes the shared store lock. With tidy,
  // and no other berth command running, it first clears what crashed commands left (half-made
  // snapshots, interrupted unpacks, stale ingests); the container verbs, which start
  // containers and must be quick, leave that to the image verbs. db: a connection to
  // berth.db to share (one is opened when null).
  static Result<std::unique_ptr<ImageService>> open(const EngineOptions& options, bool tidy = true,
                                                    std::shared_ptr<store::Database> db = nullptr);

  Result<PullResult> pull(const std::string& reference, const PullRequest& request);
  // Pushes name (repository[:tag]); returns the manifest digest and its size.
  Result<std::pair<Digest, int64_t>> push(const std::string& name, const image::ProgressSink& progress);
  // Loads an archive from fd, names the images, unpacks them; returns what was loaded.
  Result<std::vector<LoadedImage>> load(int fd, const image::ProgressSink& progress);
  Result<void> save(const std::vector<std::string>& images, int fd);
  Result<std::string> import(int fd, const ImportRequest& request);
  // Writes config and a manifest of layers (already in the content store, their snapshots
  // committed or unpackable) and records the image under tags; returns its ID (`berth build`).
  Result<std::string> store_image(const oci::ImageConfig& config, const std::vector<image::LayerBlob>& layers,
                                  const std::vector<std::string>& tags);

  // Resolves a name, name@digest, full ID or unique ID prefix. NotFound: "No such image: x".
  Result<ImageDetail> inspect(const std::string& image);
  Result<std::vector<ImageDetail>> list();
  Result<void> tag(const std::string& source, const std::string& target);
  Result<std::vector<RemoveEvent>> remove(const std::string& image, bool force);
  Result<std::vector<HistoryRow>> history(const std::string& image);
  // Removes dangling images (all unused ones with all=true), then unreferenced blobs and
  // snapshots.
  Result<PruneReport> prune(bool all);
  Result<DiskUsage> disk_usage();
  // Mounts a read-only view of the image's root filesystem; returns the mount point.
  Result<std::string> mount(const std::string& image);
  Result<void> unmount(const std::string& image);

  image::ContentStore& content() { return *content_; }
  image::Snapshotter& snapshots() { return *snapshots_; }

 private:
  ImageService(EngineOptions options, FileLock lock) : options_(std::move(options)), lock_(std::move(lock)) {}
  Result<std::string> resolve_id(const std::string& image);
  Result<ImageDetail> detail(const std::string& id);
  Result<ImageDetail> detail(const store::ImageRecord& record);
  // Unpacks and records an image whose manifest is in the content store; returns its ID.
  Result<std::string> record(const oci::Descriptor& manifest, const std::vector<std::string>& names,
                             const image::ProgressSink& progress);
  Result<void> collect_garbage(int64_t& reclaimed);
  // The containers using an image: rmi and prune keep what containers run on.
  std::vector<std::string> users(const std::string& id);

  EngineOptions options_;
  FileLock lock_;
  std::shared_ptr<store::Database> db_;
  std::unique_ptr<store::ImageRecords> records_;
  std::unique_ptr<image::ContentStore> content_;
  std::unique_ptr<image::Snapshotter> snapshots_;
};

}  // namespace berth::engine
