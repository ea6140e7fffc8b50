// The container's PID 1 (`/run/berth-init`, on by default, --init=false turns it off): starts
// the command as its only child, forwards every catchable signal to it, reaps every zombie
// (orphans re-parented to it included) and exits with the command's status, so a shell-form
// CMD stops on SIGTERM at once and zombies never pile up.
#pragma once

namespace berth::init {

// argv: the command and its arguments, null-terminated (argv[0] looked up in PATH).
// Returns the exit code for the init: the command's exit status, 128+N when signal N killed
// it, 126 when it cannot be executed, 127 when it is not found. Outside PID 1 the caller
// becomes a child subreaper so that orphans are still reaped.
int run_reaper_init(char** argv);

}  // namespace berth::init
