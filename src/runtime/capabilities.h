// Linux capabilities of the container's process. The parent turns the names of
// process.capabilities into bit masks (resolve_capabilities); the child applies the masks
// with prctl and capset, allocating nothing.
//
// Order in the child: drop_bounding_set while the process still holds CAP_SETPCAP (before
// changing user), then apply_capabilities after the user switch (which must keep its
// capabilities across setuid with PR_SET_KEEPCAPS).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/runtime_spec.h"
#include "runtime/child_error.h"

namespace berth::runtime {

// The highest capability number berth knows by name (CAP_CHECKPOINT_RESTORE).
inline constexpr int kLastKnownCapability = 40;

// "CAP_CHOWN" -> 0; exact, upper-case names as the OCI spec writes them.
std::optional<int> capability_from_name(std::string_view name);
// 0 -> "CAP_CHOWN"; empty for numbers berth does not know.
std::string_view capability_name(int cap);
// The running kernel's highest capability (/proc/sys/kernel/cap_last_cap), 40 if unreadable.
int last_capability();

// The five capability sets as bit masks (bit n = capability n).
struct CapabilitySets {
  uint64_t bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
};

// Parent side: maps process.capabilities to masks for the running kernel. Unknown names are
// errors naming the field; names the kernel lacks are dropped with a warning appended to
// warnings (which may be null). Also refuses what capset and PR_CAP_AMBIENT_RAISE would:
// effective outside permitted, ambient outside permitted and inheritable.
Result<CapabilitySets> resolve_capabilities(const oci::Capabilities& caps,
                                            std::vector<std::string>* warnings);
// The same for a given last capability of the kernel (tests, callers that already know it).
Result<CapabilitySets> resolve_capabilities(const oci::Capabilities& caps, int last_cap,
                                            std::vector<std::string>* warnings);

// Child side: drops every capability 0..last_cap that is not in s.bounding from the bounding
// set (PR_CAPBSET_DROP, needs CAP_SETPCAP). Returns 0 or -1 with err filled.
int drop_bounding_set(const CapabilitySets& s, int last_cap, ChildError* err);

// Child side: sets effective, permitted and inheritable (capset), then replaces the ambient
// set with s.ambient. Returns 0 or -1 with err filled, naming the capability that failed.
int apply_capabilities(const CapabilitySets& s, int last_cap, ChildError* err);

// The sets of a process as /proc/<pid>/status reports them; pid 0 is the caller.
Result<CapabilitySets> read_process_capabilities(pid_t pid);

// Whether the calling thread has cap in its effective set (capget).
Result<bool> has_effective_capability(int cap);

// "CAP_CHOWN,CAP_KILL"; bits without a name appear as their number; empty for 0.
std::string format_capabilities(uint64_t mask);

}  // namespace berth::runtime
