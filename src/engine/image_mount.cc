// ImageService: `image mount` / `image unmount`, a read-only view of an image's root
// filesystem at <runroot>/image-mounts/<id>, as `podman image mount` gives.
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "engine/image_service.h"
#include "runtime/mount_list.h"

namespace berth::engine {
namespace {

bool is_mount_point(const std::string& path) {
  struct stat self, parent;
  if (::stat(path.c_str(), &self) != 0 || ::stat((path + "/..").c_str(), &parent) != 0) return false;
  return self.st_dev != parent.st_dev || self.st_ino == parent.st_ino;
}

}  // namespace

Result<std::string> ImageService::mount(const std::string& image) {
  auto record = TRY(records_->get(TRY(resolve_id(image))));
  std::string hex = record->id.substr(7);
  std::string target = options_.runroot + "/image-mounts/" + hex;
  if (is_mount_point(target)) return target;
  if (record->snapshot.empty())
    return Fail(ErrorCode::InvalidArgument, "image {} has no layers to mount", short_id(record->id));
  std::string key = "mount-" + hex;
  std::vector<oci::Mount> mounts;
  if (TRY(snapshots_->stat(key))) {
    mounts = TRY(snapshots_->mounts(key));
  } else {
    mounts = TRY(snapshots_->view(key, record->snapshot));
  }
  TRY(make_dirs(target, 0700));
  if (auto r = runtime::mount_list(mounts, target); !r) {
    (void)snapshots_->remove(key);
    ::rmdir(target.c_str());
    return Err(r.error().context(fmt::format("mount image {}", short_id(record->id))));
  }
  return target;
}

Result<void> ImageService::unmount(const std::string& image) {
  auto id = TRY(resolve_id(image));
  std::string hex = id.substr(7);
  std::string target = options_.runroot + "/image-mounts/" + hex;
  TRY(runtime::unmount_all(target));
  ::rmdir(target.c_str());
  std::string key = "mount-" + hex;
  if (TRY(snapshots_->stat(key))) TRY(snapshots_->remove(key));
  return {};
}

}  // namespace berth::engine
