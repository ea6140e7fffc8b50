#include "runtime/mount_options.h"

#include <sys/mount.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <array>

#include "base/syscalls.h"

namespace berth::runtime {
namespace {

// statfs(2) reports nosymfollow with this bit since Linux 5.10; glibc 2.36 lacks the name.
constexpr unsigned long kStNoSymFollow = 0x2000;

struct FlagOption {
  std::string_view name;
  bool clear;  // the option turns the flag off
  unsigned long flag;
};

constexpr std::array kFlagOptions = {
    FlagOption{"ro", false, MS_RDONLY},
    FlagOption{"rw", true, MS_RDONLY},
    FlagOption{"nosuid", false, MS_NOSUID},
    FlagOption{"suid", true, MS_NOSUID},
    FlagOption{"nodev", false, MS_NODEV},
    FlagOption{"dev", true, MS_NODEV},
    FlagOption{"noexec", false, MS_NOEXEC},
    FlagOption{"exec", true, MS_NOEXEC},
    FlagOption{"sync", false, MS_SYNCHRONOUS},
    FlagOption{"async", true, MS_SYNCHRONOUS},
    FlagOption{"dirsync", false, MS_DIRSYNC},
    FlagOption{"remount", false, MS_REMOUNT},
    FlagOption{"mand", false, MS_MANDLOCK},
    FlagOption{"nomand", true, MS_MANDLOCK},
    FlagOption{"noatime", false, MS_NOATIME},
    FlagOption{"atime", true, MS_NOATIME},
    FlagOption{"nodiratime", false, MS_NODIRATIME},
    FlagOption{"diratime", true, MS_NODIRATIME},
    FlagOption{"relatime", false, MS_RELATIME},
    FlagOption{"norelatime", true, MS_RELATIME},
    FlagOption{"strictatime", false, MS_STRICTATIME},
    FlagOption{"nostrictatime", true, MS_STRICTATIME},
    FlagOption{"lazytime", false, MS_LAZYTIME},
    FlagOption{"nolazytime", true, MS_LAZYTIME},
    FlagOption{"nosymfollow", false, MS_NOSYMFOLLOW},
    FlagOption{"symfollow", true, MS_NOSYMFOLLOW},
    FlagOption{"bind", false, MS_BIND},
    FlagOption{"rbind", false, MS_BIND | MS_REC},
};

struct PropagationOption {
  std::string_view name;
  unsigned long flags;
};

constexpr std::array kPropagations = {
    PropagationOption{"private", MS_PRIVATE},
    PropagationOption{"rprivate", MS_PRIVATE | MS_REC},
    PropagationOption{"shared", MS_SHARED},
    PropagationOption{"rshared", MS_SHARED | MS_REC},
    PropagationOption{"slave", MS_SLAVE},
    PropagationOption{"rslave", MS_SLAVE | MS_REC},
    PropagationOption{"unbindable", MS_UNBINDABLE},
    PropagationOption{"runbindable", MS_UNBINDABLE | MS_REC},
};

// A recursive attribute: an on/off bit, or (atime) a value of the MOUNT_ATTR__ATIME field.
struct AttrOption {
  std::string_view name;
  bool clear;
  bool atime;
  uint64_t attr;
};

// "ratime", "rnorelatime" and "rnostrictatime" ask for the kernel's default access-time
// handling (relatime); "rnorelatime" means strict updates, as with mount(8).
constexpr std::array kAttrOptions = {
    AttrOption{"rro", false, false, MOUNT_ATTR_RDONLY},
    AttrOption{"rrw", true, false, MOUNT_ATTR_RDONLY},
    AttrOption{"rnosuid", false, false, MOUNT_ATTR_NOSUID},
    AttrOption{"rsuid", true, false, MOUNT_ATTR_NOSUID},
    AttrOption{"rnodev", false, false, MOUNT_ATTR_NODEV},
    AttrOption{"rdev", true, false, MOUNT_ATTR_NODEV},
    AttrOption{"rnoexec", false, false, MOUNT_ATTR_NOEXEC},
    AttrOption{"rexec", true, false, MOUNT_ATTR_NOEXEC},
    AttrOption{"rnodiratime", false, false, MOUNT_ATTR_NODIRATIME},
    AttrOption{"rdiratime", true, false, MOUNT_ATTR_NODIRATIME},
    AttrOption{"rnosymfollow", false, false, MOUNT_ATTR_NOSYMFOLLOW},
    AttrOption{"rsymfollow", true, false, MOUNT_ATTR_NOSYMFOLLOW},
    AttrOption{"rnoatime", false, true, MOUNT_ATTR_NOATIME},
    AttrOption{"ratime", false, true, MOUNT_ATTR_RELATIME},
    AttrOption{"rrelatime", false, true, MOUNT_ATTR_RELATIME},
    AttrOption{"rnorelatime", false, true, MOUNT_ATTR_STRICTATIME},
    AttrOption{"rstrictatime", false, true, MOUNT_ATTR_STRICTATIME},
    AttrOption{"rnostrictatime", false, true, MOUNT_ATTR_RELATIME},
};

// Per-mount flags a MS_REMOUNT|MS_BIND can change; the rest belong to the superblock.
constexpr unsigned long kPerMountFlags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME |
                                         MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME |
                                         MS_NOSYMFOLLOW;

size_t edit_distance(std::string_view a, std::string_view b) {
  std::array<size_t, 64> prev{}, cur{};
  if (a.size() >= prev.size() || b.size() >= prev.size()) return 64;
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    prev = cur;
  }
  return prev[b.size()];
}

// A near miss of a propagation name ("rshard") is a typo, not filesystem data.
const PropagationOption* near_propagation(std::string_view opt) {
  if (opt.find('=') != std::string_view::npos) return nullptr;
  for (const auto& p : kPropagations) {
    if (edit_distance(opt, p.name) == 1) return &p;
  }
  return nullptr;
}

}  // namespace

