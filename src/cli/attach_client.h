// The client side of an attached container (`run` without -d, `start -a`, `attach`): the
// caller's terminal in raw mode for a tty, window size changes and signals passed to the
// container's monitor, and the wait for the exit code.
#pragma once

#include "base/error.h"
#include "engine/container_service.h"

namespace berth::cli {

// The streams of this process to attach: stdin only with interactive.
engine::AttachStreams own_streams(bool interactive);

// Waits for the container's exit code while forwarding SIGINT/SIGTERM/SIGHUP/SIGQUIT/SIGUSR*
// to it (sig-proxy) and, for a tty, keeping this terminal raw and its size in sync.
Result<int> follow_attached(engine::AttachSession& session, bool tty);

}  // namespace berth::cli
