#include "runtime/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/syscalls.h"

namespace berth::runtime {

std::vector<PreparedHook> prepare_hooks(const std::vector<oci::Hook>& hooks) {
  std::vector<PreparedHook> out;
  for (const auto& h : hooks) {
    PreparedHook p;
    p.path = h.path;
    p.argv.assign(h.args.empty() ? std::vector<std::string>{h.path} : h.args);
    p.envp.assign(h.env);
    p.timeout_seconds = h.timeout.value_or(0);
    out.push_back(std::move(p));
  }
  return out;
}

int run_hook_in_child(const PreparedHook& hook, const char* phase, int index,
                      const char* state_json, ChildError* err) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return child_fail(err, errno, "hooks.%s[%d]: pipe", phase, index);
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return child_fail(err, e, "hooks.%s[%d]: fork", phase, index);
  }
  if (pid == 0) {
    ::dup2(pipefd[0], 0);
    sys::reset_signals();
    ::execve(hook.path.c_str(), hook.argv.get(), hook.envp.get());
    ::_exit(127);
  }
  ::close(pipefd[0]);
  size_t len = std::strlen(state_json);
  // A hook that ignores stdin must not kill us: EPIPE is fine. The old disposition comes back
  // so the container's process does not inherit an ignored SIGPIPE.
  struct sigaction ignore{}, old{};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &old);
  (void)!::write(pipefd[1], state_json, len);
  ::close(pipefd[1]);
  ::sigaction(SIGPIPE, &old, nullptr);

  int pidfd = sys::pidfd_open(pid);
  if (hook.timeout_seconds > 0 && pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    int n;
    do n = ::poll(&p, 1, hook.timeout_seconds * 1000);
    while (n < 0 && errno == EINTR);
    if (n == 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      ::close(pidfd);
      return child_fail(err, ETIMEDOUT, "hooks.%s[%d] %s: timed out after %d s", phase, index,
                        hook.path.c_str(), hook.timeout_seconds);
    }
  }
  if (pidfd >= 0) ::close(pidfd);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return child_fail(err, errno, "hooks.%s[%d]: waitpid", phase, index);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    return child_fail(err, 0, "hooks.%s[%d] %s: could not be executed (exit 127)", phase, index, hook.path.c_str());
  return child_fail(err, 0, "hooks.%s[%d] %s: exited with %s %d", phase, index, hook.path.c_str(),
                    WIFEXITED(status) ? "status" : "signal",
                    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

Result<void> run_hooks(const std::vector<PreparedHook>& hooks, std::string_view phase,
                       const std::string& state_json) {
  std::string name(phase);
  for (size_t i = 0; i < hooks.size(); ++i) {
    ChildError err;
    if (run_hook_in_child(hooks[i], name.c_str(), static_cast<int>(i), state_json.c_str(), &err) < 0)
      return Err(SysError(err.err, err.text));
  }
  return {};
}

}  // namespace berth::runtime
