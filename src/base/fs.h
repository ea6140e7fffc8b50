// Small filesystem helpers with errors that name the path.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>
#include <string_view>

#include "base/error.h"
#include "base/unique_fd.h"

namespace berth {

Result<std::string> read_file(const std::string& path);
// Writes data to an existing or new file (no rename); for cgroup and proc files.
Result<void> write_file(const std::string& path, std::string_view data, mode_t mode = 0644);
// Writes to a temp file in the same directory and renames it over path: readers see the old
// or the new content, never a mix. durable also fsyncs before the rename (survives power loss).
Result<void> write_file_atomic(const std::string& path, std::string_view data, mode_t mode = 0644,
                               bool durable = false);
// mkdir -p; existing directories are fine.
Result<void> make_dirs(const std::string& path, mode_t mode = 0755);
// rm -rf; a missing path is fine. Callers unmount first: it does not stop at mount points.
Result<void> remove_all(const std::string& path);
bool path_exists(const std::string& path);
Result<UniqueFd> open_fd(const std::string& path, int flags, mode_t mode = 0);
// Writes all of data to fd, retrying on EINTR and short writes.
Result<void> write_all(int fd, std::string_view data);
Result<std::string> read_all(int fd);
// Absolute, lexically cleaned path ("a/../b" -> "/cwd/b"), no symlinks resolved.
std::string absolute_path(std::string_view path);
// A lexically cleaned absolute path: "a//b/../c/" is "/a/c" ("..", "." and empty parts dropped).
std::string clean_path(std::string_view path);

// The target of the symbolic link at path.
Result<std::string> read_link(const std::string& path);

// Names in dir, sorted, without "." and ".."; a missing dir has none.
Result<std::vector<std::string>> list_dir(const std::string& dir);
// Names in the directory dir_fd refers to, sorted, without "." and ".." (dir_fd is borrowed).
Result<std::vector<std::string>> list_dir_at(int dir_fd);

}  // namespace berth
