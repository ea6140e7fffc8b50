// The per-container monitor: `berth monitor ROOT RUNROOT ID`, spawned by
// ContainerService::start with its control socket on fd 3 (monitor_protocol.h). It outlives
// the CLI, is the parent (subreaper) of the container's init, copies the container's output
// into the json-file log and to attached clients, records the exit code and OOM kills, runs
// healthchecks, applies the restart policy with Docker's backoff, and removes a --rm
// container. It holds <dir>/monitor.lock exclusively for its whole life: commands that find
// the lock free know it is gone.
//
// To stay small (a few hundred KB resident) the monitor does no heavy work itself: setting
// the container up (mounts, secrets, the OCI spec, the runtime) and every write to berth.db
// happen in short-lived forked children, so their pages never count against it.
#pragma once

#include <string>

#include "engine/engine_options.h"

namespace berth::engine {

// Runs the monitor until the container is stopped for good; returns the process exit code.
int run_monitor(const EngineOptions& options, const std::string& id, int control_fd);

}  // namespace berth::engine
