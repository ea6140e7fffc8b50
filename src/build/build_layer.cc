// One layer of a build: the cache lookup, a fresh snapshot on the parent, the step's work on
// its mounted root, the layer written from the overlay upper dir, the snapshot committed
// under the layer's ChainID and the cache row that finds it next time.
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "base/clock.h"
#include "base/fs.h"
#include "base/root_path.h"
#include "base/scope_guard.h"
#include "base/strings.h"
#include "build/build_internal.h"
#include "engine/container_user.h"
#include "image/snapshot_store.h"
#include "runtime/mount_list.h"

namespace berth::build::detail {
namespace {

std::string chain_after(const BuildState& st, const Digest& diff_id) {
  std::vector<Digest> ids = st.config.diff_ids;
  ids.push_back(diff_id);
  return oci::chain_ids(ids).back().to_string();
}

// Removes what a step made only as mount points: an empty file or directory, deepest first.
void remove_mountpoints(const std::string& upper, const std::set<std::string>& paths) {
  std::vector<std::string> sorted(paths.begin(), paths.end());
  std::sort(sorted.begin(), sorted.end(), [](const std::string& a, const std::string& b) {
    return std::count(a.begin(), a.end(), '/') > std::count(b.begin(), b.end(), '/');
  });
  for (const auto& rel : sorted) {
    std::string p = upper + "/" + rel;
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) ::rmdir(p.c_str());
    else if (S_ISREG(st.st_mode) && st.st_size == 0) ::unlink(p.c_str());
  }
}

}  // namespace

void Builder::add_layer(BuildState& st, const image::LayerBlob& blob, const std::string& created_by,
                        const std::string& created) {
  st.config.diff_ids.push_back(blob.diff_id);
  st.layers.push_back(blob);
  st.snapshot = oci::chain_ids(st.config.diff_ids).back().to_string();
  oci::HistoryEntry h;
  h.created = created;
  h.created_by = created_by;
  h.comment = "buildkit.dockerfile.v0";
  st.config.history.push_back(std::move(h));
}

Result<bool> Builder::use_cached(BuildState& st, const std::string& key, const std::string& created_by) {
  if (options_.no_cache) return false;
  auto rec = TRY(cache().get(key));
  if (!rec || rec->kind != "layer") return false;
  auto diff_id = parse_digest(rec->diff_id);
  auto digest = parse_digest(rec->digest);
  if (!diff_id || !digest) return false;
  // The blob or the snapshot may have gone with rmi or prune: then it is a miss.
  if (!TRY(images_.content().stat(*digest))) return false;
  auto snap = TRY(images_.snapshots().stat(chain_after(st, *diff_id)));
  if (!snap || snap->kind != image::SnapshotKind::Committed) return false;
  add_layer(st, image::LayerBlob{*digest, *diff_id, rec->size, rec->media_type}, created_by, rec->created);
  return true;
}

Result<void> Builder::layer_step(BuildState& st, const std::string& key, const std::string& created_by, int vertex,
                                 const LayerWork& work) {
  if (TRY(use_cached(st, key, created_by))) {
    progress_.cached(vertex);
    return {};
  }
  auto& snapshots = images_.snapshots();
  if (snapshots.whiteout_format() != image::Snapshotter::Whiteouts::Overlay)
    return Fail(ErrorCode::Unavailable, "berth build needs the overlay snapshotter, which this filesystem cannot do");
  std::string snap = "build-" + image::random_hex(12);
  auto mounts = TRY(snapshots.prepare(snap, st.snapshot));
  bool committed = false;
  auto discard = defer([&] {
    if (!committed) (void)snapshots.remove(snap);
  });
  std::string dir = engine_.root + "/builds/" + snap;
  std::string rootfs = dir + "/rootfs";
  TRY(make_dirs(rootfs, 0700));
  auto remove_dir = defer([&] {
    (void)runtime::unmount_all(rootfs);
    (void)remove_all(dir);
  });
  TRY_CTX("mount the build step's root", runtime::mount_list(mounts, rootfs));
  std::set<std::string> exclude;
  {
    auto unmount = defer([&] { (void)runtime::unmount_all(rootfs); });
    TRY(work(rootfs, exclude));
  }
  std::string upper = TRY(snapshots.apply_dir(snap));
  remove_mountpoints(upper, exclude);
  auto blob = TRY_CTX("write the layer", image::write_layer(upper, image::DiffSource::OverlayUpper, images_.content(),
                                                            oci::Compression::Gzip, exclude));
  std::string chain = chain_after(st, blob.diff_id);
  auto c = snapshots.commit(chain, snap);
  if (c) {
    committed = true;
  } else if (c.error().code() != ErrorCode::AlreadyExists) {
    return Err(c.error());
  }
  std::string created = now_rfc3339();
  TRY(cache().put(store::BuildCacheRecord{key, "layer", blob.diff_id.to_string(), blob.digest.to_string(),
                                          blob.media_type, blob.size, created}));
  add_layer(st, blob, created_by, created);
  progress_.done(vertex);
  return {};
}

Result<void> Builder::workdir_step(BuildState& st, const std::string& dir, int vertex) {
  std::string user = st.config.config.user;
  std::string key = hash_parts({st.key, "WORKDIR", dir, user});
  st.key = key;
  return layer_step(st, key, "WORKDIR " + dir, vertex, [&](const std::string& rootfs, std::set<std::string>&) -> Result<void> {
    UniqueFd root = TRY(open_fd(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (open_in_root(root.get(), dir, ResolveCreate::None)) return {};  // already there: an empty layer
    UniqueFd d = TRY_CTX("WORKDIR " + dir, open_in_root(root.get(), dir, ResolveCreate::Dir));
    if (!user.empty()) {
      auto u = engine::resolve_container_user(root.get(), user, {});
      if (u && (u->uid != 0 || u->gid != 0)) {
        std::string path = fmt::format("/proc/self/fd/{}", d.get());
        if (::chown(path.c_str(), u->uid, u->gid) != 0) return FailErrno(errno, "WORKDIR {}: chown", dir);
      }
    }
    return {};
  });
}

}  // namespace berth::build::detail
