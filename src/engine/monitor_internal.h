// The monitor's two halves: the small event loop (monitor.cc) and the work it forks off
// (monitor_setup.cc): setting the container up, recording state, tearing it down.
#pragma once

#include <sys/types.h>

#include <cstdint>
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
struct ContainerRecord;
}  // namespace berth::store

namespace berth::engine {
class ContainerService;
}  // namespace berth::engine

namespace berth::engine {

// What the setup tells the loop about the container it started.
struct MonitorPlan {
  pid_t pid = 0;
  bool tty = false;
  bool interactive = false;
  bool auto_remove = false;
  RestartPolicy restart;
  int64_t log_max_size = 0;
  int log_max_file = 1;
  std::vector<std::string> health_argv;  // empty: no healthcheck
  int64_t health_interval = 0, health_timeout = 0, health_start_period = 0, health_start_interval = 0;
  int health_retries = 0;
  std::string oom_events;  // the cgroup file whose "oom_kill N" counts OOM kills
  int64_t oom_before = 0;
};

// The container's record as start read it, sent to the monitor so that the first setup need
// not read berth.db before the container runs: its fields one a line (none holds a newline:
// names and IDs are validated, the JSON is compact).
std::string encode_record(const store::ContainerRecord& record);
Result<store::ContainerRecord> decode_record(std::string_view text);

// The streams the container gets: pipe ends made by the loop (or -1).
struct ContainerStdio {
  int in = -1;   // read end of the stdin pipe (used with -i, else /dev/null)
  int out = -1;  // write ends of the output pipes
  int err = -1;
};

// In the monitor: mounts the filesystem and secrets, builds the OCI spec, creates and starts
// the container with stdio, records it as running (restart_count given), and returns the
// plan. terminal receives the pty master for a tty container. On failure everything it made
// is undone and the container's state records the error.
// record: the container as the client sent it (encode_record), or null to read berth.db.
// db: the berth.db connection to use, opened here when null and left open for the caller.
Result<MonitorPlan> setup_container(const EngineOptions& options, const std::string& id,
                                    const ContainerStdio& stdio, int restart_count,
                                    UniqueFd* terminal, const std::string* record,
                                    std::shared_ptr<store::Database>& db);

// In a writer child: applies change to the container's state in one transaction.
Result<void> write_container_state(const EngineOptions& options, const std::string& id,
                                   const std::function<void(ContainerState&)>& change);

// After the container's end: removes the runtime's container (its cgroup) and the mounts.
void release_container_files(const EngineOptions& options, const std::string& id);

// After the container's end: records the exit (exit code, OOM), leaves its networks, and
// decides whether the restart policy restarts it: true to restart.
Result<bool> teardown_container(const EngineOptions& options, store::Database& db, const std::string& id,
                                int exit_code, bool oom_killed, bool stop_requested, int restart_count);

// After a --rm container's end (and teardown_container): removes its record and anonymous
// volumes, and returns the service whose remove_files removes the rest.
Result<std::unique_ptr<ContainerService>> forget_container(const EngineOptions& options,
                                                           std::shared_ptr<store::Database> db, const std::string& id);

// Reads "oom_kill N" from a cgroup's memory.events (v2) or memory.oom_control (v1); 0 if none.
int64_t read_oom_kills(const std::string& path);

}  // namespace berth::engine