bool MountOptions::is_bind() const { return (flags & MS_BIND) != 0; }

bool MountOptions::is_recursive_bind() const { return is_bind() && (flags & MS_REC) != 0; }

unsigned long MountOptions::bind_remount_flags() const { return flags & kPerMountFlags; }

Result<unsigned long> parse_propagation(std::string_view name) {
  for (const auto& p : kPropagations) {
    if (p.name == name) return p.flags;
  }
  return Fail(ErrorCode::InvalidArgument,
              "unknown propagation \"{}\" (want private, shared, slave or unbindable, "
              "optionally prefixed with r)",
              name);
}

Result<MountOptions> parse_mount_options(const std::vector<std::string>& options,
                                         std::string_view type) {
  MountOptions out;
  std::vector<std::string_view> unknown;
  for (const std::string& opt : options) {
    if (opt.empty() || opt == "defaults" || opt.starts_with("x-")) continue;
    auto flag = std::find_if(kFlagOptions.begin(), kFlagOptions.end(),
                             [&](const FlagOption& f) { return f.name == opt; });
    if (flag != kFlagOptions.end()) {
      if (flag->clear) {
        out.flags &= ~flag->flag;
        out.clear_flags |= flag->flag;
      } else {
        out.flags |= flag->flag;
        out.clear_flags &= ~flag->flag;
      }
      continue;
    }
    auto prop = std::find_if(kPropagations.begin(), kPropagations.end(),
                             [&](const PropagationOption& p) { return p.name == opt; });
    if (prop != kPropagations.end()) {
      out.propagations.push_back(prop->flags);
      continue;
    }
    auto attr = std::find_if(kAttrOptions.begin(), kAttrOptions.end(),
                             [&](const AttrOption& a) { return a.name == opt; });
    if (attr != kAttrOptions.end()) {
      MountAttrChange& rc = out.recursive_attrs;
      if (attr->atime) {
        rc.attr_clr |= MOUNT_ATTR__ATIME;
        rc.attr_set = (rc.attr_set & ~static_cast<uint64_t>(MOUNT_ATTR__ATIME)) | attr->attr;
      } else if (attr->clear) {
        rc.attr_clr |= attr->attr;
        rc.attr_set &= ~attr->attr;
      } else {
        rc.attr_set |= attr->attr;
        rc.attr_clr &= ~attr->attr;
      }
      continue;
    }
    if (opt == "tmpcopyup") {
      out.tmpcopyup = true;
    } else if (opt == "idmap" || opt == "ridmap") {
      out.idmap = true;
      out.idmap_recursive = out.idmap_recursive || opt == "ridmap";
    } else if (const PropagationOption* near = near_propagation(opt)) {
      return Fail(ErrorCode::InvalidArgument, "unknown propagation \"{}\" (did you mean \"{}\"?)",
                  opt, near->name);
    } else {
      unknown.push_back(opt);
    }
  }
  bool bind = out.is_bind() || type == "bind";
  if (type == "bind") out.flags |= MS_BIND;
  for (std::string_view opt : unknown) {
    if (bind) {
      return Fail(ErrorCode::InvalidArgument,
                  "unknown option \"{}\" for a bind mount (the kernel takes no data for binds)",
                  opt);
    }
    if (!out.data.empty()) out.data += ',';
    out.data += opt;
  }
  if (out.tmpcopyup && type != "tmpfs") {
    return Fail(ErrorCode::InvalidArgument, "tmpcopyup is only valid on tmpfs mounts, not \"{}\"",
                type);
  }
  if (out.idmap && !bind) {
    return Fail(ErrorCode::InvalidArgument, "idmap is only supported on bind mounts, not \"{}\"",
                type);
  }
  if ((out.flags & MS_REMOUNT) != 0) {
    // Every mount of a container is new: "bind,remount,ro" is the bind-then-remount that
    // binds get anyway; anywhere else there is nothing to remount.
    if (!bind) {
      return Fail(ErrorCode::InvalidArgument,
                  "remount is only meaningful on bind mounts (each mount of a container is new)");
    }
    out.flags &= ~static_cast<unsigned long>(MS_REMOUNT);
  }
  return out;
}

unsigned long mount_flags_from_statfs(unsigned long f) {
  unsigned long out = 0;
  if (f & ST_RDONLY) out |= MS_RDONLY;
  if (f & ST_NOSUID) out |= MS_NOSUID;
  if (f & ST_NODEV) out |= MS_NODEV;
  if (f & ST_NOEXEC) out |= MS_NOEXEC;
  if (f & ST_NOATIME) out |= MS_NOATIME;
  if (f & ST_NODIRATIME) out |= MS_NODIRATIME;
  if (f & ST_RELATIME) out |= MS_RELATIME;
  if (f & kStNoSymFollow) out |= MS_NOSYMFOLLOW;
  return out;
}

}  // namespace berth::runtime
