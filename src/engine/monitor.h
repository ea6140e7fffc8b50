// The per-container monitor: `berth monitor ROOT RUNROOT ID`, spawned by
// ContainerService::start (or, by run, before the container is created: EarlyMonitor) with its
// control socket on fd 3 (monitor_protocol.h). It waits for the starting client's "go", then
// sets the container up in its own process and becomes the parent of the container's init. It
// outlives the CLI, copies the container's output into the json-file log and to attached
// clients, records the exit code and OOM kills, runs healthchecks, applies the restart policy
// with Docker's backoff, and removes a --rm container. It holds <dir>/monitor.lock exclusively
// for its whole life: commands that find the lock free know it is gone.
//
// To stay small (about a megabyte resident) it gives back what the setup allocated and, once
// a second at most, the pages of the berth binary it touched (resident_pages.h); later writes
// to berth.db (health results, the teardown of a container that may restart) happen in
// short-lived forked children.
#pragma once

#include <string>

#include "engine/engine_options.h"

namespace berth::engine {

// Runs the monitor until the container is stopped for good; returns the process exit code.
int run_monitor(const EngineOptions& options, const std::string& id, int control_fd);

}  // namespace berth::engine
