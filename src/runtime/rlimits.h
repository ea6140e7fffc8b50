// Resource limits of the container's process (process.rlimits). The parent maps names to
// RLIMIT_* and refuses what the kernel would refuse the child, with the field and the fix in
// the message; the child only calls setrlimit.
#pragma once

#include <sys/resource.h>

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/runtime_spec.h"
#include "runtime/child_error.h"

namespace berth::runtime {

// One limit ready for setrlimit.
struct ResolvedRlimit {
  int resource = 0;
  rlimit limit{};
};

// "RLIMIT_NOFILE" -> RLIMIT_NOFILE.
std::optional<int> rlimit_from_name(std::string_view name);
// RLIMIT_NOFILE -> "RLIMIT_NOFILE"; "" for unknown resources. Allocation-free.
const char* rlimit_name(int resource);

// Parent side: validates process.rlimits (known, unique types; soft <= hard) and refuses a
// hard limit above the caller's own unless it can raise it (CAP_SYS_RESOURCE in the initial
// user namespace), and RLIMIT_NOFILE above fs.nr_open. Errors name the field.
Result<std::vector<ResolvedRlimit>> resolve_rlimits(const std::vector<oci::Rlimit>& rlimits);

// Child side, allocation-free: setrlimit for each of limits[0..n). Returns 0 or -1 with err
// filled.
int apply_rlimits(const ResolvedRlimit* limits, size_t n, ChildError* err);

}  // namespace berth::runtime
