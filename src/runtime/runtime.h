// berth's OCI runtime as a library: the create/start state machine of the runtime spec over
// bundles, with runc's semantics so that `berth runtime` can stand in for runc, and so the
// engine layer can run containers without going through a CLI.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "oci/runtime_spec.h"

namespace berth::runtime {

class CgroupManager;

struct RuntimeOptions {
  std::string root = "/run/berth/runtime";  // one directory per container
  std::string cgroup_root = "/sys/fs/cgroup";
  // Where compiled seccomp programs are kept (runtime/seccomp_cache.h); "" compiles each time.
  std::string seccomp_cache;
};

struct CreateOptions {
  std::string bundle;          // directory holding config.json; "" = current directory
  // The spec itself, for a library caller that has it in memory: then the bundle's
  // config.json is not read (and need not exist). It is validated all the same.
  const oci::Spec* spec = nullptr;
  std::string console_socket;  // where the pty master is sent when process.terminal
  int console_socket_fd = -1;  // or an already connected socket (borrowed)
  // Without either, a terminal's pty master is returned here (when set) instead of refused.
  UniqueFd* terminal_master = nullptr;
  std::string pid_file;        // written with the init's pid once created
  bool no_pivot = false;       // MS_MOVE + chroot instead of pivot_root
};

struct ExecOptions {
  oci::Process process;        // cwd, env, user, caps... already merged with the defaults
  std::string console_socket;
  int console_socket_fd = -1;  // or an already connected socket (borrowed)
  std::string pid_file;
  pid_t* pid = nullptr;        // receives the process's host pid once it runs
  bool detach = false;
};

class Runtime {
 public:
  explicit Runtime(RuntimeOptions options);

  // Creates the container: namespaces, cgroup, rootfs; the process waits for start().
  // On failure nothing is left: no state directory, cgroup, mount or process.
  Result<oci::State> create(const std::string& id, const CreateOptions& options);
  // Lets a created container's process exec; returns once it has (or failed to).
  Result<void> start(const std::string& id);
  // create + start; with detach returns 0 at once, else waits and returns the exit code
  // (128+signal when killed) after forwarding signals, deleting the container unless keep.
  // A terminal without a console socket is proxied to the caller's stdin and stdout.
  Result<int> run(const std::string& id, const CreateOptions& options, bool detach, bool keep);

  Result<oci::State> state(const std::string& id) const;
  Result<std::vector<oci::State>> list() const;
  // Signals the init (or every process with all); the container must be created or running.
  Result<void> kill(const std::string& id, int signal, bool all);
  // Removes a stopped container (force: kills it first) and runs poststop hooks.
  Result<void> remove(const std::string& id, bool force);
  Result<void> pause(const std::string& id);
  Result<void> resume(const std::string& id);
  // Host pids of every process of the container.
  Result<std::vector<pid_t>> pids(const std::string& id) const;
  // Runs another process in a running container; detach returns 0 once it runs,
  // else its exit code.
  Result<int> exec(const std::string& id, const ExecOptions& options);
  // The config the container was created from (for exec defaults).
  Result<oci::Spec> config(const std::string& id) const;

 private:
  // The container's cgroup, opened once per Runtime (a `run` creates, starts and removes).
  Result<std::shared_ptr<CgroupManager>> cgroup(const std::string& id,
                                                const std::string& cgroups_path) const;
  void forget_cgroup(const std::string& id) const { cgroups_.erase(id); }

  RuntimeOptions options_;
  mutable std::map<std::string, std::shared_ptr<CgroupManager>> cgroups_;
};

// Parses "KILL", "SIGKILL", "9" (as runc's kill does).
Result<int> parse_signal(std::string_view text);

}  // namespace berth::runtime
