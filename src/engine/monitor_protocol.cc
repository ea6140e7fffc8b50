#include "engine/monitor_protocol.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "base/fs.h"
#include "base/strings.h"
#include "base/unix_socket.h"

namespace berth::engine {
namespace {

constexpr size_t kMaxMessage = 4096;

}  // namespace

std::string_view MonitorMessage::verb() const {
  std::string_view t = text;
  return t.substr(0, t.find(' '));
}

std::string MonitorMessage::word(size_t n) const {
  std::string_view rest = text;
  for (size_t i = 0; i <= n; ++i) {
    size_t sp = rest.find(' ');
    if (sp == std::string_view::npos) return "";
    rest.remove_prefix(sp + 1);
  }
  return std::string(rest.substr(0, rest.find(' ')));
}

Result<void> send_message(int sock, std::string_view text, int fd) {
  ssize_t n = send_with_fd(sock, text.data(), text.size(), fd);
  if (n < 0) return FailErrno(static_cast<int>(-n), "send \"{}\" to the container's monitor", text.substr(0, text.find(' ')));
  return {};
}

Result<std::optional<MonitorMessage>> receive_message(int sock) {
  char buf[kMaxMessage];
  int fd = -1;
  ssize_t n = recv_with_fd(sock, buf, sizeof(buf), &fd);
  if (n < 0) return FailErrno(static_cast<int>(-n), "receive from the container's monitor");
  if (n == 0 && fd < 0) return std::optional<MonitorMessage>{};
  MonitorMessage m;
  m.text.assign(buf, static_cast<size_t>(n));
  m.fd.reset(fd);
  return std::optional<MonitorMessage>{std::move(m)};
}

Result<UniqueFd> listen_monitor_socket(const std::string& dir) {
  return listen_unix_socket(dir + "/monitor.sock", SOCK_SEQPACKET | SOCK_NONBLOCK, 16);
}

Result<UniqueFd> connect_monitor_socket(const std::string& dir) {
  return connect_unix_socket(dir + "/monitor.sock", SOCK_SEQPACKET);
}

}  // namespace berth::engine
