#include "runtime/sync_protocol.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "base/unix_socket.h"

namespace berth::runtime {

int sync_send(int fd, SyncType type, int32_t value, int pass_fd) {
  SyncMessage msg;
  msg.type = type;
  msg.value = value;
  ssize_t n = send_with_fd(fd, &msg, sizeof(msg), pass_fd);
  return n == static_cast<ssize_t>(sizeof(msg)) ? 0 : (n < 0 ? static_cast<int>(n) : -EPROTO);
}

int sync_send_error(int fd, const ChildError& error) {
  SyncMessage msg;
  msg.type = SyncType::Error;
  msg.error = error;
  ssize_t n = send_with_fd(fd, &msg, sizeof(msg), -1);
  return n == static_cast<ssize_t>(sizeof(msg)) ? 0 : (n < 0 ? static_cast<int>(n) : -EPROTO);
}

int sync_recv(int fd, SyncMessage* msg, int* received_fd) {
  ssize_t n = recv_with_fd(fd, msg, sizeof(*msg), received_fd);
  if (n < 0) return static_cast<int>(n);
  if (n == 0) return -EPIPE;
  if (n != static_cast<ssize_t>(sizeof(*msg))) return -EPROTO;
  return 0;
}

Result<SyncMessage> sync_expect(int fd, SyncType want, UniqueFd* received_fd) {
  SyncMessage msg;
  int rfd = -1;
  int r = sync_recv(fd, &msg, &rfd);
  if (rfd >= 0 && received_fd) received_fd->reset(rfd);
  else if (rfd >= 0) ::close(rfd);
  if (r == -EPIPE) return Fail(ErrorCode::Internal, "container init exited during setup");
  if (r < 0) return FailErrno(-r, "read from container init");
  if (msg.type == SyncType::Error) {
    msg.error.text[sizeof(msg.error.text) - 1] = '\0';
    return Err(SysError(msg.error.err, msg.error.text));
  }
  if (msg.type != want)
    return Fail(ErrorCode::Internal, "container init sent message {} while {} was expected",
                static_cast<uint32_t>(msg.type), static_cast<uint32_t>(want));
  return msg;
}

Result<void> sync_reply(int fd, SyncType type, int32_t value) {
  int r = sync_send(fd, type, value);
  if (r < 0) return FailErrno(-r, "write to container init");
  return {};
}

}  // namespace berth::runtime
