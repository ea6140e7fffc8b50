// A minimal seccomp agent for the system tests: listens on SOCKET, receives one seccomp listener
// fd with the runtime's containerProcessState, writes that JSON to STATE_FILE, then answers every
// notification with the error ERRNO (so the test sees, from inside the container, that the
// agent and not the kernel decided) until the container's processes are gone.
//
//   seccomp_agent SOCKET STATE_FILE ERRNO
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "base/fs.h"
#include "base/unique_fd.h"
#include "base/unix_socket.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: seccomp_agent SOCKET STATE_FILE ERRNO\n");
    return 2;
  }
  std::string path = argv[1];
  int answer = std::atoi(argv[3]);
  berth::UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string tmp = path + ".tmp";
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", tmp.c_str());
  ::unlink(tmp.c_str());
  if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(sock.get(), 1) != 0 ||
      ::rename(tmp.c_str(), path.c_str()) != 0) {
    std::perror("seccomp_agent: listen");
    return 1;
  }
  berth::UniqueFd conn(::accept4(sock.get(), nullptr, nullptr, SOCK_CLOEXEC));
  char state[65536];
  int fd = -1;
  ssize_t n = berth::recv_with_fd(conn.get(), state, sizeof(state), &fd);
  if (n <= 0 || fd < 0) {
    std::fprintf(stderr, "seccomp_agent: no listener fd received\n");
    return 1;
  }
  berth::UniqueFd listener(fd);
  if (!berth::write_file(argv[2], std::string_view(state, static_cast<size_t>(n)))) return 1;

  seccomp_notif_sizes sizes{};
  if (::syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) return 1;
  std::string req_buf(std::max<size_t>(sizes.seccomp_notif, sizeof(seccomp_notif)), '\0');
  std::string resp_buf(std::max<size_t>(sizes.seccomp_notif_resp, sizeof(seccomp_notif_resp)), '\0');
  while (true) {
    pollfd p{listener.get(), POLLIN, 0};
    if (::poll(&p, 1, 30000) <= 0 || (p.revents & (POLLHUP | POLLERR))) return 0;
    std::memset(req_buf.data(), 0, req_buf.size());
    auto* req = reinterpret_cast<seccomp_notif*>(req_buf.data());
    if (::ioctl(listener.get(), SECCOMP_IOCTL_NOTIF_RECV, req) != 0) {
      if (errno == EINTR || errno == ENOENT) continue;
      return 0;
    }
    std::memset(resp_buf.data(), 0, resp_buf.size());
    auto* resp = reinterpret_cast<seccomp_notif_resp*>(resp_buf.data());
    resp->id = req->id;
    resp->error = -answer;
    (void)::ioctl(listener.get(), SECCOMP_IOCTL_NOTIF_SEND, resp);
  }
}
