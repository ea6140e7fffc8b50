// Spawning and waiting for host processes (hooks, helpers, tests).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace berth {

struct SpawnOptions {
  std::string path;                // executable; argv[0] when empty
  std::vector<std::string> argv;
  std::optional<std::vector<std::string>> env;  // inherit when unset
  int stdin_fd = -1;               // -1: /dev/null
  int stdout_fd = -1;              // -1: inherit
  int stderr_fd = -1;              // -1: inherit
  std::string cwd;
};

// Owns a child process: kills and reaps it on destruction unless waited for or released.
class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(pid_t pid, UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_.get(); }
  // Waits for exit; returns the wait status (WIFEXITED...). With a timeout, kills the child
  // with SIGKILL when it expires and returns a Unavailable error.
  Result<int> wait(std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  // Gives up ownership: the process is no longer killed or reaped.
  pid_t release();

 private:
  pid_t pid_ = -1;
  UniqueFd pidfd_;
};

Result<ChildProcess> spawn(const SpawnOptions& opts);

// Points this process's stdin, stdout and stderr at the given descriptors (-1: /dev/null) for
// as long as it lives, so that a child created meanwhile inherits them; restore() (or the
// destructor) puts the originals back.
class StdioRedirect {
 public:
  StdioRedirect(int in, int out, int err);
  ~StdioRedirect() { restore(); }
  StdioRedirect(const StdioRedirect&) = delete;
  StdioRedirect& operator=(const StdioRedirect&) = delete;
  void restore();

 private:
  int saved_[3] = {-1, -1, -1};
};

// Exit code in the shell's convention: the exit status, or 128 + signal.
int exit_code_from_status(int status);

// Starts argv in its own session, not a child of this process (so a long-lived caller never
// reaps it): stdin and stdout /dev/null, stderr appended to log_path, and keep[i] as its
// descriptor 3 + i (the only ones it inherits). For the monitor and the DNS server.
Result<void> spawn_detached(const std::vector<std::string>& argv, const std::vector<int>& keep,
                            const std::string& log_path);

// Runs argv to completion and returns its stdout; fails when it exits non-zero.
Result<std::string> run_capture(const std::vector<std::string>& argv);

}  // namespace berth
