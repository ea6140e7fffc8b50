#include "network/port_spec.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <fstream>
#include <random>

#include "base/strings.h"
#include "base/unique_fd.h"
#include "network/flag_error.h"

namespace berth::network {
namespace {

constexpr std::string_view kPublishFlag = "-p, --publish";

struct PortRange {
  uint16_t first = 0;
  uint16_t last = 0;
};

// One decimal port number, 0..65535 (leading zeros allowed, as Go's ParseUint allows them).
std::optional<uint16_t> parse_port_number(std::string_view text) {
  if (text.empty()) return std::nullopt;
  uint32_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint32_t>(c - '0');
    if (v > 65535) return std::nullopt;
  }
  return static_cast<uint16_t>(v);
}

// "N" or "N-M" with N <= M.
std::optional<PortRange> parse_port_range(std::string_view text) {
  auto dash = text.find('-');
  if (dash == std::string_view::npos) {
    auto p = parse_port_number(text);
    if (!p) return std::nullopt;
    return PortRange{*p, *p};
  }
  auto first = parse_port_number(text.substr(0, dash));
  auto last = parse_port_number(text.substr(dash + 1));
  if (!first || !last || *last < *first) return std::nullopt;
  return PortRange{*first, *last};
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The "/proto" part (tcp when absent or empty); go-connections lower-cases it.
Result<Protocol> parse_proto(std::string_view flag, std::string_view text, std::string_view proto) {
  if (proto.empty()) return Protocol::Tcp;
  std::string p = lower(proto);
  if (auto parsed = parse_protocol(p)) return *parsed;
  if (p == "sctp") return Err(invalid_flag(flag, text, "sctp is not supported"));
  return Err(invalid_flag(flag, text, fmt::format("invalid proto: {}", proto)));
}

// The host address of a publish spec; IPv4 only, [brackets] allowed as Docker allows them.
Result<std::optional<Ipv4>> parse_host_ip(std::string_view text, std::string_view ip) {
  if (ip.empty()) return std::optional<Ipv4>{};
  std::string_view inner = ip;
  if (inner.size() >= 2 && inner.front() == '[' && inner.back() == ']')
    inner = inner.substr(1, inner.size() - 2);
  if (inner.find(':') != std::string_view::npos) {
    in6_addr a6{};
    std::string s(inner);
    if (inet_pton(AF_INET6, s.c_str(), &a6) == 1)
      return Err(invalid_flag(kPublishFlag, text,
                              fmt::format("IPv6 host address {} is not supported yet", ip)));
    return Err(invalid_flag(kPublishFlag, text, fmt::format("invalid IP address: {}", ip)));
  }
  auto v4 = parse_ipv4(inner);
  if (!v4 || inner.find('\0') != std::string_view::npos)
    return Err(invalid_flag(kPublishFlag, text, fmt::format("invalid IP address: {}", ip)));
  if (v4->value == 0) return std::optional<Ipv4>{};
  return std::optional<Ipv4>{*v4};
}

// The ephemeral port range of the current network namespace (Linux's default when unreadable).
PortRange ephemeral_range() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  uint32_t lo = 0, hi = 0;
  if (in >> lo >> hi && lo > 0 && lo <= hi && hi <= 65535)
    return {static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)};
  return {32768, 60999};
}

// True when a socket of the protocol binds to ip:port; false when the port is in use.
Result<bool> port_is_free(std::optional<Ipv4> ip, Protocol proto, uint16_t port) {
  int type = proto == Protocol::Tcp ? SOCK_STREAM : SOCK_DGRAM;
  UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  if (!fd) return FailErrno(errno, "socket for {} port {}", to_string(proto), port);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(ip ? ip->value : 0);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return true;
  if (errno == EADDRINUSE) return false;
  return FailErrno(errno, "bind {}:{}/{}", ip ? ip->str() : "0.0.0.0", port, to_string(proto));
}

}  // namespace

