// The copy snapshotter, for kernels or filesystems without overlay: every Active snapshot is a
// full copy of its parent's tree (reflinked where the filesystem can), mounted with a bind.
#include "base/fs.h"
#include "image/snapshot_store.h"
#include "image/tree_copy.h"

namespace berth::image {
namespace {

class CopySnapshotter final : public StoredSnapshotter {
 public:
  using StoredSnapshotter::StoredSnapshotter;
  Whiteouts whiteout_format() const override { return Whiteouts::Delete; }

 protected:
  Result<void> populate(const std::string& tmp_dir, const SnapshotRecord* parent, bool view) override {
    if (!parent || view) return {};
    return copy_tree(dir_of(parent->id) + "/fs", tmp_dir + "/fs");
  }

  std::vector<oci::Mount> mounts_for(const SnapshotRecord& rec, const std::vector<SnapshotRecord>& chain) override {
    oci::Mount m;
    m.type = "bind";
    if (rec.view) {
      // Committed trees are complete copies: a view is the parent's tree, read-only.
      m.source = dir_of(chain.empty() ? rec.id : chain[0].id) + "/fs";
      m.options = {"rbind", "ro"};
    } else {
      m.source = dir_of(rec.id) + "/fs";
      m.options = {"rbind", "rw"};
    }
    return {m};
  }
};

}  // namespace

Result<std::unique_ptr<Snapshotter>> open_copy_snapshotter(const std::string& root) {
  auto s = std::make_unique<CopySnapshotter>(root);
  TRY(s->init());
  return std::unique_ptr<Snapshotter>(std::move(s));
}

}  // namespace berth::image
