// Everything the container's setup processes need, computed by the runtime before clone so
// that the child only reads it: namespaces to create and join, the rootfs plan, hostname,
// sysctls, the hooks run inside the container, the prepared process, and the descriptors of
// the sync socket, the exec socket that `start` connects to, and the console socket.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "runtime/hooks.h"
#include "runtime/namespaces.h"
#include "runtime/process_setup.h"
#include "runtime/rootfs_plan.h"
#include "runtime/seccomp_agent.h"

namespace berth::runtime {

struct InitConfig {
  NamespacePlan ns;
  RootfsPlan rootfs;
  std::string hostname;
  std::string domainname;
  bool set_hostname = false;
  bool set_domainname = false;
  std::vector<std::pair<std::string, std::string>> sysctls;  // /proc/sys path, value
  int personality = -1;
  std::vector<PreparedHook> create_container_hooks;
  std::vector<PreparedHook> start_container_hooks;
  bool parent_hooks = false;       // prestart or createRuntime hooks: pause for the runtime
  std::string state_creating_fmt;  // state JSON with a %d for the pid ('%' escaped)
  std::string state_created_fmt;
  PreparedProcess process;

  std::optional<SeccompAgent> seccomp_agent;  // SCMP_ACT_NOTIFY: where the listener goes

  int sync_fd = -1;
  int exec_listen_fd = -1;
  int console_fd = -1;
};

// Builds the InitConfig from a validated spec (seccomp_cache: see prepare_process). warnings
// collects what is ignored.
Result<InitConfig> prepare_init(const oci::Spec& spec, const std::string& bundle,
                                const std::string& id, bool no_pivot,
                                const std::string& seccomp_cache,
                                std::vector<std::string>* warnings);

// Child entry points; they never return. stage1 runs only when a user namespace is
// created or joined; it forks the init with CLONE_PARENT.
[[noreturn]] void stage1_main(const InitConfig& config);
[[noreturn]] void init_main(const InitConfig& config);

}  // namespace berth::runtime
