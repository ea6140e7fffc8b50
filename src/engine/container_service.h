// The container lifecycle as Docker's verbs see it: create, start, stop, kill, restart, rm,
// pause, rename, wait, exec, prune, and the reads (list, inspect, logs path, top). There is
// no daemon: start spawns a monitor (`berth monitor`, monitor.h) per container that is the
// parent of its init, and every other verb works on the records in berth.db, the runtime's
// state and the monitor's lock and socket. A monitor that died (kill -9, power loss) is
// noticed by the next command that reads the container, which cleans up and records it.
//
// The CLI, compose, deploy and the Docker API all call this; it prints nothing.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "engine/container.h"
#include "engine/engine_options.h"

namespace berth::store {
class Database;
class ContainerRecords;
}  // namespace berth::store

namespace berth::engine {

class ImageService;
class NetworkService;
class VolumeStore;

// The streams of a client attached to a container (run without -d, start -a, attach).
// Borrowed descriptors, -1 for a stream not attached.
struct AttachStreams {
  int in = -1;
  int out = -1;
  int err = -1;
};

// An attached client's session: receives the exit code, forwards signals and resizes.
class AttachSession {
 public:
  explicit AttachSession(UniqueFd control) : control_(std::move(control)) {}
  // Blocks until the container exits; its exit code (128+N when killed by signal N).
  // Unavailable when the monitor went away without saying.
  Result<int> wait_exit();
  // Asks the monitor to signal the container's init (sig-proxy).
  Result<void> signal(int sig);
  // Sets the container's terminal size.
  Result<void> resize(unsigned rows, unsigned cols);
  int fd() const { return control_.get(); }

 private:
  UniqueFd control_;
};

struct ListFilter {
  bool all = false;  // -a: stopped containers too
  std::vector<std::string> filters;  // Docker's --filter values: name=, id=, label=, status=,
                                      // exited=, ancestor=, health=, volume=, before=, since=
  int last = -1;  // -n: the last N created (-1 all)
};

struct PruneResult {
  std::vector<std::string> deleted;
  int64_t reclaimed = 0;
};

struct ExecRequest {
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // KEY=value added to the container's
  std::optional<std::string> user;
  std::string workdir;
  bool tty = false, interactive = false, detach = false, privileged = false;
};

// The process exit code in Docker's convention for a container or exec that could not run:
// 126 when the command cannot be executed, 127 when it is not found; else 125.
int exit_code_for_start_error(const Error& error);

// A container's monitor spawned before the container exists, so that its exec and start-up
// (~4 ms on these VMs) overlap the work of create: run spawns it, gives create its id and
// start the monitor. Unused, it exits when this is destroyed (its control socket closes).
struct EarlyMonitor {
  std::string id;    // the id create gives the container
  UniqueFd control;  // our end of the monitor's control socket
};

class ContainerService {
 public:
  // Spawns the monitor of a container still to be created (see EarlyMonitor).
  static Result<EarlyMonitor> spawn_early_monitor(const EngineOptions& options,
                                                  std::string self = "");
  // Opens the stores under options.root, over one connection to berth.db (db, when given).
  // self is the berth binary (for the monitor); "" means /proc/self/exe resolved now.
  static Result<std::unique_ptr<ContainerService>> open(const EngineOptions& options,
                                                         std::string self = "",
                                                         std::shared_ptr<store::Database> db = nullptr);
  ~ContainerService();

  ImageService& images() { return *images_; }
  VolumeStore& volumes() { return *volumes_; }
  NetworkService& networks() { return *networks_; }

