// Copies a directory tree preserving everything a layer can hold: owners, modes (setuid,
// sticky), xattrs, hardlinks, symlinks, device nodes, fifos and times. File data is reflinked
// (FICLONE) where the filesystem can, else copied with copy_file_range. Used by the copy
// snapshotter; never follows a symlink of the tree being copied.
#pragma once

#include <string>

#include "base/error.h"

namespace berth::image {

// Copies the contents (and the metadata) of directory src into the existing directory dst.
Result<void> copy_tree(const std::string& src, const std::string& dst);

}  // namespace berth::image
