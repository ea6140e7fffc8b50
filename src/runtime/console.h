// The container's terminal: a pty opened inside the container's devpts whose master is sent to
// the --console-socket receiver by SCM_RIGHTS (as runc does), and whose slave becomes the
// process's stdio and controlling terminal.
#pragma once

#include <string>

#include "base/error.h"
#include "base/unique_fd.h"
#include "oci/runtime_spec.h"
#include "runtime/child_error.h"

namespace berth::runtime {

// Parent: connects to the console socket path given on the command line.
Result<UniqueFd> connect_console_socket(const std::string& path);

// Child, no allocation: opens /dev/ptmx, sends the master over console_socket, makes the slave
// stdin/stdout/stderr and the controlling terminal, applies size when given. The container's
// init also gets the slave bind-mounted on /dev/console, as the runtime spec asks.
int setup_console(int console_socket, const oci::ConsoleSize* size, bool mount_dev_console,
                  ChildError* err);

// Sends fd over a connected unix socket with a short name payload (runc sends the pty name).
int send_fd(int socket, int fd, const char* name);
// Receives one fd sent with send_fd; -errno on failure.
int recv_fd(int socket);

}  // namespace berth::runtime
