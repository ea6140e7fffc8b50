// Resolves -u/--user and --group-add against the container's own /etc/passwd and /etc/group,
// as Docker (runc's GetExecUser) does. The files are opened inside the rootfs with
// open_in_root: a symlinked /etc/passwd never leads out of the container's root.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace berth::engine {

struct ResolvedUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;  // /etc/group membership, then --group-add
  std::string home = "/";                 // from passwd; HOME when the env has none
};

// user_text is "user[:group]" (empty = root). Numeric ids need no passwd entry; a name
// that is missing fails with Docker's "unable to find user X: no matching entries in passwd
// file" (InvalidArgument). Without an explicit group, the user's groups from /etc/group are
// added; group_add entries are names or numbers.
Result<ResolvedUser> resolve_container_user(int rootfs_fd, std::string_view user_text,
                                            const std::vector<std::string>& group_add);

}  // namespace berth::engine
