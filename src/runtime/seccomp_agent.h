// SCMP_ACT_NOTIFY: the runtime hands the seccomp listener fd to the agent listening at
// linux.seccomp.listenerPath, with the containerProcessState JSON of the runtime spec 1.1.
// The socket is connected before clone (the path is on the host); the child, which creates the
// listener just before execve, sends it without allocating.
#pragma once

#include <string>

#include "base/error.h"
#include "base/unique_fd.h"
#include "oci/runtime_spec.h"
#include "runtime/child_error.h"

namespace berth::runtime {

struct SeccompAgent {
  UniqueFd socket;
  std::string state_fmt;  // containerProcessState with "%d" for the process's host pid
};

// Connects to seccomp.listenerPath; state is the container's state to embed (a pid of 0 there
// stands for the process itself, the container's init).
Result<SeccompAgent> connect_seccomp_agent(const oci::Seccomp& seccomp, const oci::State& state);

// Child side: sends the listener fd and the state for host_pid, then closes the fd (the agent
// owns it from here). -1 with err filled when the agent cannot be reached.
int send_to_seccomp_agent(const SeccompAgent& agent, int listener_fd, int host_pid,
                          ChildError* err);

// What exec_prepared_process's listener handler needs: the agent and the process's host pid.
struct AgentHandoff {
  const SeccompAgent* agent;
  int host_pid;
};

// A ListenerHandler (process_setup.h) for ctx = AgentHandoff*: sends the fd to the agent.
int hand_listener_to_agent(int listener_fd, void* ctx, ChildError* err);

// A JSON text with every occurrence of the number sentinel replaced by "%1$d" and every other
// '%' escaped: a printf format the child fills in with a pid.
std::string pid_format(const std::string& json, int sentinel);

}  // namespace berth::runtime
