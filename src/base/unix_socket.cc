#include "base/unix_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/fs.h"

namespace berth {

ssize_t send_with_fd(int sock, const void* data, size_t len, int fd) {
  iovec iov{const_cast<void*>(data), len};
  msghdr hdr{};
  hdr.msg_iov = &iov;
  hdr.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    hdr.msg_control = control;
    hdr.msg_controllen = sizeof(control);
    cmsghdr* c = CMSG_FIRSTHDR(&hdr);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  ssize_t n;
  do n = ::sendmsg(sock, &hdr, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : n;
}

ssize_t recv_with_fd(int sock, void* data, size_t len, int* fd) {
  iovec iov{data, len};
  msghdr hdr{};
  hdr.msg_iov = &iov;
  hdr.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  hdr.msg_control = control;
  hdr.msg_controllen = sizeof(control);
  ssize_t n;
  do n = ::recvmsg(sock, &hdr, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (fd) *fd = -1;
  if (n < 0) return -errno;
  for (cmsghdr* c = CMSG_FIRSTHDR(&hdr); c; c = CMSG_NXTHDR(&hdr, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int got;
      std::memcpy(&got, CMSG_DATA(c), sizeof(int));
      if (fd) *fd = got;
      else ::close(got);
    }
  }
  return n;
}

namespace {

// The address of path; a long one goes through an O_PATH descriptor of its directory, which
// dir keeps open until the bind or connect is done.
Result<sockaddr_un> socket_address(const std::string& path, UniqueFd& dir) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string name = path;
  if (path.size() >= sizeof(addr.sun_path)) {
    size_t slash = path.rfind('/');
    std::string parent = slash == 0 ? "/" : path.substr(0, slash);
    dir = TRY(open_fd(parent, O_PATH | O_DIRECTORY | O_CLOEXEC));
    name = "/proc/self/fd/" + std::to_string(dir.get()) + "/" + path.substr(slash + 1);
    if (name.size() >= sizeof(addr.sun_path))
      return Fail(ErrorCode::InvalidArgument, "socket name in {} is too long", path);
  }
  std::memcpy(addr.sun_path, name.c_str(), name.size() + 1);
  return addr;
}

}  // namespace

Result<UniqueFd> listen_unix_socket(const std::string& path, int type, int backlog) {
  UniqueFd dir;
  sockaddr_un addr = TRY(socket_address(path, dir));
  UniqueFd sock(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  if (!sock) return FailErrno(errno, "socket");
  ::unlink(path.c_str());
  mode_t old = ::umask(0177);
  int r = ::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::umask(old);
  if (r != 0) return FailErrno(errno, "bind {}", path);
  if (::listen(sock.get(), backlog) != 0) return FailErrno(errno, "listen on {}", path);
  return sock;
}

Result<UniqueFd> connect_unix_socket(const std::string& path, int type) {
  UniqueFd dir;
  sockaddr_un addr = TRY(socket_address(path, dir));
  UniqueFd sock(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  if (!sock) return FailErrno(errno, "socket");
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    return FailErrno(errno, "connect to {}", path);
  return sock;
}

}  // namespace berth
