// The transport protocols a port can be published for.
#pragma once

#include <optional>
#include <string_view>

namespace berth::network {

enum class Protocol { Tcp, Udp };

inline std::string_view to_string(Protocol p) { return p == Protocol::Tcp ? "tcp" : "udp"; }
inline std::optional<Protocol> parse_protocol(std::string_view text) {
  if (text == "tcp") return Protocol::Tcp;
  if (text == "udp") return Protocol::Udp;
  return std::nullopt;
}

}  // namespace berth::network
