#include "cli/attach_client.h"

#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <optional>

namespace berth::cli {
namespace {

std::atomic<int> g_session_fd{-1};

// "signal N" sent from a signal handler: sendmsg is async-signal-safe, formatting is done
// by hand.
void forward(int sig) {
  int fd = g_session_fd.load();
  if (fd < 0) return;
  char msg[16] = "signal ";
  size_t n = 7;
  if (sig >= 10) msg[n++] = static_cast<char>('0' + sig / 10);
  msg[n++] = static_cast<char>('0' + sig % 10);
  (void)::send(fd, msg, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

void resize(int) {
  int fd = g_session_fd.load();
  winsize ws{};
  if (fd < 0 || ::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) != 0) return;
  char msg[32] = "resize ";
  size_t n = 7;
  auto put = [&](unsigned v) {
    char digits[8];
    int k = 0;
    do digits[k++] = static_cast<char>('0' + v % 10);
    while ((v /= 10) != 0 && k < 8);
    while (k > 0) msg[n++] = digits[--k];
  };
  put(ws.ws_row);
  msg[n++] = ' ';
  put(ws.ws_col);
  (void)::send(fd, msg, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

// The caller's terminal in raw mode for as long as it lives.
class RawTerminal {
 public:
  RawTerminal() {
    if (!::isatty(STDIN_FILENO) || ::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    raw.c_oflag = saved_.c_oflag;  // keep output processing: the container's pty does it too
    if (::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0) active_ = true;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

}  // namespace

engine::AttachStreams own_streams(bool interactive) {
  return engine::AttachStreams{interactive ? STDIN_FILENO : -1, STDOUT_FILENO, STDERR_FILENO};
}

Result<int> follow_attached(engine::AttachSession& session, bool tty) {
  g_session_fd = session.fd();
  struct sigaction sa{};
  sa.sa_flags = SA_RESTART;
  sa.sa_handler = forward;
  // With a tty, ^C reaches the container through the terminal itself.
  if (!tty) {
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) ::sigaction(sig, &sa, nullptr);
  } else {
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGHUP, &sa, nullptr);
  }
  std::optional<RawTerminal> raw;
  if (tty) {
    raw.emplace();
    sa.sa_handler = resize;
    ::sigaction(SIGWINCH, &sa, nullptr);
    resize(SIGWINCH);
  }
  auto code = session.wait_exit();
  g_session_fd = -1;
  return code;
}

}  // namespace berth::cli
