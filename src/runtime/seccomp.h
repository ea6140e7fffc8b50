// Seccomp for the container's process, split the way container setup is: the parent compiles
// the OCI profile (linux.seccomp) with libseccomp into raw classic BPF, and the child installs
// that program with the bare seccomp() syscall, allocating nothing.
//
// The contract, where the OCI spec leaves room:
// - A syscall name libseccomp does not know is skipped without error, as runc and crun do:
//   profiles list syscalls newer than the kernel or the library. An empty name is an error.
// - A rule whose action equals the default action is skipped (libseccomp refuses it; it
//   would change nothing).
// - Conditions: when every condition of a rule is on a different argument, the rule matches
//   when ALL of them hold. libseccomp refuses two comparisons on the same argument in one
//   rule; then, like runc and crun, each condition becomes a rule of its own, so the rule
//   matches when ANY of them holds (profiles written for runc rely on this).
// - The filter never sets no_new_privs itself: the runtime does that (process.noNewPrivileges).
// - SCMP_ACT_NOTIFY as the default action is refused: every syscall the runtime makes after
//   installing the filter (sending the listener fd, execve) would wait on the listener.
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "oci/runtime_spec.h"
#include "runtime/child_error.h"

namespace berth::runtime {

// A compiled filter: the BPF instructions and the flags for seccomp(SECCOMP_SET_MODE_FILTER).
struct SeccompProgram {
  std::vector<sock_filter> filter;
  unsigned flags = 0;         // SECCOMP_FILTER_FLAG_* except NEW_LISTENER
  bool use_listener = false;  // some rule is SCMP_ACT_NOTIFY: install with a listener fd
};

// Parent side: validates and compiles linux.seccomp; every error names its field.
Result<SeccompProgram> compile_seccomp(const oci::Seccomp& config);

// Child side, allocation-free: installs the filter. Returns 0, the listener fd (> 0) when
// prog.use_listener, or -1 with err filled. Needs no_new_privs or CAP_SYS_ADMIN.
int apply_seccomp(const SeccompProgram& prog, ChildError* err);

}  // namespace berth::runtime