Result<std::vector<PortMapping>> parse_publish(std::string_view text) {
  auto parts = split(text, ':');
  std::string ip, host, container;
  switch (parts.size()) {
    case 1:
      container = parts[0];
      break;
    case 2:
      host = parts[0], container = parts[1];
      break;
    default: {
      size_t n = parts.size();
      container = parts[n - 1];
      host = parts[n - 2];
      parts.resize(n - 2);
      ip = join(parts, ":");
    }
  }
  std::string_view proto_text;
  auto slash = container.find('/');
  if (slash != std::string::npos) {
    proto_text = std::string_view(container).substr(slash + 1);
  }
  std::string port_text = container.substr(0, slash);
  if (port_text.empty())
    return Err(invalid_flag(kPublishFlag, text, fmt::format("no port specified: {}<empty>", text)));
  Protocol proto = TRY(parse_proto(kPublishFlag, text, proto_text));
  std::optional<Ipv4> host_ip = TRY(parse_host_ip(text, ip));

  auto cports = parse_port_range(port_text);
  if (!cports || cports->first == 0)
    return Err(
        invalid_flag(kPublishFlag, text, fmt::format("invalid containerPort: {}", port_text)));
  PortRange hports;
  if (!host.empty()) {
    auto h = parse_port_range(host);
    if (!h || (h->first == 0 && h->last != 0))
      return Err(invalid_flag(kPublishFlag, text, fmt::format("invalid hostPort: {}", host)));
    hports = *h;
    bool container_range = cports->last != cports->first;
    if (container_range && hports.last - hports.first != cports->last - cports->first) {
      return Err(invalid_flag(
          kPublishFlag, text,
          fmt::format("invalid ranges specified for container and host Ports: {} and {}", port_text,
                      host)));
    }
  }

  std::vector<PortMapping> out;
  uint32_t count = uint32_t{cports->last} - cports->first + 1;
  out.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    PortMapping m;
    m.host_ip = host_ip;
    m.container_port = static_cast<uint16_t>(cports->first + i);
    m.proto = proto;
    if (count == 1) {
      m.host_port_first = hports.first;
      m.host_port_last = hports.last;
    } else if (!host.empty()) {
      m.host_port_first = m.host_port_last = static_cast<uint16_t>(hports.first + i);
    }
    out.push_back(m);
  }
  return out;
}

Result<std::vector<std::pair<uint16_t, Protocol>>> parse_expose(std::string_view text,
                                                                std::string_view flag) {
  if (text.find(':') != std::string_view::npos)
    return Err(invalid_flag(flag, text, "invalid port format: expected port[-port][/proto]"));
  auto slash = text.find('/');
  std::string_view port_text = text.substr(0, slash);
  std::string_view proto_text = slash == std::string_view::npos ? "" : text.substr(slash + 1);
  if (port_text.empty())
    return Err(invalid_flag(flag, text, fmt::format("no port specified: {}<empty>", text)));
  Protocol proto = TRY(parse_proto(flag, text, proto_text));
  auto range = parse_port_range(port_text);
  if (!range || range->first == 0)
    return Err(invalid_flag(flag, text, fmt::format("invalid range format: {}", port_text)));
  std::vector<std::pair<uint16_t, Protocol>> out;
  for (uint32_t p = range->first; p <= range->last; ++p)
    out.emplace_back(static_cast<uint16_t>(p), proto);
  return out;
}

Result<uint16_t> pick_host_port(std::optional<Ipv4> ip, Protocol proto, uint16_t first,
                                uint16_t last, const std::set<uint16_t>& taken) {
  const std::string addr = ip ? ip->str() : "0.0.0.0";
  if (first == 0 && last == 0) {
    PortRange eph = ephemeral_range();
    uint32_t size = uint32_t{eph.last} - eph.first + 1;
    std::random_device rd;
    uint32_t start = std::uniform_int_distribution<uint32_t>(0, size - 1)(rd);
    for (uint32_t i = 0; i < size; ++i) {
      auto port = static_cast<uint16_t>(eph.first + (start + i) % size);
      if (taken.contains(port)) continue;
      if (TRY(port_is_free(ip, proto, port))) return port;
    }
    return Fail(ErrorCode::Unavailable,
                "Bind for {}:{}-{}/{} failed: all ports of the ephemeral range are allocated", addr,
                eph.first, eph.last, to_string(proto));
  }
  if (first == 0 || last < first)
    return Fail(ErrorCode::InvalidArgument, "invalid host port range {}-{}", first, last);
  for (uint32_t p = first; p <= last; ++p) {
    auto port = static_cast<uint16_t>(p);
    if (taken.contains(port)) continue;
    if (TRY(port_is_free(ip, proto, port))) return port;
  }
  if (first == last)
    return Fail(ErrorCode::Conflict, "Bind for {}:{} failed: port is already allocated", addr,
                first);
  return Fail(ErrorCode::Conflict, "Bind for {}:{}-{} failed: all ports are allocated", addr, first,
              last);
}

std::string format_port_mapping(const PortMapping& m) {
  return fmt::format("{}/{} -> {}:{}", m.container_port, to_string(m.proto),
                     m.host_ip ? m.host_ip->str() : "0.0.0.0", m.host_port_first);
}

}  // namespace berth::network
