// The syscalls of rootfs setup at the level of "mount this", "pivot to that": the child's
// steps (rootfs_setup, devices) call them through MountOps so that unit tests can record
// the sequence without root, while KernelMountOps runs the real kernel calls.
#pragma once

#include <linux/mount.h>
#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace berth::runtime {

// Contract: every call returns 0 (or a new descriptor, owned by the caller) on success and
// -1 with errno set on failure, like libc. Implementations used between clone and exec
// (KernelMountOps) must not allocate. Descriptors passed in are borrowed; "target_fd" and
// friends are O_PATH descriptors from resolve_in_root, mounted on through /proc/self/fd/N
// so that no path is looked up twice.
class MountOps {
 public:
  virtual ~MountOps() = default;

  // mount(2) on a plain path: the propagation of "/", the rootfs self-bind, MS_MOVE.
  virtual int mount(const char* source, const char* target, const char* fstype, unsigned long flags,
                    const char* data) = 0;
  // mount(2) onto what target_fd refers to.
  virtual int mount_at(const char* source, int target_fd, const char* fstype, unsigned long flags,
                       const char* data) = 0;
  // Bind-mounts what source_fd refers to onto target_fd; flags is MS_BIND[|MS_REC].
  virtual int bind_fd(int source_fd, int target_fd, unsigned long flags) = 0;
  virtual int umount2(const char* target, int flags) = 0;
  virtual int pivot_root(const char* new_root, const char* put_old) = 0;
  virtual int chdir(const char* path) = 0;
  virtual int fchdir(int fd) = 0;
  virtual int chroot(const char* path) = 0;
  // Opens a directory as an O_PATH descriptor: the rootfs, or "/" after the pivot.
  virtual int open_dir(const char* path) = 0;
  // statfs(2) f_flags (ST_*) of the mount that fd is on.
  virtual int statfs_flags(int fd, unsigned long* flags) = 0;
  // mount_setattr(2) on fd itself (AT_EMPTY_PATH is added); at_flags may hold AT_RECURSIVE.
  virtual int mount_setattr(int fd, unsigned at_flags, const mount_attr* attr) = 0;
  // move_mount(2) of the detached tree from_fd onto to_fd.
  virtual int move_mount(int from_fd, int to_fd) = 0;
  // mknodat(2) of name in dirfd, then chmod to mode's permission bits (no umask) and chown.
  virtual int make_node(int dirfd, const char* name, mode_t mode, dev_t dev, uid_t uid,
                        gid_t gid) = 0;
  virtual int symlinkat(const char* target, int dirfd, const char* name) = 0;
  virtual int unlinkat(int dirfd, const char* name, int flags) = 0;
  // Copies the tree under directory from_fd into directory to_fd (modes, owners, times,
  // symlinks, device nodes); with root_attrs also the mode and owner of from_fd itself.
  virtual int copy_tree(int from_fd, int to_fd, bool root_attrs) = 0;
};

// The real kernel. Allocates nothing; safe between clone and exec.
class KernelMountOps final : public MountOps {
 public:
  int mount(const char* source, const char* target, const char* fstype, unsigned long flags,
            const char* data) override;
  int mount_at(const char* source, int target_fd, const char* fstype, unsigned long flags,
               const char* data) override;
  int bind_fd(int source_fd, int target_fd, unsigned long flags) override;
  int umount2(const char* target, int flags) override;
  int pivot_root(const char* new_root, const char* put_old) override;
  int chdir(const char* path) override;
  int fchdir(int fd) override;
  int chroot(const char* path) override;
  int open_dir(const char* path) override;
  int statfs_flags(int fd, unsigned long* flags) override;
  int mount_setattr(int fd, unsigned at_flags, const mount_attr* attr) override;
  int move_mount(int from_fd, int to_fd) override;
  int make_node(int dirfd, const char* name, mode_t mode, dev_t dev, uid_t uid, gid_t gid) override;
  int symlinkat(const char* target, int dirfd, const char* name) override;
  int unlinkat(int dirfd, const char* name, int flags) override;
  int copy_tree(int from_fd, int to_fd, bool root_attrs) override;
};

// A fake for unit tests (it allocates): appends one line per call to calls, such as
// "mount proc /tmp/x/rootfs/proc proc 0xe -", with descriptors shown as the paths they
// name, and succeeds without touching the system. Directories are opened for real, so
// path resolution runs on a real temp tree; after a successful pivot_root or chroot,
// absolute paths given to open_dir are taken under root_after_pivot.
class RecordingMountOps final : public MountOps {
 public:
  explicit RecordingMountOps(std::string root_after_pivot = "")
      : root_after_pivot_(std::move(root_after_pivot)) {}

  std::vector<std::string> calls;
  unsigned long statfs_result = 0;  // what statfs_flags reports

  // The first call whose line contains `needle` fails with err (and is still recorded).
  void fail_on(std::string needle, int err) {
    fail_needle_ = std::move(needle);
    fail_errno_ = err;
  }
  // The lines that start with prefix ("mount ", "mknod "...).
  std::vector<std::string> calls_starting_with(const std::string& prefix) const;

  int mount(const char* source, const char* target, const char* fstype, unsigned long flags,
            const char* data) override;
  int mount_at(const char* source, int target_fd, const char* fstype, unsigned long flags,
               const char* data) override;
  int bind_fd(int source_fd, int target_fd, unsigned long flags) override;
  int umount2(const char* target, int flags) override;
  int pivot_root(const char* new_root, const char* put_old) override;
  int chdir(const char* path) override;
  int fchdir(int fd) override;
  int chroot(const char* path) override;
  int open_dir(const char* path) override;
  int statfs_flags(int fd, unsigned long* flags) override;
  int mount_setattr(int fd, unsigned at_flags, const mount_attr* attr) override;
  int move_mount(int from_fd, int to_fd) override;
  int make_node(int dirfd, const char* name, mode_t mode, dev_t dev, uid_t uid, gid_t gid) override;
  int symlinkat(const char* target, int dirfd, const char* name) override;
  int unlinkat(int dirfd, const char* name, int flags) override;
  int copy_tree(int from_fd, int to_fd, bool root_attrs) override;

 private:
  int record(std::string line);  // 0, or -1 with errno when the line is the one to fail
  std::string root_after_pivot_;
  bool pivoted_ = false;
  std::string fail_needle_;
  int fail_errno_ = 0;
};

// The path an open descriptor names (readlink of /proc/self/fd/N), for tests and messages
// built in the parent; it allocates, so never between clone and exec.
std::string fd_path(int fd);

}  // namespace berth::runtime
