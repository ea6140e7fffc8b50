// The cgroup-v2 device filter: OCI device rules compiled to an eBPF program of type
// BPF_PROG_TYPE_CGROUP_DEVICE, loaded with bpf(2) and attached to the container's cgroup.
//
// Semantics (those of runc's and crun's device emulator): rules are taken in order; an
// allow-all or deny-all rule ("a *:* rwm") resets everything before it and sets the default;
// among the rules after the last reset, the last one that matches a request decides it; a
// request no rule matches gets the default, which is deny unless an allow-all reset set it.
#pragma once

#include <linux/bpf.h>

#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "oci/runtime_spec.h"

namespace berth::runtime {

// Compiles rules into the filter program. Invalid rules are InvalidArgument errors naming
// linux.resources.devices[i].
Result<std::vector<bpf_insn>> compile_device_filter(const std::vector<oci::DeviceRule>& rules);

// Loads program into the kernel (BPF_PROG_LOAD); the verifier's log is part of the error.
Result<UniqueFd> load_device_filter(const std::vector<bpf_insn>& program);

// Attaches prog_fd to the cgroup directory cgroup_fd (BPF_F_ALLOW_MULTI) and then detaches the
// device programs that were attached to it before, so the new filter replaces the old one
// without a moment of no filter.
Result<void> replace_device_filter(int cgroup_fd, int prog_fd, const std::string& cgroup_dir);

}  // namespace berth::runtime
