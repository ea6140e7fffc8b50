// The options of one OCI mount ("ro", "rbind", "rslave", "rnoexec", "mode=755"...) split
// into what each kernel interface takes: mount(2) flags to set and to clear, propagation
// changes, mount_setattr(2) attributes applied recursively, and the filesystem data string.
// Parsing runs in the parent, before clone; errors do not name the field, callers add
// "mounts[i].options" as context.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace berth::runtime {

// mount_setattr(2) attributes: set bits in attr_set, cleared bits in attr_clr (the atime
// mode, an enum inside MOUNT_ATTR__ATIME, always clears the whole field when it changes).
struct MountAttrChange {
  uint64_t attr_set = 0;
  uint64_t attr_clr = 0;
  bool empty() const { return attr_set == 0 && attr_clr == 0; }
};

struct MountOptions {
  unsigned long flags = 0;        // MS_* asked for (MS_BIND, MS_REC for rbind, MS_RDONLY...)
  unsigned long clear_flags = 0;  // MS_* explicitly turned off: "rw", "suid", "dev", "exec"...
  // MS_SHARED|MS_SLAVE|MS_PRIVATE|MS_UNBINDABLE, with MS_REC for the r-forms, in the
  // order given (runc applies each).
  std::vector<unsigned long> propagations;
  MountAttrChange recursive_attrs;  // rro, rnosuid, rnoatime...: applied with AT_RECURSIVE
  bool tmpcopyup = false;           // fill a new tmpfs with the directory it covers
  bool idmap = false;               // idmapped mount (idmap or ridmap)
  bool idmap_recursive = false;     // ridmap: the whole tree of a rbind is idmapped
  std::string data;                 // unknown options, comma-joined: filesystem data

  bool is_bind() const;
  bool is_recursive_bind() const;
  // Flags that need a MS_REMOUNT|MS_BIND pass after a bind (ro, nosuid, atime...).
  unsigned long bind_remount_flags() const;
};

// Parses the options of a mount of the given type. On a bind mount (type "bind" or a
// bind/rbind option) an unknown option is an error, since the kernel would ignore it;
// on other mounts it becomes filesystem data. "x-..." options (userspace-only in
// mount(8)) and "defaults" are accepted and ignored.
Result<MountOptions> parse_mount_options(const std::vector<std::string>& options,
                                         std::string_view type);

// Parses a propagation name ("rslave", "shared"...) into MS_* flags, MS_REC for r-forms.
Result<unsigned long> parse_propagation(std::string_view name);

// The MS_* flags of a mount (from statfs(2) f_flags) that a bind remount must keep: inside
// a user namespace the kernel refuses to drop them (they are locked), and keeping them
// elsewhere means a bind is never less restricted than its source.
unsigned long mount_flags_from_statfs(unsigned long statfs_flags);

}  // namespace berth::runtime
