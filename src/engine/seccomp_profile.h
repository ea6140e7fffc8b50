// Seccomp profiles in Docker's format (rules conditioned on the container's capabilities and
// the machine's architecture), berth's default profile, and their resolution into the OCI
// linux.seccomp the runtime compiles.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/runtime_spec.h"

namespace berth::engine {

// A rule applies when the container has every capability of include_caps and the machine's
// architecture is in include_arches (when set), and neither condition of excludes holds.
struct SeccompProfileRule {
  std::vector<std::string> names;
  std::string action;  // SCMP_ACT_ALLOW, SCMP_ACT_ERRNO...
  std::optional<uint32_t> errno_ret;
  std::vector<oci::SeccompArg> args;
  std::vector<std::string> include_caps, include_arches;  // Go arch names: amd64, arm64...
  std::vector<std::string> exclude_caps, exclude_arches;
  std::string min_kernel;  // "4.8": only on kernels at least this version
};

struct SeccompArchMap {
  std::string architecture;  // SCMP_ARCH_X86_64
  std::vector<std::string> sub_architectures;
};

struct SeccompProfile {
  std::string default_action;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;  // used when arch_map is empty
  std::vector<SeccompArchMap> arch_map;
  std::vector<SeccompProfileRule> rules;
};

// berth's default profile: Docker's allow list with ERRNO(EPERM) for everything else, and
// ptrace, process_vm_* only with CAP_SYS_PTRACE (Docker allows them on kernels >= 4.8).
const SeccompProfile& default_seccomp_profile();

// Parses a Docker-format profile (defaultAction, defaultErrnoRet, architectures, archMap,
// syscalls[].names|name, action, errnoRet, args, includes, excludes). Errors are
// InvalidArgument naming the JSON path ("syscalls[3].action: unknown action ...").
Result<SeccompProfile> parse_seccomp_profile(std::string_view json);

// The machine's architecture as Go names it ("amd64", "arm64"...).
std::string host_go_arch();

// Keeps the rules that apply to a container holding caps (names "CAP_..."), on go_arch with
// kernel_release ("6.1.0-18-amd64"), and returns linux.seccomp.
oci::Seccomp resolve_seccomp_profile(const SeccompProfile& profile,
                                     const std::vector<std::string>& caps,
                                     std::string_view go_arch, std::string_view kernel_release);

}  // namespace berth::engine
