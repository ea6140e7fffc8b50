#include "runtime/sync_protocol.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace berth::runtime {

int sync_send(int fd, SyncType type, int32_t value, int pass_fd) {
  SyncMessage msg;
  msg.type = type;
  msg.value = value;
  iovec iov{&msg, sizeof(msg)};
  msghdr hdr{};
  hdr.msg_iov = &iov;
  hdr.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  if (pass_fd >= 0) {
    std::memset(control, 0, sizeof(control));
    hdr.msg_control = control;
    hdr.msg_controllen = sizeof(control);
    cmsghdr* c = CMSG_FIRSTHDR(&hdr);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
  }
  ssize_t n;
  do n = ::sendmsg(fd, &hdr, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof(msg)) ? 0 : -(n < 0 ? errno : EPROTO);
}

int sync_send_error(int fd, const ChildError& error) {
  SyncMessage msg;
  msg.type = SyncType::Error;
  msg.error = error;
  ssize_t n;
  do n = ::send(fd, &msg, sizeof(msg), MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof(msg)) ? 0 : -(n < 0 ? errno : EPROTO);
}

int sync_recv(int fd, SyncMessage* msg, int* received_fd) {
  iovec iov{msg, sizeof(*msg)};
  msghdr hdr{};
  hdr.msg_iov = &iov;
  hdr.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  hdr.msg_control = control;
  hdr.msg_controllen = sizeof(control);
  ssize_t n;
  do n = ::recvmsg(fd, &hdr, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  if (n == 0) return -EPIPE;
  if (n != static_cast<ssize_t>(sizeof(*msg))) return -EPROTO;
  if (received_fd) {
    *received_fd = -1;
    for (cmsghdr* c = CMSG_FIRSTHDR(&hdr); c; c = CMSG_NXTHDR(&hdr, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
        std::memcpy(received_fd, CMSG_DATA(c), sizeof(int));
    }
  }
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
