// A foreground `run` of a container with process.terminal and no --console-socket: the
// runtime keeps the pty master itself and copies between it and its own stdin/stdout, with the
// caller's terminal in raw mode and its window size passed on (as runc does).
#pragma once

#include <sys/types.h>

#include "base/error.h"

namespace berth::runtime {

// Copies until the container's side of the pty closes, then restores the caller's terminal.
// Returns once the master reports EOF/EIO; the caller then reaps the container.
Result<void> proxy_terminal(int master);

// Copies the caller's window size (from stdin, when a terminal) to the pty master.
void copy_window_size(int master);

}  // namespace berth::runtime
