// The last steps before the user's program runs, shared by the container's init and by
// `exec`: rlimits, oom score, user and groups, umask, cwd, capabilities, no_new_privs, seccomp,
// then execve. prepare_process (parent, allocates) turns oci::Process into a PreparedProcess
// that exec_prepared_process (child, allocates nothing) applies.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "oci/runtime_spec.h"
#include "runtime/c_strings.h"
#include "runtime/capabilities.h"
#include "runtime/child_error.h"
#include "runtime/rlimits.h"
#include "runtime/seccomp_cache.h"

namespace berth::runtime {

// The kernel's struct sched_attr (glibc 2.36 has no wrapper for sched_setattr).
struct SchedAttr {
  uint32_t size = sizeof(SchedAttr);
  uint32_t sched_policy = 0;
  uint64_t sched_flags = 0;
  int32_t sched_nice = 0;
  uint32_t sched_priority = 0;
  uint64_t sched_runtime = 0;
  uint64_t sched_deadline = 0;
  uint64_t sched_period = 0;
};

struct PreparedProcess {
  CStringArray argv;
  CStringArray envp;
  std::string path_env;  // PATH from the process env, for finding argv[0]
  std::string cwd;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  bool set_groups = true;  // false when setgroups is denied (rootless user namespace)
  std::optional<mode_t> umask;
  std::optional<CapabilitySets> caps;
  int last_cap = 40;
  std::vector<ResolvedRlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<SeccompProgram> seccomp;
  std::optional<int> oom_score_adj;
  int io_priority = -1;  // ioprio value, -1 for unchanged
  bool set_scheduler = false;
  SchedAttr scheduler;
  bool terminal = false;
  std::optional<oci::ConsoleSize> console_size;
};

// Builds the prepared process; errors name the field under "process.". The seccomp program
// comes from the cache in seccomp_cache when it has one ("" compiles it).
Result<PreparedProcess> prepare_process(const oci::Process& process,
                                        const std::optional<oci::Seccomp>& seccomp,
                                        const std::string& seccomp_cache,
                                        std::vector<std::string>* warnings);

// Finds argv[0] in PATH the way the container will (no allocation); writes the path to out.
int find_executable(const PreparedProcess& p, char* out, size_t outlen, ChildError* err);

// Applies every step in order and execs; returns only on failure with err filled.
// With SCMP_ACT_NOTIFY in the profile, on_listener gets the listener fd before execve and
// must hand it on (it returns -1 with err filled when it cannot).
using ListenerHandler = int (*)(int fd, void* ctx, ChildError* err);
int exec_prepared_process(const PreparedProcess& p, ChildError* err,
                          ListenerHandler on_listener = nullptr, void* ctx = nullptr);

}  // namespace berth::runtime
