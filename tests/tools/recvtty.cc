// recvtty: the other end of `berth runtime create --console-socket`, for system tests.
//
//   recvtty SOCKET_PATH [--output FILE] [--input STRING]
//
// Listens on a unix socket, accepts one connection, receives one descriptor by SCM_RIGHTS
// (the pty master of the container's terminal), writes --input to it, and copies everything
// the container prints to stdout (or FILE) until the last slave closes (EOF or EIO). The
// socket appears at SOCKET_PATH only once it is listening, and "ready" is then printed on
// stderr, so a test may start the container as soon as the path exists.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "base/unique_fd.h"

namespace {

using berth::UniqueFd;

struct Options {
  std::string socket_path;
  std::string output;  // empty: stdout
  std::string input;
  bool has_input = false;
};

[[noreturn]] void Die(std::string_view what, int err = 0) {
  if (err != 0) {
    std::fprintf(stderr, "recvtty: %.*s: %s\n", static_cast<int>(what.size()), what.data(),
                 std::strerror(err));
  } else {
    std::fprintf(stderr, "recvtty: %.*s\n", static_cast<int>(what.size()), what.data());
  }
  std::exit(1);
}

[[noreturn]] void Usage() {
  std::fprintf(stderr, "usage: recvtty SOCKET_PATH [--output FILE] [--input STRING]\n");
  std::exit(2);
}

Options ParseArgs(int argc, char** argv) {
  Options opts;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage();
      return argv[++i];
    };
    if (arg == "--output") {
      opts.output = value();
    } else if (arg == "--input") {
      opts.input = value();
      opts.has_input = true;
    } else if (arg.starts_with("-") || !opts.socket_path.empty()) {
      Usage();
    } else {
      opts.socket_path = std::string(arg);
    }
  }
  if (opts.socket_path.empty()) Usage();
  return opts;
}

sockaddr_un UnixAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) Die("socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

// Binds under a temporary name and renames once listening: a test that sees SOCKET_PATH
// can connect to it.
UniqueFd Listen(const std::string& path) {
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) Die("socket", errno);
  std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  sockaddr_un addr = UnixAddress(tmp);
  if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) {
    Die("bind " + tmp, errno);
  }
  if (::listen(sock.get(), 1) < 0) Die("listen " + tmp, errno);
  if (::rename(tmp.c_str(), path.c_str()) < 0) Die("rename " + tmp + " to " + path, errno);
  return sock;
}

// Receives the one descriptor the runtime sends; the payload (runc sends the pty's name)
// is ignored, extra descriptors are closed.
UniqueFd ReceiveFd(int conn) {
  char data[4096];
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
  iovec iov{data, sizeof(data)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = ::recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) Die("recvmsg", errno);

  UniqueFd received;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (!received) {
        received.reset(fd);
      } else {
        ::close(fd);
      }
    }
  }
  if (msg.msg_flags & MSG_CTRUNC) Die("control message truncated");
  if (!received) Die("no descriptor received (SCM_RIGHTS)");
  return received;
}

void WriteAll(int fd, std::string_view bytes, std::string_view what) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      Die(what, errno);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

// Copies until the last slave is closed: the master then reads EOF or fails with EIO.
void Copy(int master, int out) {
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(master, buf, sizeof(buf));
    if (n == 0) return;
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) {
        if (errno == EAGAIN) ::usleep(10'000);  // a non-blocking master: poll gently
        continue;
      }
      if (errno == EIO) return;
      Die("read pty master", errno);
    }
    WriteAll(out, std::string_view(buf, static_cast<size_t>(n)), "write output");
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options opts = ParseArgs(argc, argv);

  UniqueFd output;
  if (!opts.output.empty()) {
    output.reset(::open(opts.output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!output) Die("open " + opts.output, errno);
  }
  int out = output ? output.get() : STDOUT_FILENO;

  UniqueFd listener = Listen(opts.socket_path);
  std::fprintf(stderr, "ready\n");
  std::fflush(stderr);

  UniqueFd conn;
  do {
    conn.reset(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  } while (!conn && errno == EINTR);
  if (!conn) Die("accept", errno);
  listener.reset();
  ::unlink(opts.socket_path.c_str());

  UniqueFd master = ReceiveFd(conn.get());
  conn.reset();

  if (opts.has_input) WriteAll(master.get(), opts.input, "write input to pty master");
  Copy(master.get(), out);
  return 0;
}
