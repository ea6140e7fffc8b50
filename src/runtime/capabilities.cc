#include "runtime/capabilities.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>

#include "base/fs.h"
#include "base/strings.h"

namespace berth::runtime {
namespace {

// Capability names by number, as <linux/capability.h> numbers them.
constexpr std::array<const char*, kLastKnownCapability + 1> kNames = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

constexpr bool named(int cap, std::string_view name) { return kNames[cap] == name; }
static_assert(named(CAP_CHOWN, "CAP_CHOWN") && named(CAP_SETPCAP, "CAP_SETPCAP") &&
              named(CAP_NET_RAW, "CAP_NET_RAW") && named(CAP_SYS_ADMIN, "CAP_SYS_ADMIN") &&
              named(CAP_SYS_RESOURCE, "CAP_SYS_RESOURCE") && named(CAP_SETFCAP, "CAP_SETFCAP") &&
              named(CAP_AUDIT_READ, "CAP_AUDIT_READ") && named(CAP_BPF, "CAP_BPF") &&
              named(CAP_CHECKPOINT_RESTORE, "CAP_CHECKPOINT_RESTORE"));

constexpr uint64_t bit(int cap) { return uint64_t{1} << cap; }

int capget_v3(__user_cap_data_struct data[2]) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  return static_cast<int>(::syscall(SYS_capget, &header, data));
}

// One capability set of the config: its field name and where its mask goes.
struct SetRef {
  std::string_view field;
  const std::vector<std::string>* names;
  uint64_t* mask;
};

// The index of the first name in names whose capability is in mask, if any.
std::optional<size_t> first_in(const std::vector<std::string>& names, uint64_t mask) {
  for (size_t i = 0; i < names.size(); ++i) {
    std::optional<int> cap = capability_from_name(names[i]);
    if (cap && *cap < 64 && (mask & bit(*cap))) return i;
  }
  return std::nullopt;
}

Result<uint64_t> status_mask(std::string_view status, std::string_view key, std::string_view path) {
  size_t pos = 0;
  while (pos < status.size()) {
    size_t end = status.find('\n', pos);
    if (end == std::string_view::npos) end = status.size();
    std::string_view line = status.substr(pos, end - pos);
    pos = end + 1;
    if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ':') {
      continue;
    }
    std::string_view hex = trim(line.substr(key.size() + 1));
    uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), value, 16);
    if (ec != std::errc() || ptr != hex.data() + hex.size() || hex.empty()) {
      return Fail(ErrorCode::Internal, "{}: {} is not a hex mask: \"{}\"", path, key, hex);
    }
    return value;
  }
  return Fail(ErrorCode::NotFound, "{}: no {} line", path, key);
}

}  // namespace

std::optional<int> capability_from_name(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (name == kNames[i]) return static_cast<int>(i);
  }
  return std::nullopt;
}

std::string_view capability_name(int cap) {
  if (cap < 0 || cap > kLastKnownCapability) return {};
  return kNames[static_cast<size_t>(cap)];
}

int last_capability() {
  auto text = read_file("/proc/sys/kernel/cap_last_cap");
  if (!text) return kLastKnownCapability;
  auto value = parse_int(*text, "/proc/sys/kernel/cap_last_cap");
  if (!value || *value < 0 || *value > 63) return kLastKnownCapability;
  return static_cast<int>(*value);
}

Result<CapabilitySets> resolve_capabilities(const oci::Capabilities& caps,
                                            std::vector<std::string>* warnings) {
  return resolve_capabilities(caps, last_capability(), warnings);
}

