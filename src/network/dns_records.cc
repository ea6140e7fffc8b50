#include "network/dns_records.h"

#include <algorithm>
#include <cctype>

#include "base/strings.h"

namespace berth::network {

namespace {

std::string normalize(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out(name);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool label_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

// Splits a line into whitespace-separated fields, dropping a '#' comment.
std::vector<std::string_view> fields(std::string_view line) {
  if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    size_t start = i;
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

}  // namespace

void DnsRecords::add(Ipv4 ip, std::string_view name) {
  auto& addrs = by_name_[normalize(name)];
  if (std::find(addrs.begin(), addrs.end(), ip) == addrs.end()) addrs.push_back(ip);
  by_ip_.try_emplace(ip, normalize(name));
}

std::span<const Ipv4> DnsRecords::lookup(std::string_view name) const {
  auto it = by_name_.find(normalize(name));
  if (it == by_name_.end()) return {};
  return it->second;
}

std::optional<std::string> DnsRecords::reverse(Ipv4 ip) const {
  auto it = by_ip_.find(ip);
  if (it == by_ip_.end()) return std::nullopt;
  return it->second;
}

bool valid_dns_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    std::string_view label = name.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || label.size() > 63 || !std::all_of(label.begin(), label.end(), label_char))
      return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

ParsedDnsRecords parse_dns_records(std::string_view text, std::string_view source) {
  ParsedDnsRecords out;
  auto lines = split(text, '\n');
  for (size_t n = 0; n < lines.size(); ++n) {
    auto f = fields(lines[n]);
    if (f.empty()) continue;
    auto line_error = [&](std::string message) {
      out.errors.emplace_back(ErrorCode::InvalidArgument,
                              fmt::format("{} line {}: {}", source, n + 1, message));
    };
    auto ip = parse_ipv4(f[0]);
    if (!ip) {
      line_error(ip.error().message());
      continue;
    }
    if (f.size() < 2) {
      line_error(fmt::format("address {} without a name", f[0]));
      continue;
    }
    auto bad = std::find_if(f.begin() + 1, f.end(),
                            [](std::string_view name) { return !valid_dns_name(name); });
    if (bad != f.end()) {
      line_error(fmt::format("invalid DNS name {}: labels are 1 to 63 letters, digits, '-' or '_'",
                             quote(*bad)));
      continue;
    }
    for (size_t i = 1; i < f.size(); ++i) out.records.add(*ip, f[i]);
  }
  return out;
}

std::optional<Ipv4> parse_reverse_name(std::string_view name) {
  std::string n = normalize(name);
  constexpr std::string_view kSuffix = ".in-addr.arpa";
  if (n.size() <= kSuffix.size() ||
      n.compare(n.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0)
    return std::nullopt;
  auto parts = split(std::string_view(n).substr(0, n.size() - kSuffix.size()), '.');
  if (parts.size() != 4) return std::nullopt;
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) {
    const std::string& p = parts[3 - i];
    if (p.empty() || p.size() > 3 || !std::all_of(p.begin(), p.end(), ::isdigit))
      return std::nullopt;
    if (p.size() > 1 && p[0] == '0') return std::nullopt;
    int octet = std::stoi(p);
    if (octet > 255) return std::nullopt;
    value = value << 8 | static_cast<uint32_t>(octet);
  }
  return Ipv4{value};
}

std::string reverse_name(Ipv4 ip) {
  return fmt::format("{}.{}.{}.{}.in-addr.arpa", ip.value & 0xff, (ip.value >> 8) & 0xff,
                     (ip.value >> 16) & 0xff, ip.value >> 24);
}

std::vector<Ipv4> resolv_conf_nameservers(std::string_view text) {
  std::vector<Ipv4> out;
  for (const auto& line : split(text, '\n')) {
    auto f = fields(line);
    if (f.size() < 2 || f[0] != "nameserver") continue;
    if (auto ip = parse_ipv4(f[1])) out.push_back(*ip);  // IPv6 nameservers are skipped
  }
  return out;
}

}  // namespace berth::network
