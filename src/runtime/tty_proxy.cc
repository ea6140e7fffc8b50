#include "runtime/tty_proxy.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

#include "base/fs.h"

namespace berth::runtime {

void copy_window_size(int master) {
  winsize ws{};
  if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) ::ioctl(master, TIOCSWINSZ, &ws);
}

Result<void> proxy_terminal(int master) {
  termios saved{};
  bool raw = ::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (raw) {
    termios t = saved;
    ::cfmakeraw(&t);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &t);
  }
  copy_window_size(master);
  char buf[16384];
  bool stdin_open = true;
  Result<void> result;
  while (true) {
    pollfd fds[2] = {{master, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    int n = ::poll(fds, stdin_open ? 2 : 1, -1);
    if (n < 0) {
      if (errno == EINTR) {  // SIGWINCH and forwarded signals
        copy_window_size(master);
        continue;
      }
      result = FailErrno(errno, "poll the container's terminal");
      break;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = ::read(master, buf, sizeof(buf));
      if (r <= 0) break;  // EIO: every slave fd is closed, the container has exited
      if (auto w = write_all(STDOUT_FILENO, std::string_view(buf, static_cast<size_t>(r))); !w) {
        result = w;
        break;
      }
    }
    if (stdin_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t r = ::read(STDIN_FILENO, buf, sizeof(buf));
      if (r <= 0) {
        stdin_open = false;
        char eot = 4;  // end of input reaches the container as ^D on its terminal
        (void)!::write(master, &eot, 1);
      } else if (auto w = write_all(master, std::string_view(buf, static_cast<size_t>(r))); !w) {
        result = w;
        break;
      }
    }
  }
  if (raw) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  return result;
}

}  // namespace berth::runtime
