#include "runtime/mount_list.h"

#include <sys/mount.h>

#include "base/scope_guard.h"
#include "runtime/mount_options.h"

namespace berth::runtime {

Result<void> mount_list(const std::vector<oci::Mount>& mounts, const std::string& target) {
  int done = 0;
  auto undo = defer([&] {
    for (int i = 0; i < done; ++i) ::umount2(target.c_str(), MNT_DETACH);
  });
  for (const auto& m : mounts) {
    auto opts = TRY_CTX(fmt::format("mount {} on {}", m.type, target),
                        parse_mount_options(m.options, m.type));
    const char* data = opts.data.empty() ? nullptr : opts.data.c_str();
    unsigned long flags = opts.flags;
    if (opts.is_bind()) {
      if (::mount(m.source.c_str(), target.c_str(), nullptr, flags & (MS_BIND | MS_REC), nullptr) != 0)
        return FailErrno(errno, "bind mount {} on {}", m.source, target);
      ++done;
      if (unsigned long remount = opts.bind_remount_flags(); remount != 0) {
        if (::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | remount, nullptr) != 0)
          return FailErrno(errno, "remount {} read-only", target);
      }
    } else {
      if (::mount(m.source.c_str(), target.c_str(), m.type.c_str(), flags, data) != 0)
        return FailErrno(errno, "mount {} on {} ({})", m.type, target, opts.data);
      ++done;
    }
  }
  undo.dismiss();
  return {};
}

Result<void> unmount_all(const std::string& target) {
  while (::umount2(target.c_str(), MNT_DETACH) == 0) {
  }
  if (errno != EINVAL && errno != ENOENT) return FailErrno(errno, "unmount {}", target);
  return {};
}

}  // namespace berth::runtime
