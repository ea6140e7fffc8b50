// Descriptor passing over unix sockets (SCM_RIGHTS). Neither function allocates, so both may
// run between clone and exec.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace berth {

// Sends len bytes and, when fd >= 0, the descriptor with them. Returns the bytes sent or -errno.
ssize_t send_with_fd(int sock, const void* data, size_t len, int fd);
// Receives up to len bytes; *fd gets a descriptor that rode along (close-on-exec) or -1.
// Returns the bytes received (0 at EOF) or -errno.
ssize_t recv_with_fd(int sock, void* data, size_t len, int* fd);

// A listening unix socket bound at path (mode 0600), replacing a stale one. Paths longer
// than sockaddr_un allows are bound through /proc/self/fd/N/NAME of their directory.
Result<UniqueFd> listen_unix_socket(const std::string& path, int type, int backlog);
// A socket connected to path (long paths as for listen_unix_socket).
Result<UniqueFd> connect_unix_socket(const std::string& path, int type);

}  // namespace berth
