#include "runtime/console.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/unix_socket.h"

namespace berth::runtime {

Result<UniqueFd> connect_console_socket(const std::string& path) {
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return FailErrno(errno, "console socket: socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path))
    return Fail(ErrorCode::InvalidArgument, "--console-socket {}: path too long", path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    return FailErrno(errno, "--console-socket: connect {}", path);
  return sock;
}

int send_fd(int socket, int fd, const char* name) {
  ssize_t n = send_with_fd(socket, name, std::strlen(name), fd);
  return n < 0 ? static_cast<int>(n) : 0;
}

int recv_fd(int socket) {
  char name[256];
  int fd = -1;
  ssize_t n = recv_with_fd(socket, name, sizeof(name), &fd);
  if (n < 0) return static_cast<int>(n);
  return fd >= 0 ? fd : -EBADMSG;
}

int setup_console(int console_socket, const oci::ConsoleSize* size, bool mount_dev_console,
                  ChildError* err) {
  int master = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return child_fail(err, errno, "console: open /dev/ptmx");
  int unlock = 0;
  if (::ioctl(master, TIOCSPTLCK, &unlock) != 0) return child_fail(err, errno, "console: unlock pty");
  int slave = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (slave < 0) return child_fail(err, errno, "console: open pty peer");
  if (size && size->height && size->width) {
    winsize ws{};
    ws.ws_row = static_cast<unsigned short>(size->height);
    ws.ws_col = static_cast<unsigned short>(size->width);
    ::ioctl(master, TIOCSWINSZ, &ws);
  }
  char name[64] = "/dev/pts/?";
  unsigned ptn = 0;
  if (::ioctl(master, TIOCGPTN, &ptn) == 0) std::snprintf(name, sizeof(name), "/dev/pts/%u", ptn);
  if (mount_dev_console) {
    int fd = ::open("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return child_fail(err, errno, "console: create /dev/console");
    ::close(fd);
    if (::mount(name, "/dev/console", nullptr, MS_BIND, nullptr) != 0)
      return child_fail(err, errno, "console: bind %s on /dev/console", name);
  }
  int r = send_fd(console_socket, master, name);
  if (r < 0) return child_fail(err, -r, "console: send pty master over the console socket");
  ::close(master);
  if (::setsid() < 0 && errno != EPERM) return child_fail(err, errno, "console: setsid");
  if (::ioctl(slave, TIOCSCTTY, 0) != 0) return child_fail(err, errno, "console: set controlling terminal");
  for (int fd = 0; fd < 3; ++fd) {
    if (::dup2(slave, fd) < 0) return child_fail(err, errno, "console: dup2 onto %d", fd);
  }
  if (slave > 2) ::close(slave);
  return 0;
}

}  // namespace berth::runtime
