#include "base/process.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/fs.h"
#include "base/strings.h"
#include "base/syscalls.h"

extern char** environ;

namespace berth {

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), pidfd_(std::move(other.pidfd_)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    this->~ChildProcess();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::move(other.pidfd_);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

pid_t ChildProcess::release() {
  pidfd_.reset();
  return std::exchange(pid_, -1);
}

Result<int> ChildProcess::wait(std::optional<std::chrono::milliseconds> timeout) {
  if (pid_ <= 0) return Fail(ErrorCode::Internal, "wait: no process");
  if (timeout && pidfd_) {
    pollfd p{pidfd_.get(), POLLIN, 0};
    int n;
    do n = ::poll(&p, 1, static_cast<int>(timeout->count()));
    while (n < 0 && errno == EINTR);
    if (n == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
      return Fail(ErrorCode::Unavailable, "timed out after {} ms", timeout->count());
    }
  }
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) return FailErrno(errno, "waitpid {}", pid_);
  }
  pid_ = -1;
  return status;
}

Result<ChildProcess> spawn(const SpawnOptions& opts) {
  if (opts.argv.empty()) return Fail(ErrorCode::InvalidArgument, "spawn: empty argv");
  std::vector<char*> argv;
  for (auto& a : opts.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  if (opts.env) {
    for (auto& e : *opts.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }
  const char* path = opts.path.empty() ? opts.argv[0].c_str() : opts.path.c_str();
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return FailErrno(errno, "pipe");
  UniqueFd err_r(err_pipe[0]), err_w(err_pipe[1]);

  pid_t pid = ::fork();
  if (pid < 0) return FailErrno(errno, "fork");
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    auto setup = [&](int from, int to, bool null_default) {
      int src = from >= 0 ? from : (null_default ? devnull : -1);
      if (src >= 0 && src != to) ::dup2(src, to);
      else if (src == to) ::fcntl(to, F_SETFD, 0);
    };
    setup(opts.stdin_fd, 0, true);
    setup(opts.stdout_fd, 1, false);
    setup(opts.stderr_fd, 2, false);
    if (!opts.cwd.empty() && ::chdir(opts.cwd.c_str()) != 0) {
      int e = errno;
      (void)!::write(err_w.get(), &e, sizeof(e));
      ::_exit(127);
    }
    sys::reset_signals();
    if (path[0] == '/' || std::strchr(path, '/')) {
      ::execve(path, argv.data(), opts.env ? envp.data() : environ);
    } else {
      if (opts.env) ::execvpe(path, argv.data(), envp.data());
      else ::execvp(path, argv.data());
    }
    int e = errno;
    (void)!::write(err_w.get(), &e, sizeof(e));
    ::_exit(127);
  }
  err_w.reset();
  UniqueFd pidfd(sys::pidfd_open(pid));
  ChildProcess child(pid, std::move(pidfd));
  int child_errno = 0;
  ssize_t n;
  do n = ::read(err_r.get(), &child_errno, sizeof(child_errno));
  while (n < 0 && errno == EINTR);
  if (n == sizeof(child_errno)) {
    (void)child.wait();
    return FailErrno(child_errno, "exec {}", path);
  }
  return child;
}

int exit_code_from_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

Result<void> spawn_detached(const std::vector<std::string>& args, const std::vector<int>& keep,
                            const std::string& log_path) {
  UniqueFd log_fd(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!log_fd) return FailErrno(errno, "open {}", log_path);
  UniqueFd null_fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null_fd) return FailErrno(errno, "open /dev/null");
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Copies above every target, so that dup2 onto 3 + i never clobbers a source (and makes a
  // copy without close-on-exec); made here, as the children below may not allocate.
  int base = 3 + static_cast<int>(keep.size()) + 10;
  std::vector<UniqueFd> high;
  for (int fd : keep) {
    high.emplace_back(::fcntl(fd, F_DUPFD_CLOEXEC, base));
    if (!high.back()) return FailErrno(errno, "spawn {}: dup", args.at(0));
  }
  // vfork twice (the middle process starts a session and exits at once): no copy of this
  // process's page tables, which on these VMs costs a millisecond or more per fork. Both
  // children only make syscalls before exec or _exit.
  pid_t pid = ::vfork();
  if (pid < 0) return FailErrno(errno, "fork {}", args.at(0));
  if (pid == 0) {
    ::setsid();
    pid_t grandchild = ::vfork();
    if (grandchild != 0) ::_exit(grandchild < 0 ? 1 : 0);
    if (::dup2(null_fd.get(), 0) < 0 || ::dup2(null_fd.get(), 1) < 0 || ::dup2(log_fd.get(), 2) < 0) ::_exit(127);
    for (size_t i = 0; i < high.size(); ++i) {
      if (::dup2(high[i].get(), 3 + static_cast<int>(i)) < 0) ::_exit(127);
    }
    ::close_range(3 + keep.size(), ~0U, 0);
    sys::reset_signals();
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return Fail(ErrorCode::Internal, "fork {}", args.at(0));
  return {};
}

Result<std::string> run_capture(const std::vector<std::string>& argv) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return FailErrno(errno, "pipe");
  UniqueFd r(p[0]), w(p[1]);
  SpawnOptions opts;
  opts.argv = argv;
  opts.stdout_fd = w.get();
  ChildProcess child = TRY(spawn(opts));
  w.reset();
  std::string out = TRY(read_all(r.get()));
  int status = TRY(child.wait());
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return Fail(ErrorCode::Internal, "{} exited with code {}", argv[0], exit_code_from_status(status));
  return out;
}

StdioRedirect::StdioRedirect(int in, int out, int err) {
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  const int wanted[3] = {in, out, err};
  for (int i = 0; i < 3; ++i) {
    saved_[i] = ::fcntl(i, F_DUPFD_CLOEXEC, 3);
    ::dup2(wanted[i] >= 0 ? wanted[i] : null_fd, i);
  }
  if (null_fd >= 0) ::close(null_fd);
}

void StdioRedirect::restore() {
  for (int i = 0; i < 3; ++i) {
    if (saved_[i] < 0) continue;
    ::dup2(saved_[i], i);
    ::close(saved_[i]);
    saved_[i] = -1;
  }
}

}  // namespace berth
