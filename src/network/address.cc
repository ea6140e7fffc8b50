#include "network/address.h"

#include <arpa/inet.h>

#include <algorithm>

#include "base/strings.h"

namespace berth::network {

std::string Ipv4::str() const {
  return fmt::format("{}.{}.{}.{}", value >> 24, (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff);
}

bool Ipv4Net::overlaps(const Ipv4Net& other) const {
  int shorter = std::min(prefix, other.prefix);
  uint32_t m = shorter == 0 ? 0 : ~uint32_t{0} << (32 - shorter);
  return (addr.value & m) == (other.addr.value & m);
}

std::string Ipv4Net::str() const { return fmt::format("{}/{}", addr.str(), prefix); }

Result<Ipv4> parse_ipv4(std::string_view text) {
  std::string s(text);
  in_addr a{};
  if (s.empty() || s.find('\0') != std::string::npos || inet_pton(AF_INET, s.c_str(), &a) != 1)
    return Fail(ErrorCode::InvalidArgument, "invalid IPv4 address: {}", quote(text));
  return Ipv4{ntohl(a.s_addr)};
}

Result<Ipv4Net> parse_ipv4_net(std::string_view text) {
  auto slash = text.find('/');
  auto ip = parse_ipv4(text.substr(0, slash));
  if (!ip) return Fail(ErrorCode::InvalidArgument, "invalid CIDR address: {}", quote(text));
  if (slash == std::string_view::npos) return Ipv4Net{*ip, 32};
  auto digits = text.substr(slash + 1);
  if (digits.empty() || digits.size() > 2 || !std::all_of(digits.begin(), digits.end(), ::isdigit))
    return Fail(ErrorCode::InvalidArgument, "invalid CIDR address: {}", quote(text));
  int prefix = std::stoi(std::string(digits));
  if (prefix > 32) return Fail(ErrorCode::InvalidArgument, "invalid CIDR address: {}", quote(text));
  return Ipv4Net{*ip, prefix};
}

}  // namespace berth::network