  // Creates a container from flags; the image must be stored (NotFound "No such image: X"
  // otherwise, which the CLI answers with a pull). Nothing is left behind on failure:
  // no record, snapshot, directory or volume made for it.
  // With early, the container gets early's id.
  Result<Container> create(const RunOptions& options, const EarlyMonitor* early = nullptr);
  // Starts a created or exited container: spawns its monitor and returns once the
  // container's process runs, or with the reason it could not (exit_code_for_start_error).
  // With attach, the monitor copies the container's output to those streams from its first
  // byte; the session then reports the exit. A running container is left alone. early: the
  // monitor spawned for this container before create, used instead of a new one.
  Result<std::optional<AttachSession>> start(const std::string& ref,
                                             const AttachStreams* attach = nullptr,
                                             EarlyMonitor* early = nullptr);
  // Attaches to a running container's streams.
  Result<AttachSession> attach(const std::string& ref, const AttachStreams& streams);
  // Sends the stop signal (signal, else --stop-signal, the image's STOPSIGNAL or SIGTERM),
  // waits up to timeout (default: --stop-timeout or 10 s; -1 forever), then kills.
  Result<void> stop(const std::string& ref, std::optional<int> timeout_seconds = std::nullopt,
                    const std::string& signal = "");
  // Sends a signal (name or number, "" = SIGKILL) to the init; the container must run.
  Result<void> kill(const std::string& ref, const std::string& signal);
  Result<void> restart(const std::string& ref, std::optional<int> timeout_seconds = std::nullopt);
  // Removes a container; a running one only with force (killed first). remove_volumes also
  // removes its anonymous volumes.
  Result<void> remove(const std::string& ref, bool force, bool remove_volumes);
  Result<void> pause(const std::string& ref);
  Result<void> unpause(const std::string& ref);
  Result<void> rename(const std::string& ref, const std::string& new_name);
  // Blocks until the container is not running; returns its exit code.
  Result<int> wait(const std::string& ref);
  // Runs a process in a running container; the exit code (0 when detached).
  Result<int> exec(const std::string& ref, const ExecRequest& request, const AttachStreams& streams);
  // Connects a container to a network (a.network: name or ID); a running one at once.
  Result<void> connect(const std::string& ref, NetworkAttachment a);
  // Disconnects it; force ignores a container that no longer exists.
  Result<void> disconnect(const std::string& ref, const std::string& network, bool force);
  // Removes every stopped container (and sweeps what crashed commands left).
  Result<PruneResult> prune();
  // Removes a stopped container's record, filesystem and files; the caller holds its monitor
  // lock (rm, prune, and the monitor of a --rm container). forget, then remove_files.
  Result<void> discard(const Container& c, bool remove_volumes);
  // discard's first half: the record and (remove_volumes) its anonymous volumes. From here on
  // no command sees the container; what is left is files a crash leaves to sweep_orphans.
  Result<void> forget(const Container& c, bool remove_volumes);
  // discard's second half, for a container without a record: the runtime's state and cgroup,
  // the mounts, the writable layer and the directory.
  Result<void> remove_files(const std::string& id);

  // Resolves a full ID, a name (with or without "/"), or a unique ID prefix.
  // NotFound: "No such container: X".
  Result<Container> get(const std::string& ref);
  Result<std::vector<Container>> list(const ListFilter& filter);
  // Host pids of the container's processes (for top).
  Result<std::vector<pid_t>> pids(const std::string& ref);
  // A directory showing the container's filesystem (with its volumes while it runs); the
  // mount is undone when the returned guard is released.
  Result<std::pair<std::string, std::function<void()>>> filesystem(const std::string& ref);

  // Where things live.
  std::string container_dir(const std::string& id) const;
  std::string log_path(const std::string& id) const;
  // True while the container's monitor holds its lock.
  bool monitor_alive(const std::string& id) const;
  const EngineOptions& options() const { return options_; }

 private:
  ContainerService(EngineOptions options, std::string self);
  // Rewrites a container's state in one transaction, from its current value.
  Result<ContainerState> update_state(const std::string& id, const std::function<void(ContainerState&)>& change);
  // Records the end of a container whose monitor died, and undoes what it left.
  Result<void> reconcile(Container& c);
  Result<Container> load(const std::string& id);
  Result<void> wait_monitor_exit(const std::string& id, std::optional<std::chrono::milliseconds> timeout);
  void sweep_orphans();
  // Resolves --network to the network's ID (or the other container's, for container:X).
  Result<void> resolve_networks(NetworkOptions& net);

  EngineOptions options_;
  std::string self_;
  std::unique_ptr<ImageService> images_;
  std::unique_ptr<VolumeStore> volumes_;
  std::shared_ptr<store::Database> db_;
  std::unique_ptr<store::ContainerRecords> records_;
  std::unique_ptr<NetworkService> networks_;
};

}  // namespace berth::engine
