// The on-disk bookkeeping both snapshotters share: <root>/snapshots/<id>/ with fs/, work/
// (overlay) and info.json {key, parent, kind, created, labels}. Ids are 12 hex digits of
// sha256(key) (short, so an overlay lowerdir list of many layers fits in a page), moving to the
// next 12 digits on a collision. New snapshots are built in snapshots/tmp-<random>/ and appear
// by rename; cleanup() removes what a crash left there.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "image/snapshotter.h"

namespace berth::image {

// One snapshot as stored; view marks read-only views (reported as Active).
struct SnapshotRecord {
  SnapshotInfo info;
  std::string id;
  bool view = false;
};

// The generic snapshotter over SnapshotRecords; subclasses fill a new snapshot's directory and
// say how to mount it.
class StoredSnapshotter : public Snapshotter {
 public:
  explicit StoredSnapshotter(std::string root);

  Result<std::vector<oci::Mount>> prepare(const std::string& key, const std::string& parent,
                                          const std::map<std::string, std::string>& labels = {}) override;
  Result<std::vector<oci::Mount>> view(const std::string& key, const std::string& parent) override;
  Result<std::vector<oci::Mount>> mounts(const std::string& key) override;
  Result<void> commit(const std::string& name, const std::string& key) override;
  Result<void> remove(const std::string& key) override;
  Result<std::optional<SnapshotInfo>> stat(const std::string& key) override;
  Result<std::vector<SnapshotInfo>> list() override;
  Result<SnapshotUsage> usage(const std::string& key) override;
  Result<std::string> apply_dir(const std::string& key) override;
  Result<int> cleanup() override;

  // Creates <root>/snapshots.
  Result<void> init();
  // <root>/snapshots/<id>
  std::string dir_of(const std::string& id) const { return snapshots_ + "/" + id; }

 protected:
  // Fills the new snapshot's directory tmp_dir (fs/ exists already) for parent (null: none).
  virtual Result<void> populate(const std::string& tmp_dir, const SnapshotRecord* parent, bool view) = 0;
  // The mounts presenting rec; chain is rec's ancestry, nearest parent first.
  virtual std::vector<oci::Mount> mounts_for(const SnapshotRecord& rec,
                                             const std::vector<SnapshotRecord>& chain) = 0;

 private:
  Result<std::vector<oci::Mount>> create(const std::string& key, const std::string& parent,
                                         const std::map<std::string, std::string>& labels, bool view);
  Result<std::optional<SnapshotRecord>> find(const std::string& key);
  Result<std::string> free_id(const std::string& key);
  Result<std::vector<SnapshotRecord>> chain_of(const SnapshotRecord& rec);
  Result<std::vector<SnapshotRecord>> all();

  std::string root_;
  std::string snapshots_;
};

// Reads <dir>/info.json.
Result<SnapshotRecord> read_snapshot_record(const std::string& dir, const std::string& id);
// Writes <dir>/info.json atomically (temp file, then rename).
Result<void> write_snapshot_record(const std::string& dir, const SnapshotRecord& rec);
// Random lowercase hex of n bytes, for temp names.
std::string random_hex(size_t n);

}  // namespace berth::image
