// Snapshotters: the filesystems layers are unpacked into and containers run on.
//
// Contract (every implementation passes tests/unit/image/snapshotter_conformance.cc), after
// containerd's: a snapshot is named by a key; it is Active (writable, made by prepare) or
// Committed (read-only, made by commit of an Active one, usable as a parent). A snapshotter
// never mounts anything itself: it returns the mounts that would present the snapshot, and the
// caller (layer apply, the engine, `image mount`) performs them. Every change is crash safe:
// directories appear by rename and a half-made snapshot is removed by the next cleanup().
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "oci/runtime_spec.h"

namespace berth::image {

enum class SnapshotKind { Active, Committed };

struct SnapshotInfo {
  std::string key;
  std::string parent;  // empty for a base layer
  SnapshotKind kind = SnapshotKind::Active;
  std::string created;  // RFC 3339
  std::map<std::string, std::string> labels;
};

struct SnapshotUsage {
  int64_t size = 0;    // bytes in this snapshot's own layer
  int64_t inodes = 0;
};

class Snapshotter {
 public:
  virtual ~Snapshotter() = default;

  // A new writable snapshot on top of parent (empty for none). AlreadyExists if key is taken,
  // NotFound if parent is not Committed.
  virtual Result<std::vector<oci::Mount>> prepare(const std::string& key, const std::string& parent,
                                                  const std::map<std::string, std::string>& labels = {}) = 0;
  // A read-only view of parent under key; mounts are read-only.
  virtual Result<std::vector<oci::Mount>> view(const std::string& key, const std::string& parent) = 0;
  // The mounts of an existing Active or view snapshot.
  virtual Result<std::vector<oci::Mount>> mounts(const std::string& key) = 0;
  // Turns Active snapshot key into Committed snapshot name; AlreadyExists if name is taken.
  virtual Result<void> commit(const std::string& name, const std::string& key) = 0;
  // Conflict when other snapshots have it as parent.
  virtual Result<void> remove(const std::string& key) = 0;
  virtual Result<std::optional<SnapshotInfo>> stat(const std::string& key) = 0;
  virtual Result<std::vector<SnapshotInfo>> list() = 0;
  virtual Result<SnapshotUsage> usage(const std::string& key) = 0;
  // The directory a layer is applied into for an Active snapshot, without mounting: the
  // overlay upper dir, or the copied tree. Layer apply writes whiteouts in whiteout_format().
  virtual Result<std::string> apply_dir(const std::string& key) = 0;
  enum class Whiteouts { Overlay, Delete };
  virtual Whiteouts whiteout_format() const = 0;
  // Removes half-made snapshots left by a crash. Returns how many.
  virtual Result<int> cleanup() = 0;
};

// overlayfs: <root>/snapshots/<id>/{fs,work}; fails with Unavailable when the kernel or the
// backing filesystem cannot do overlay (checked once by mounting a probe).
Result<std::unique_ptr<Snapshotter>> open_overlay_snapshotter(const std::string& root);
// Plain directories, each Active snapshot a full copy of its parent (reflinks where possible).
Result<std::unique_ptr<Snapshotter>> open_copy_snapshotter(const std::string& root);
// The overlay snapshotter where it works here, else the copy one (logged once).
Result<std::unique_ptr<Snapshotter>> open_default_snapshotter(const std::string& root);

}  // namespace berth::image
