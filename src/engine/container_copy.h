// `berth cp`: copying between the host and a container's filesystem with docker cp's
// SRC_PATH/DEST_PATH rules.
//
// The container side is a root directory (`/proc/<pid>/root` of a running container, whose mounts
// include its volumes, or the mounted rootfs of a stopped one). Every container path is resolved
// inside that root with base/root_path.h: an absolute symlink restarts at the root and a ".." that
// would climb above it is refused, so neither reads nor writes ever leave the container. Below the
// resolved top every entry is reached with O_NOFOLLOW, and a name being written is removed and
// created again, never opened through a symlink. Host paths are used as given.
#pragma once

#include <string>

#include "base/error.h"

namespace berth::engine {

struct CopyOptions {
  bool archive = false;      // -a: keep uid/gid
  bool follow_link = false;  // -L: follow a symlink at SRC
};

// docker cp HOSTSRC CTR:DST. Without archive what is copied in is owned by 0:0.
Result<void> copy_into_container(const std::string& root, const std::string& host_src,
                                 const std::string& container_dst, const CopyOptions& options);
// docker cp CTR:SRC HOSTDST. Without archive what is copied out is owned by the caller.
Result<void> copy_from_container(const std::string& root, const std::string& container_src,
                                 const std::string& host_dst, const CopyOptions& options);
// docker cp CTR:SRC -   (tar of SRC, named by its base name, to out_fd)
Result<void> copy_from_container_tar(const std::string& root, const std::string& container_src,
                                     int out_fd, const CopyOptions& options);
// docker cp - CTR:DST   (a tar stream from in_fd extracted into directory DST)
Result<void> copy_tar_into_container(const std::string& root, int in_fd,
                                     const std::string& container_dst, const CopyOptions& options);

}  // namespace berth::engine
