#include "runtime/seccomp_agent.h"

#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/unix_socket.h"
#include "runtime/runtime_internal.h"

namespace berth::runtime {
namespace {

constexpr int kPidSentinel = 987654321;

}  // namespace

std::string pid_format(const std::string& json, int sentinel) {
  std::string escaped;
  for (char c : json) {
    if (c == '%') escaped += '%';
    escaped += c;
  }
  const std::string needle = std::to_string(sentinel);
  for (size_t pos = escaped.find(needle); pos != std::string::npos; pos = escaped.find(needle, pos + 4))
    escaped.replace(pos, needle.size(), "%1$d");
  return escaped;
}

Result<SeccompAgent> connect_seccomp_agent(const oci::Seccomp& seccomp, const oci::State& state) {
  SeccompAgent agent;
  oci::State embedded = state;
  if (embedded.pid == 0) embedded.pid = kPidSentinel;  // the process is the container's init
  agent.socket = TRY_CTX("linux.seccomp.listenerPath", connect_unix(seccomp.listener_path));
  nlohmann::json j = {
      {"ociVersion", std::string(oci::kSpecVersion)},
      {"fds", {"seccompFd"}},
      {"pid", kPidSentinel},
      {"metadata", seccomp.listener_metadata},
      {"state", nlohmann::json::parse(oci::state_to_json(embedded, false))},
  };
  agent.state_fmt = pid_format(j.dump(), kPidSentinel);
  return agent;
}

int send_to_seccomp_agent(const SeccompAgent& agent, int listener_fd, int host_pid,
                          ChildError* err) {
  char state[16384];
  int n = std::snprintf(state, sizeof(state), agent.state_fmt.c_str(), host_pid);
  if (n < 0 || static_cast<size_t>(n) >= sizeof(state))
    return child_fail(err, E2BIG, "linux.seccomp.listenerPath: state too large");
  ssize_t sent = send_with_fd(agent.socket.get(), state, static_cast<size_t>(n), listener_fd);
  ::close(listener_fd);
  if (sent < 0) return child_fail(err, static_cast<int>(-sent), "linux.seccomp.listenerPath: send the seccomp fd to the agent");
  return 0;
}

int hand_listener_to_agent(int listener_fd, void* ctx, ChildError* err) {
  auto* handoff = static_cast<AgentHandoff*>(ctx);
  return send_to_seccomp_agent(*handoff->agent, listener_fd, handoff->host_pid, err);
}

}  // namespace berth::runtime
