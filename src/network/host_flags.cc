#include "network/host_flags.h"

#include <arpa/inet.h>

#include <algorithm>
#include <optional>

#include "network/flag_error.h"

namespace berth::network {
namespace {

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_space_or_control(char c) {
  auto u = static_cast<unsigned char>(c);
  return u <= 0x20 || u == 0x7f;
}

// A canonical IPv4 or IPv6 address, nullopt when the text is neither.
std::optional<std::string> canonical_ip(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) return std::nullopt;  // inet_pton stops there
  std::string s(text);
  char buf[INET6_ADDRSTRLEN] = {};
  in_addr a4{};
  if (inet_pton(AF_INET, s.c_str(), &a4) == 1 && inet_ntop(AF_INET, &a4, buf, sizeof buf))
    return std::string(buf);
  in6_addr a6{};
  if (inet_pton(AF_INET6, s.c_str(), &a6) == 1 && inet_ntop(AF_INET6, &a6, buf, sizeof buf))
    return std::string(buf);
  return std::nullopt;
}

// Labels of letters, digits and the extra characters, not starting or ending with '-'.
bool valid_labels(std::string_view name, std::string_view extra, size_t max_label) {
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    std::string_view label = name.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || label.size() > max_label) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!is_letter(c) && !is_digit(c) && c != '-' && extra.find(c) == std::string_view::npos)
        return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

}  // namespace

Result<ExtraHost> parse_add_host(std::string_view text) {
  constexpr std::string_view flag = "--add-host";
  size_t sep = text.find('=');
  if (sep == std::string_view::npos) sep = text.find(':');
  if (sep == std::string_view::npos || sep == 0)
    return Err(invalid_flag(flag, text, "bad format for add-host: expected name:ip or name=ip"));
  std::string_view name = text.substr(0, sep);
  std::string_view addr = text.substr(sep + 1);
  if (name.find(':') != std::string_view::npos ||
      std::any_of(name.begin(), name.end(), is_space_or_control))
    return Err(invalid_flag(flag, text, "bad format for add-host: invalid host name"));
  if (addr == kHostGateway) return ExtraHost{std::string(name), std::string(addr)};
  if (addr.size() > 2 && addr.front() == '[' && addr.back() == ']')
    addr = addr.substr(1, addr.size() - 2);
  if (!canonical_ip(addr))
    return Err(
        invalid_flag(flag, text, fmt::format("invalid IP address in add-host: {}", quote(addr))));
  return ExtraHost{std::string(name), std::string(addr)};
}

Result<std::string> parse_dns(std::string_view text) {
  auto ip = canonical_ip(text);
  if (!ip) return Err(invalid_flag("--dns", text, "IP address is not correctly formatted"));
  return *ip;
}

Result<std::string> parse_dns_search(std::string_view text) {
  std::string_view v = text;
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (v == ".") return std::string(v);
  if (!v.empty() && v.back() == '.') v.remove_suffix(1);
  bool has_letter = std::any_of(v.begin(), v.end(), is_letter);
  if (!has_letter || v.size() >= 255 || !valid_labels(v, "", 255))
    return Err(invalid_flag("--dns-search", text, fmt::format("{} is not a valid domain", text)));
  return std::string(v);
}

Result<std::string> parse_dns_option(std::string_view text) {
  if (text.empty()) return Err(invalid_flag("--dns-option", text, "option is empty"));
  if (std::any_of(text.begin(), text.end(), is_space_or_control))
    return Err(invalid_flag("--dns-option", text,
                            "an option may not contain whitespace or control characters"));
  return std::string(text);
}

Result<std::string> parse_network_alias(std::string_view text) {
  if (text.empty() || text.size() > 253 || !valid_labels(text, "_", 63))
    return Err(invalid_flag("--network-alias", text,
                            "an alias is dot-separated labels of letters, digits, '-' and '_', "
                            "each 1 to 63 characters, not starting or ending with '-'"));
  return std::string(text);
}

Result<Ipv4> parse_ip_flag(std::string_view text) {
  auto ip = parse_ipv4(text);
  // parse_ipv4 reads a C string: a NUL would hide what follows it.
  if (!ip || text.find('\0') != std::string_view::npos) {
    if (canonical_ip(text))
      return Err(invalid_flag("--ip", text, "not an IPv4 address (IPv6 is not supported yet)"));
    return Err(invalid_flag("--ip", text, "invalid IPv4 address"));
  }
  if (ip->value == 0)
    return Err(invalid_flag("--ip", text,
                            "the unspecified address 0.0.0.0 cannot be a container's address"));
  return *ip;
}

}  // namespace berth::network
