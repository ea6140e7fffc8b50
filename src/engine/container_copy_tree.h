// Internals of `berth cp`: the fd-relative tree copier and tar writer shared by both directions.
//
// Every source object is held as an O_PATH descriptor opened without following a symlink, and
// every child is reached with openat(parent, name, O_NOFOLLOW): once the top of a copy is
// resolved (in-root for the container side), nothing below it can lead outside. Destinations are
// written with *at calls relative to a directory fd; a name that exists is removed and created
// again (O_EXCL | O_NOFOLLOW), never opened through a symlink.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "base/error.h"
#include "base/unique_fd.h"

namespace berth::engine::copy_detail {

// Who owns what a copy creates.
enum class Owner {
  Keep,    // the source's uid/gid (-a)
  Root,    // 0:0 (into a container without -a)
  Caller,  // the calling process (out of a container without -a): no chown at all
};

// An object to copy: an O_PATH descriptor of it (a symlink is the link itself unless followed
// at the top), its stat, the base name it is copied under and the path named in messages.
struct SourceObject {
  UniqueFd fd;
  struct stat st {};
  std::string name;
  bool contents_only = false;  // SRC ended in "/." (or is the root): copy the children
  std::string display;
};

// Copies trees between two directory descriptors; one instance per copy, so hardlinks met twice
// in the source are linked twice in the destination.
class TreeCopier {
 public:
  explicit TreeCopier(Owner owner) : owner_(owner) {}

  // Copies the object src (O_PATH fd with stat st, display path src_path) to name in dst_dir;
  // dst_path names the destination in messages. A directory merges into an existing one.
  Result<void> copy(int src, const struct stat& st, const std::string& src_path, int dst_dir,
                    const std::string& name, const std::string& dst_path);
  // Copies the children of directory src into the existing directory dst_dir.
  Result<void> copy_children(int src, const std::string& src_path, int dst_dir,
                             const std::string& dst_path);

 private:
  Result<void> copy_dir(int src, const struct stat& st, const std::string& src_path, int dst_dir,
                        const std::string& name, const std::string& dst_path);
  Result<void> copy_file(int src, const struct stat& st, int dst_dir, const std::string& name);
  Result<void> copy_symlink(int src, const struct stat& st, int dst_dir, const std::string& name);
  Result<void> set_owner(int dst_dir, const std::string& name, int fd, const struct stat& st);
  // Removes a non-directory at name so it can be created again; refuses to replace a directory.
  Result<void> clear_for_non_dir(int dst_dir, const std::string& name, const std::string& dst_path);
  // Links name to the first copy of a hardlinked source inode; false when it is the first.
  Result<bool> link_known(const struct stat& st, int dst_dir, const std::string& name);
  void remember_link(const struct stat& st, int dst_dir, const std::string& name);

  Owner owner_;
  std::map<std::pair<dev_t, ino_t>, std::pair<std::shared_ptr<UniqueFd>, std::string>> links_;
  std::set<std::pair<dev_t, ino_t>> created_dirs_;  // never descend into what we made
};

// Writes a tar of src to out_fd: the object named src.name, or its children at the top when
// src.contents_only. Owners, modes, mtimes, symlinks and hardlinks are recorded as they are.
Result<void> write_tree_tar(const SourceObject& src, int out_fd);

// Reopens an O_PATH descriptor for reading (O_NONBLOCK: a fifo never blocks the open).
Result<UniqueFd> reopen_for_read(int path_fd, int extra_flags, const std::string& what);

}  // namespace berth::engine::copy_detail
