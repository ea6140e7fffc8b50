// The overlayfs snapshotter: each snapshot's fs/ is one layer; an Active snapshot is mounted as
// the overlay of its ancestors' fs/ (lowerdir, nearest first) with its own fs/ as upperdir.
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <atomic>
#include <cerrno>

#include "base/fs.h"
#include "base/log.h"
#include "base/scope_guard.h"
#include "base/strings.h"
#include "image/snapshot_store.h"

namespace berth::image {
namespace {

class OverlaySnapshotter final : public StoredSnapshotter {
 public:
  using StoredSnapshotter::StoredSnapshotter;
  Whiteouts whiteout_format() const override { return Whiteouts::Overlay; }

 protected:
  Result<void> populate(const std::string& tmp_dir, const SnapshotRecord*, bool view) override {
    if (!view && ::mkdir((tmp_dir + "/work").c_str(), 0700) != 0) return FailErrno(errno, "create {}/work", tmp_dir);
    return {};
  }

  std::vector<oci::Mount> mounts_for(const SnapshotRecord& rec, const std::vector<SnapshotRecord>& chain) override {
    std::string dir = dir_of(rec.id);
    std::vector<std::string> lowers;
    for (const auto& p : chain) lowers.push_back(dir_of(p.id) + "/fs");
    oci::Mount m;
    if (rec.view) {
      if (lowers.size() <= 1) {
        m.type = "bind";
        m.source = lowers.empty() ? dir + "/fs" : lowers[0];
        m.options = {"rbind", "ro"};
      } else {
        m.type = "overlay";
        m.source = "overlay";
        m.options = {"lowerdir=" + join(lowers, ":"), "index=off"};
      }
      return {m};
    }
    if (lowers.empty()) {
      m.type = "bind";
      m.source = dir + "/fs";
      m.options = {"rbind", "rw"};
      return {m};
    }
    m.type = "overlay";
    m.source = "overlay";
    m.options = {"lowerdir=" + join(lowers, ":"), "upperdir=" + dir + "/fs", "workdir=" + dir + "/work",
                 "index=off"};
    return {m};
  }
};

// Mounts a throwaway overlay under dir to learn whether this kernel and filesystem can.
Result<void> probe_overlay(const std::string& snapshots) {
  std::string dir = snapshots + "/tmp-probe-" + random_hex(6);
  TRY(make_dirs(dir + "/lower1"));
  auto discard = defer([&] { (void)remove_all(dir); });
  TRY(make_dirs(dir + "/lower2"));
  TRY(make_dirs(dir + "/upper"));
  TRY(make_dirs(dir + "/work"));
  TRY(make_dirs(dir + "/merged"));
  std::string options = fmt::format("lowerdir={0}/lower1:{0}/lower2,upperdir={0}/upper,workdir={0}/work", dir);
  std::string merged = dir + "/merged";
  if (::mount("overlay", merged.c_str(), "overlay", 0, options.c_str()) != 0) {
    int err = errno;
    return Err(Error(ErrorCode::Unavailable, fmt::format("mount a probe overlay on {}", merged), err));
  }
  ::umount2(merged.c_str(), MNT_DETACH);
  return {};
}

}  // namespace

// What a probe found overlay working on: this kernel and this filesystem. Every berth process
// opens the snapshotter (a container start opens it three times), so a passed probe is
// remembered in <snapshots>/.overlay-probed instead of mounted again.
std::string probe_identity(const std::string& snapshots) {
  struct utsname u {};
  struct stat st {};
  if (::uname(&u) != 0 || ::stat(snapshots.c_str(), &st) != 0) return "";
  return fmt::format("{} {}\n", u.release, static_cast<unsigned long long>(st.st_dev));
}

Result<std::unique_ptr<Snapshotter>> open_overlay_snapshotter(const std::string& root) {
  auto s = std::make_unique<OverlaySnapshotter>(root);
  TRY(s->init());
  std::string snapshots = root + "/snapshots";
  std::string marker = snapshots + "/.overlay-probed";
  std::string identity = probe_identity(snapshots);
  auto known = read_file(marker);
  if (identity.empty() || !known || *known != identity) {
    TRY_CTX("overlay snapshotter", probe_overlay(snapshots));
    if (!identity.empty()) (void)write_file_atomic(marker, identity, 0600, false);
  }
  return std::unique_ptr<Snapshotter>(std::move(s));
}

Result<std::unique_ptr<Snapshotter>> open_default_snapshotter(const std::string& root) {
  auto overlay = open_overlay_snapshotter(root);
  if (overlay) return overlay;
  if (overlay.error().code() != ErrorCode::Unavailable) return overlay;
  static std::atomic<bool> logged{false};
  if (!logged.exchange(true)) log::warn("{}; using the copy snapshotter", overlay.error().what());
  return open_copy_snapshotter(root);
}

}  // namespace berth::image
