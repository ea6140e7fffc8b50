#include "network/netlink_socket.h"

#include <linux/netlink.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>

namespace berth::network::nl {
namespace {

constexpr size_t align4(size_t n) { return (n + 3) & ~size_t{3}; }
constexpr size_t kHeaderSize = align4(sizeof(nlmsghdr));
constexpr int kDumpAttempts = 5;

// The text of the extended ack (NLMSGERR_ATTR_MSG) of an error message, when the kernel sent one.
std::string extack_message(const nlmsghdr& header, std::span<const char> payload) {
  if (!(header.nlmsg_flags & NLM_F_ACK_TLVS)) return {};
  auto err = read_header<nlmsgerr>(payload);
  if (!err) return {};
  size_t offset = sizeof(nlmsgerr);
  if (!(header.nlmsg_flags & NLM_F_CAPPED) && err->msg.nlmsg_len > kHeaderSize)
    offset += align4(err->msg.nlmsg_len - kHeaderSize);
  std::string text;
  for_each_attr(attrs_after(payload, offset), [&](uint16_t type, std::span<const char> data) {
    if (type == NLMSGERR_ATTR_MSG) text = attr_string(data);
  });
  return text;
}

}  // namespace

Request::Request(uint16_t type, uint16_t flags) {
  nlmsghdr header{};
  header.nlmsg_type = type;
  header.nlmsg_flags = flags;
  append(&header, sizeof header);
}

void Request::append(const void* data, size_t size) {
  const char* bytes = static_cast<const char*>(data);
  buf_.insert(buf_.end(), bytes, bytes + size);
  buf_.resize(align4(buf_.size()), '\0');
}

void Request::put_attr(uint16_t type, const void* data, size_t size) {
  nlattr attr{};
  attr.nla_len = static_cast<uint16_t>(NLA_HDRLEN + size);
  attr.nla_type = type;
  static_assert(sizeof attr == NLA_HDRLEN);
  append(&attr, sizeof attr);
  if (size > 0) append(data, size);
}

void Request::put_string(uint16_t type, std::string_view value) {
  std::string with_nul(value);
  put_attr(type, with_nul.c_str(), with_nul.size() + 1);
}

size_t Request::begin_nested(uint16_t type) {
  size_t offset = buf_.size();
  put_attr(type, nullptr, 0);
  nlattr attr{};
  std::memcpy(&attr, buf_.data() + offset, sizeof attr);
  attr.nla_type |= NLA_F_NESTED;
  std::memcpy(buf_.data() + offset, &attr, sizeof attr);
  return offset;
}

void Request::end_nested(size_t offset) {
  nlattr attr{};
  std::memcpy(&attr, buf_.data() + offset, sizeof attr);
  attr.nla_len = static_cast<uint16_t>(buf_.size() - offset);
  std::memcpy(buf_.data() + offset, &attr, sizeof attr);
}

std::span<const char> Request::finish(uint32_t seq, uint16_t extra_flags) {
  nlmsghdr header{};
  std::memcpy(&header, buf_.data(), sizeof header);
  header.nlmsg_len = static_cast<uint32_t>(buf_.size());
  header.nlmsg_flags |= NLM_F_REQUEST | extra_flags;
  header.nlmsg_seq = seq;
  std::memcpy(buf_.data(), &header, sizeof header);
  return buf_;
}

void for_each_attr(std::span<const char> attrs,
                   const std::function<void(uint16_t, std::span<const char>)>& fn) {
  while (attrs.size() >= NLA_HDRLEN) {
    nlattr attr{};
    std::memcpy(&attr, attrs.data(), sizeof attr);
    if (attr.nla_len < NLA_HDRLEN || attr.nla_len > attrs.size()) return;
    fn(attr.nla_type & NLA_TYPE_MASK, attrs.subspan(NLA_HDRLEN, attr.nla_len - NLA_HDRLEN));
    attrs = attrs.subspan(std::min(attrs.size(), align4(attr.nla_len)));
  }
}

std::span<const char> attrs_after(std::span<const char> payload, size_t header_size) {
  size_t offset = align4(header_size);
  if (offset >= payload.size()) return {};
  return payload.subspan(offset);
}

std::optional<uint32_t> attr_u32(std::span<const char> data) { return read_header<uint32_t>(data); }

std::string attr_string(std::span<const char> data) {
  std::string text(data.begin(), data.end());
  if (auto nul = text.find('\0'); nul != std::string::npos) text.resize(nul);
  return text;
}

Result<Socket> Socket::open() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) return FailErrno(errno, "open netlink socket");
  int one = 1;
  // Extended acks carry the kernel's reason text; capped acks do not echo our request back.
  // Both are optional: older kernels without them still work.
  (void)::setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  (void)::setsockopt(fd.get(), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) != 0)
    return FailErrno(errno, "bind netlink socket");
  Socket socket(std::move(fd));
  // Start from a clock-derived number so a reused port id never matches an old reply.
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  socket.seq_ = static_cast<uint32_t>(now.tv_nsec);
  return socket;
}

