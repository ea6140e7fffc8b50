// Raw NETLINK_ROUTE plumbing under Netlink: building requests with (nested) attributes, sending
// them with a sequence number, reading the ack or a multipart dump, and walking attributes.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace berth::network::nl {

// One request being built: nlmsghdr, the family header, then attributes, each padded to 4.
class Request {
 public:
  Request(uint16_t type, uint16_t flags);
  // Appends the family header (ifinfomsg, ifaddrmsg, rtmsg); call once, before any attribute.
  template <class T>
  void put_header(const T& header) {
    append(&header, sizeof header);
  }
  void put_attr(uint16_t type, const void* data, size_t size);
  void put_u8(uint16_t type, uint8_t value) { put_attr(type, &value, sizeof value); }
  void put_u32(uint16_t type, uint32_t value) { put_attr(type, &value, sizeof value); }
  // A NUL-terminated string attribute (IFLA_IFNAME, IFLA_INFO_KIND).
  void put_string(uint16_t type, std::string_view value);
  // Opens a nested attribute (NLA_F_NESTED set); close it with end_nested(returned offset).
  size_t begin_nested(uint16_t type);
  void end_nested(size_t offset);
  // Appends raw bytes (a family header inside a nested attribute, as VETH_INFO_PEER wants).
  void append(const void* data, size_t size);

  // The finished message with its length, flags and sequence number filled in.
  std::span<const char> finish(uint32_t seq, uint16_t extra_flags);

 private:
  std::vector<char> buf_;
};

// One received message: its type, flags and the bytes after nlmsghdr.
struct Message {
  uint16_t type = 0;
  uint16_t flags = 0;
  std::vector<char> payload;
};

// The family header T at the front of payload; nullopt when the payload is too short.
template <class T>
std::optional<T> read_header(std::span<const char> payload) {
  if (payload.size() < sizeof(T)) return std::nullopt;
  T value;
  std::memcpy(&value, payload.data(), sizeof(T));
  return value;
}

// Calls fn(type, data) for each attribute in attrs (type without NLA_F_* bits); stops at the
// first malformed one.
void for_each_attr(std::span<const char> attrs,
                   const std::function<void(uint16_t, std::span<const char>)>& fn);
// The attributes after the family header of size header_size.
std::span<const char> attrs_after(std::span<const char> payload, size_t header_size);
std::optional<uint32_t> attr_u32(std::span<const char> data);
// A string attribute without its trailing NUL.
std::string attr_string(std::span<const char> data);

// A NETLINK_ROUTE socket bound in the calling thread's network namespace. Requests are
// answered in order; replies with an older sequence number (left by an abandoned dump) and
// datagrams not sent by the kernel are skipped.
class Socket {
 public:
  static Result<Socket> open();

  // Sends req with NLM_F_REQUEST|NLM_F_ACK and waits for the ack. Replies that come before the
  // ack (a GET's answer) are returned. A netlink error becomes FailErrno(err, "<what>").
  Result<std::vector<Message>> request(Request& req, std::string_view what);
  // Sends req with NLM_F_REQUEST|NLM_F_DUMP and returns every message up to NLMSG_DONE; the dump
  // is retried when the kernel flags it as interrupted (NLM_F_DUMP_INTR).
  Result<std::vector<Message>> dump(Request& req, std::string_view what);

 private:
  explicit Socket(UniqueFd fd) : fd_(std::move(fd)), buffer_(32 * 1024) {}
  Result<void> send(Request& req, uint16_t extra_flags, std::string_view what);
  // One datagram from the kernel; the buffer grows when MSG_TRUNC reports a larger one.
  Result<std::span<const char>> receive(std::string_view what);
  // Reads replies to the current sequence number until the ack (or NLMSG_DONE for a dump).
  Result<std::vector<Message>> collect(std::string_view what, bool dump, bool* interrupted);

  UniqueFd fd_;
  uint32_t seq_ = 0;
  std::vector<char> buffer_;
};

}  // namespace berth::network::nl
