// Named volumes as `docker volume` sees them: a directory <root>/volumes/<name>/_data and a row
// in berth.db's volumes table. Only Docker's `local` driver exists; its tmpfs and bind options
// are validated and recorded here and mounted by the container engine. The CLI and the Docker
// API call this; it prints nothing.
//
// Crash safety: a volume's directory is made inside the transaction that inserts its row, and a
// removed volume's directory is first renamed to a ".trash-*" name inside the transaction that
// deletes the row. A crash leaves at worst a directory without a row: never listed, and swept
// by prune.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "engine/engine_options.h"
#include "store/database.h"

namespace berth::engine {

using StringMap = std::map<std::string, std::string>;

// The label Docker 23+ puts on volumes created without a name; plain `prune` removes only these.
inline constexpr char kAnonymousVolumeLabel[] = "com.docker.volume.anonymous";

struct Volume {
  std::string name;
  std::string driver = "local";
  std::string mountpoint;  // <root>/volumes/<name>/_data
  StringMap labels;
  StringMap options;       // driver options (type, device, o) as given
  std::string created;     // RFC 3339, seconds, UTC ("2024-01-02T03:04:05Z")

  bool anonymous() const { return labels.contains(kAnonymousVolumeLabel); }
};

// Which volumes prune considers: anonymous ones (all=false, Docker 23+) or all unused ones,
// narrowed by Docker's label filters ("key", "key=value"; label! negates).
struct VolumePruneFilter {
  bool all = false;
  std::vector<std::string> labels;
  std::vector<std::string> not_labels;
};

struct VolumePruneReport {
  std::vector<std::string> deleted;  // volume names, in name order
  int64_t reclaimed = 0;             // bytes, including swept leftovers of crashed commands
};

struct VolumeDiskUsage {
  int64_t count = 0;
  int64_t active = 0;       // used by at least one container
  int64_t size = 0;         // bytes in all volumes
  int64_t reclaimable = 0;  // bytes in unused volumes
};

// Docker's volume name rule, [a-zA-Z0-9][a-zA-Z0-9_.-]+; InvalidArgument naming the rule.
Result<void> validate_volume_name(const std::string& name);
// Checks the local driver's options: none, or type/device/o with type tmpfs (o: size, mode,
// uid, gid, nr_inodes) or none with o=bind and an absolute device. InvalidArgument naming the
// option otherwise.
Result<void> validate_volume_options(const StringMap& options);
// Bytes in the regular files under path (hard links counted once, symlinks not followed).
Result<int64_t> directory_size(const std::string& path);

class VolumeStore {
 public:
  // Returns the IDs of the containers using a volume; empty when it is unused.
  using InUse = std::function<std::vector<std::string>(const std::string& name)>;

  // Opens berth.db under options.root (creating root and root/volumes, 0700), or shares db.
  static Result<std::unique_ptr<VolumeStore>> open(const EngineOptions& options,
                                                   std::shared_ptr<store::Database> db = nullptr);

  // Replaces the default answer (the containers berth.db links to the volume).
  void set_in_use(InUse in_use) { in_use_ = std::move(in_use); }
  // The containers using name (empty when none).
  std::vector<std::string> users(const std::string& name) const;

  // Creates a volume; name "" makes an anonymous one (64 hex digits, anonymous label). An
  // existing name with the same driver and options is returned as it is (Docker's idempotent
  // create); other options are a Conflict. Drivers other than "local" are InvalidArgument.
  Result<Volume> create(const std::string& name, const StringMap& labels = {},
                        const std::string& driver = "local", const StringMap& options = {});
  // The volume named name; NotFound "No such volume: name".
  Result<Volume> get(const std::string& name);
  // All volumes, by name.
  Result<std::vector<Volume>> list();
  // Removes a volume and its data. Conflict when it is in use (also with force); force makes
  // a missing volume a success, as Docker's `volume rm -f`.
  Result<void> remove(const std::string& name, bool force);
  // Removes unused volumes selected by filter and sweeps directories without a row.
  Result<VolumePruneReport> prune(const VolumePruneFilter& filter);
  // The volume for `run -v name:/path`, created with defaults when missing ("" anonymous).
  Result<Volume> ensure(const std::string& name);
  // Bytes stored in the volume (for `system df` and `volume ls --format {{.Size}}`).
  Result<int64_t> size(const Volume& volume);
  Result<VolumeDiskUsage> disk_usage();

 private:
  explicit VolumeStore(EngineOptions options) : options_(std::move(options)) {}
  std::string volumes_dir() const { return options_.root + "/volumes"; }
  Result<std::optional<Volume>> find(const std::string& name);
  Result<void> insert(const Volume& volume);
  // Deletes the row and renames the directory to a trash name; returns the trash path ("" when
  // there was no directory). Call inside a transaction.
  Result<std::string> unlink(const std::string& name);
  // Inside a transaction: moves directories without a row to trash; returns their paths.
  Result<std::vector<std::string>> trash_orphans();

  EngineOptions options_;
  std::shared_ptr<store::Database> db_;
  InUse in_use_;
};

}  // namespace berth::engine
