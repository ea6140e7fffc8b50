// Resolves paths inside a container root the way the container will see them, without ever
// leaving that root: symlinks are followed one component at a time (absolute targets restart
// at the root) and a ".." that would climb above the root is refused as an escape.
//
// resolve_in_root never allocates, so the container's child may call it between clone and
// exec; open_in_root is the Result-returning wrapper for everyone else.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string_view>

#include "base/error.h"
#include "base/unique_fd.h"

namespace berth {

enum class ResolveCreate {
  None,  // every component must exist
  Dir,   // missing components, the last included, are created as directories
  File,  // missing parents become directories, a missing last component an empty file
};

// Returns an O_PATH descriptor of path under root_fd, or -errno with a message in
// errbuf (which names the offending component). EXDEV means an escape was refused.
int resolve_in_root(int root_fd, const char* path, ResolveCreate create, char* errbuf,
                    size_t errlen);

Result<UniqueFd> open_in_root(int root_fd, std::string_view path,
                              ResolveCreate create = ResolveCreate::None);

}  // namespace berth
