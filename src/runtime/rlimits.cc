#include "runtime/rlimits.h"

#include <linux/capability.h>

#include <array>
#include <cerrno>
#include <string>

#include "base/fs.h"
#include "base/strings.h"
#include "runtime/capabilities.h"

namespace berth::runtime {
namespace {

struct RlimitName {
  const char* name;
  int resource;
};

constexpr std::array<RlimitName, 16> kRlimits = {{
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
}};

std::string limit_text(rlim_t v) {
  return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v);
}

// Whether the caller may raise hard limits: setrlimit checks CAP_SYS_RESOURCE in the
// initial user namespace, so a capability held only inside a user namespace does not count.
bool can_raise_hard_limits() {
  auto has = has_effective_capability(CAP_SYS_RESOURCE);
  if (!has || !*has) return false;
  auto map = read_file("/proc/self/uid_map");
  if (!map) return false;
  std::vector<std::string> parts;
  for (const std::string& p : split(trim(*map), ' ')) {
    if (!p.empty()) parts.push_back(p);
  }
  return parts.size() == 3 && parts[0] == "0" && parts[1] == "0" && parts[2] == "4294967295";
}

// fs.nr_open, the kernel's ceiling for RLIMIT_NOFILE; nullopt when unreadable.
std::optional<uint64_t> nr_open() {
  auto text = read_file("/proc/sys/fs/nr_open");
  if (!text) return std::nullopt;
  auto v = parse_uint(*text, "/proc/sys/fs/nr_open");
  if (!v) return std::nullopt;
  return *v;
}

}  // namespace

std::optional<int> rlimit_from_name(std::string_view name) {
  for (const RlimitName& r : kRlimits) {
    if (name == r.name) return r.resource;
  }
  return std::nullopt;
}

const char* rlimit_name(int resource) {
  for (const RlimitName& r : kRlimits) {
    if (r.resource == resource) return r.name;
  }
  return "";
}

Result<std::vector<ResolvedRlimit>> resolve_rlimits(const std::vector<oci::Rlimit>& rlimits) {
  std::vector<ResolvedRlimit> out;
  out.reserve(rlimits.size());
  std::optional<bool> can_raise;  // asked only when some limit needs it
  for (size_t i = 0; i < rlimits.size(); ++i) {
    const oci::Rlimit& r = rlimits[i];
    std::optional<int> resource = rlimit_from_name(r.type);
    if (!resource) {
      return Fail(ErrorCode::InvalidArgument, "process.rlimits[{}].type: unknown rlimit \"{}\"", i,
                  r.type);
    }
    for (size_t j = 0; j < i; ++j) {
      if (rlimits[j].type == r.type) {
        return Fail(ErrorCode::InvalidArgument,
                    "process.rlimits[{}].type: {} is already set by process.rlimits[{}]", i, r.type,
                    j);
      }
    }
    rlimit want{static_cast<rlim_t>(r.soft), static_cast<rlim_t>(r.hard)};
    if (want.rlim_cur > want.rlim_max) {
      return Fail(ErrorCode::InvalidArgument,
                  "process.rlimits[{}]: {} soft limit {} is above its hard limit {}", i, r.type,
                  limit_text(want.rlim_cur), limit_text(want.rlim_max));
    }
    rlimit current{};
    if (::getrlimit(*resource, &current) != 0) {
      return FailErrno(errno, "process.rlimits[{}]: read this process's {}", i, r.type);
    }
    if (want.rlim_max > current.rlim_max) {
      if (!can_raise) can_raise = can_raise_hard_limits();
      if (!*can_raise) {
        return Fail(ErrorCode::PermissionDenied,
                    "process.rlimits[{}]: {} hard limit {} is above this process's hard limit "
                    "{}, and raising it needs CAP_SYS_RESOURCE",
                    i, r.type, limit_text(want.rlim_max), limit_text(current.rlim_max));
      }
    }
    if (*resource == RLIMIT_NOFILE) {
      std::optional<uint64_t> ceiling = nr_open();
      if (ceiling && want.rlim_max != RLIM_INFINITY && want.rlim_max > *ceiling) {
        return Fail(ErrorCode::InvalidArgument,
                    "process.rlimits[{}]: RLIMIT_NOFILE hard limit {} is above the kernel's "
                    "fs.nr_open {}",
                    i, want.rlim_max, *ceiling);
      }
      if (want.rlim_max == RLIM_INFINITY) {
        return Fail(ErrorCode::InvalidArgument,
                    "process.rlimits[{}]: RLIMIT_NOFILE cannot be unlimited (the kernel caps it "
                    "at fs.nr_open)",
                    i);
      }
    }
    out.push_back(ResolvedRlimit{*resource, want});
  }
  return out;
}

int apply_rlimits(const ResolvedRlimit* limits, size_t n, ChildError* err) {
  for (size_t i = 0; i < n; ++i) {
    const ResolvedRlimit& r = limits[i];
    if (::setrlimit(r.resource, &r.limit) != 0) {
      return child_fail(err, errno, "set %s to soft %llu hard %llu", rlimit_name(r.resource),
                        static_cast<unsigned long long>(r.limit.rlim_cur),
                        static_cast<unsigned long long>(r.limit.rlim_max));
    }
  }
  return 0;
}

}  // namespace berth::runtime