Result<void> Socket::send(Request& req, uint16_t extra_flags, std::string_view what) {
  ++seq_;
  if (seq_ == 0) ++seq_;
  auto bytes = req.finish(seq_, extra_flags);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  for (;;) {
    ssize_t n = ::sendto(fd_.get(), bytes.data(), bytes.size(), 0,
                         reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
    if (n >= 0) {
      if (static_cast<size_t>(n) != bytes.size())
        return Fail(ErrorCode::Internal, "{}: short netlink send", what);
      return {};
    }
    if (errno != EINTR) return FailErrno(errno, "{}: send netlink request", what);
  }
}

Result<std::span<const char>> Socket::receive(std::string_view what) {
  for (;;) {
    // Peek with MSG_TRUNC first: it returns the full datagram size, so a message larger
    // than the buffer grows it instead of being cut off.
    ssize_t size = ::recv(fd_.get(), buffer_.data(), buffer_.size(), MSG_PEEK | MSG_TRUNC);
    if (size < 0) {
      if (errno == EINTR) continue;
      return FailErrno(errno, "{}: receive netlink reply", what);
    }
    if (static_cast<size_t>(size) > buffer_.size()) buffer_.resize(static_cast<size_t>(size));
    sockaddr_nl from{};
    socklen_t from_len = sizeof from;
    ssize_t n = ::recvfrom(fd_.get(), buffer_.data(), buffer_.size(), MSG_TRUNC,
                           reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailErrno(errno, "{}: receive netlink reply", what);
    }
    if (static_cast<size_t>(n) > buffer_.size())
      return Fail(ErrorCode::Internal, "{}: netlink reply of {} bytes truncated", what, n);
    if (from.nl_pid != 0) continue;  // only the kernel answers requests
    return std::span<const char>(buffer_.data(), static_cast<size_t>(n));
  }
}

Result<std::vector<Message>> Socket::collect(std::string_view what, bool dump, bool* interrupted) {
  std::vector<Message> replies;
  for (;;) {
    auto datagram = TRY(receive(what));
    while (!datagram.empty()) {
      if (datagram.size() < sizeof(nlmsghdr))
        return Fail(ErrorCode::Internal, "{}: malformed netlink reply", what);
      nlmsghdr header{};
      std::memcpy(&header, datagram.data(), sizeof header);
      if (header.nlmsg_len < kHeaderSize || header.nlmsg_len > datagram.size())
        return Fail(ErrorCode::Internal, "{}: malformed netlink reply", what);
      auto payload = datagram.subspan(kHeaderSize, header.nlmsg_len - kHeaderSize);
      datagram = datagram.subspan(std::min(datagram.size(), align4(header.nlmsg_len)));
      if (header.nlmsg_seq != seq_) continue;  // a reply to an earlier, abandoned request
      if (header.nlmsg_flags & NLM_F_DUMP_INTR) *interrupted = true;

      if (header.nlmsg_type == NLMSG_ERROR) {
        auto err = read_header<nlmsgerr>(payload);
        if (!err) return Fail(ErrorCode::Internal, "{}: malformed netlink error", what);
        if (err->error == 0) {
          if (!dump) return replies;
          continue;
        }
        std::string reason = extack_message(header, payload);
        if (!reason.empty()) return FailErrno(-err->error, "{}: {}", what, reason);
        return FailErrno(-err->error, "{}", what);
      }
      if (header.nlmsg_type == NLMSG_DONE) {
        auto status = read_header<int>(payload);
        if (status && *status < 0) return FailErrno(-*status, "{}", what);
        if (dump) return replies;
        continue;
      }
      if (header.nlmsg_type == NLMSG_NOOP || header.nlmsg_type == NLMSG_OVERRUN) continue;
      replies.push_back(Message{header.nlmsg_type, header.nlmsg_flags,
                                std::vector<char>(payload.begin(), payload.end())});
    }
  }
}

Result<std::vector<Message>> Socket::request(Request& req, std::string_view what) {
  TRY(send(req, NLM_F_ACK, what));
  bool interrupted = false;
  return collect(what, /*dump=*/false, &interrupted);
}

Result<std::vector<Message>> Socket::dump(Request& req, std::string_view what) {
  for (int attempt = 1;; ++attempt) {
    TRY(send(req, NLM_F_DUMP, what));
    bool interrupted = false;
    auto replies = TRY(collect(what, /*dump=*/true, &interrupted));
    if (!interrupted) return replies;
    if (attempt == kDumpAttempts)
      return Fail(ErrorCode::Unavailable, "{}: netlink dump kept changing under us", what);
  }
}

}  // namespace berth::network::nl
