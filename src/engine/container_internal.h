// What the container service and the monitor share: where a container's files live, its
// monitor lock, and small helpers. Not for other callers.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"
#include "engine/container.h"
#include "engine/engine_options.h"
#include "runtime/runtime.h"

namespace berth::store {
class Database;
class ContainerRecords;
struct ContainerRecord;
}  // namespace berth::store

namespace berth::engine {

// A container's paths under the root and the runroot.
struct ContainerPaths {
  ContainerPaths(const EngineOptions& options, const std::string& id);
  std::string dir;           // <root>/containers/<id>: logs, hosts, monitor.sock
  std::string rootfs;        // <dir>/rootfs, where the snapshot is mounted while it runs
  std::string lock;          // <dir>/monitor.lock, held exclusively by the monitor
  std::string run_dir;       // <runroot>/containers/<id>
  std::string secrets;       // <run_dir>/secrets, a tmpfs holding the secret files
  std::string runtime_root;  // <runroot>/runtime, the OCI runtime's state
  std::string seccomp_cache;  // <runroot>/seccomp, compiled seccomp programs

  // The OCI runtime over runtime_root.
  runtime::Runtime runtime() const {
    return runtime::Runtime(runtime::RuntimeOptions{runtime_root, "/sys/fs/cgroup", seccomp_cache});
  }
};

// The snapshot a container's writable layer lives in.
std::string snapshot_key(std::string_view id);
// Now, RFC 3339 with nanoseconds (Docker's form for Created, StartedAt, FinishedAt).
std::string now_rfc3339_nano();
// flock(operation | LOCK_NB) on the lock file (created when missing); nullopt when another
// process holds it in a conflicting mode.
std::optional<UniqueFd> try_lock_monitor(const std::string& lock_path, int operation);
// The container a row of the containers table holds.
Result<Container> container_from_record(const store::ContainerRecord& record);
// The container with this exact ID from its record; NotFound "No such container: ID".
Result<Container> load_container(store::ContainerRecords& records, const std::string& id);
// Applies change to the container's state in one transaction; returns the new state.
Result<ContainerState> update_container_state(store::Database& db, store::ContainerRecords& records,
                                              const std::string& id,
                                              const std::function<void(ContainerState&)>& change);
// Unmounts the rootfs and the secrets tmpfs; not mounted is fine.
Result<void> unmount_container_files(const ContainerPaths& paths);

}  // namespace berth::engine