Result<CapabilitySets> resolve_capabilities(const oci::Capabilities& caps, int last_cap,
                                            std::vector<std::string>* warnings) {
  CapabilitySets out;
  const SetRef sets[] = {
      {"bounding", &caps.bounding, &out.bounding},
      {"effective", &caps.effective, &out.effective},
      {"inheritable", &caps.inheritable, &out.inheritable},
      {"permitted", &caps.permitted, &out.permitted},
      {"ambient", &caps.ambient, &out.ambient},
  };
  for (const SetRef& set : sets) {
    for (size_t i = 0; i < set.names->size(); ++i) {
      const std::string& name = (*set.names)[i];
      std::optional<int> cap = capability_from_name(name);
      if (!cap) {
        return Fail(ErrorCode::InvalidArgument,
                    "process.capabilities.{}[{}]: unknown capability \"{}\"", set.field, i, name);
      }
      if (*cap > last_cap) {
        if (warnings) {
          warnings->push_back(fmt::format(
              "process.capabilities.{}[{}]: {} is not supported by the running kernel (its last "
              "capability is {}), ignored",
              set.field, i, name, last_cap));
        }
        continue;
      }
      *set.mask |= bit(*cap);
    }
  }
  // What capset and PR_CAP_AMBIENT_RAISE would refuse in the child, said here with the field.
  if (auto i = first_in(caps.effective, out.effective & ~out.permitted)) {
    return Fail(ErrorCode::InvalidArgument,
                "process.capabilities.effective[{}]: {} is not in process.capabilities.permitted, "
                "and the kernel allows no effective capability that is not permitted",
                *i, caps.effective[*i]);
  }
  // runc's own default spec lists ambient capabilities that are not inheritable; the kernel
  // cannot raise those, and runc skips them. Do the same, but say so.
  uint64_t unraisable = out.ambient & ~(out.permitted & out.inheritable);
  for (size_t i = 0; unraisable && i < caps.ambient.size(); ++i) {
    auto cap = capability_from_name(caps.ambient[i]);
    if (!cap || !(unraisable & bit(*cap))) continue;
    if (warnings) {
      warnings->push_back(fmt::format(
          "process.capabilities.ambient[{}]: {} is not both permitted and inheritable, so it "
          "cannot be ambient; ignored",
          i, caps.ambient[i]));
    }
  }
  out.ambient &= ~unraisable;
  return out;
}

int drop_bounding_set(const CapabilitySets& s, int last_cap, ChildError* err) {
  for (int cap = 0; cap <= last_cap && cap < 64; ++cap) {
    if (s.bounding & bit(cap)) continue;
    int present = ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (present < 0) {
      if (errno == EINVAL) continue;  // not a capability of this kernel
      return child_fail(err, errno, "read bounding capability %d", cap);
    }
    if (present == 0) continue;  // already dropped; dropping again would need CAP_SETPCAP
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      const char* name = cap <= kLastKnownCapability ? kNames[static_cast<size_t>(cap)] : "";
      return child_fail(err, errno, "drop %s (%d) from the bounding set", name, cap);
    }
  }
  return 0;
}

int apply_capabilities(const CapabilitySets& s, int last_cap, ChildError* err) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  for (int word = 0; word < 2; ++word) {
    int shift = 32 * word;
    data[word].effective = static_cast<uint32_t>(s.effective >> shift);
    data[word].permitted = static_cast<uint32_t>(s.permitted >> shift);
    data[word].inheritable = static_cast<uint32_t>(s.inheritable >> shift);
  }
  if (::syscall(SYS_capset, &header, data) != 0) {
    return child_fail(
        err, errno, "set capabilities (effective 0x%llx, permitted 0x%llx, inheritable 0x%llx)",
        static_cast<unsigned long long>(s.effective), static_cast<unsigned long long>(s.permitted),
        static_cast<unsigned long long>(s.inheritable));
  }
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
    return child_fail(err, errno, "clear the ambient capabilities");
  }
  for (int cap = 0; cap <= last_cap && cap < 64; ++cap) {
    if (!(s.ambient & bit(cap))) continue;
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0) {
      const char* name = cap <= kLastKnownCapability ? kNames[static_cast<size_t>(cap)] : "";
      return child_fail(err, errno, "raise ambient capability %s (%d)", name, cap);
    }
  }
  return 0;
}

Result<CapabilitySets> read_process_capabilities(pid_t pid) {
  std::string path = pid > 0 ? fmt::format("/proc/{}/status", pid) : "/proc/self/status";
  std::string status = TRY(read_file(path));
  CapabilitySets s;
  s.inheritable = TRY(status_mask(status, "CapInh", path));
  s.permitted = TRY(status_mask(status, "CapPrm", path));
  s.effective = TRY(status_mask(status, "CapEff", path));
  s.bounding = TRY(status_mask(status, "CapBnd", path));
  s.ambient = TRY(status_mask(status, "CapAmb", path));
  return s;
}

Result<bool> has_effective_capability(int cap) {
  if (cap < 0 || cap > 63)
    return Fail(ErrorCode::InvalidArgument, "capability {} out of range", cap);
  __user_cap_data_struct data[2] = {};
  if (capget_v3(data) != 0) return FailErrno(errno, "capget");
  uint64_t effective = uint64_t{data[0].effective} | (uint64_t{data[1].effective} << 32);
  return (effective & bit(cap)) != 0;
}

std::string format_capabilities(uint64_t mask) {
  std::string out;
  for (int cap = 0; cap < 64; ++cap) {
    if (!(mask & bit(cap))) continue;
    if (!out.empty()) out += ',';
    std::string_view name = capability_name(cap);
    if (name.empty()) {
      out += std::to_string(cap);
    } else {
      out += name;
    }
  }
  return out;
}

}  // namespace berth::runtime
