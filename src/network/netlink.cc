#include "network/netlink.h"

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>

#include "base/strings.h"

namespace berth::network {
namespace {

constexpr uint16_t kCreate = NLM_F_CREATE | NLM_F_EXCL;

// Interface names the kernel accepts: 1-15 bytes, no '/', ':' or whitespace, not "." or "..".
Result<void> check_name(const std::string& name) {
  bool bad_char = std::any_of(name.begin(), name.end(), [](char c) {
    return c == '/' || c == ':' || c == '\0' || static_cast<unsigned char>(c) <= ' ';
  });
  if (name.empty() || name.size() >= IFNAMSIZ || bad_char || name == "." || name == "..")
    return Fail(ErrorCode::InvalidArgument,
                "invalid network interface name {}: want 1-{} characters without '/', ':' or "
                "spaces",
                quote(name), IFNAMSIZ - 1);
  return {};
}

ifinfomsg link_header(int family = AF_UNSPEC, int index = 0) {
  ifinfomsg header{};
  header.ifi_family = static_cast<unsigned char>(family);
  header.ifi_index = index;
  return header;
}

// A request addressing an existing link by name (rtnetlink looks IFLA_IFNAME up when the index
// is 0).
nl::Request link_request(uint16_t type, uint16_t flags, const std::string& name,
                         ifinfomsg header = link_header()) {
  nl::Request req(type, flags);
  req.put_header(header);
  req.put_string(IFLA_IFNAME, name);
  return req;
}

uint32_t net_order(Ipv4 ip) { return htonl(ip.value); }
Ipv4 from_net_order(std::span<const char> data) {
  auto value = nl::attr_u32(data);
  return Ipv4{value ? ntohl(*value) : 0};
}

// The IFLA_IFNAME and IFLA_MASTER of an RTM_NEWLINK message.
struct LinkAttrs {
  int index = 0;
  std::string name;
  std::optional<int> master;
};

std::optional<LinkAttrs> parse_link(const nl::Message& msg) {
  auto header = nl::read_header<ifinfomsg>(msg.payload);
  if (msg.type != RTM_NEWLINK || !header) return std::nullopt;
  LinkAttrs link;
  link.index = header->ifi_index;
  nl::for_each_attr(nl::attrs_after(msg.payload, sizeof(ifinfomsg)),
                    [&](uint16_t type, std::span<const char> data) {
                      if (type == IFLA_IFNAME) link.name = nl::attr_string(data);
                      if (type == IFLA_MASTER) {
                        if (auto m = nl::attr_u32(data); m && *m != 0) link.master = int(*m);
                      }
                    });
  return link;
}

}  // namespace

Result<Netlink> Netlink::open() { return Netlink(TRY(nl::Socket::open())); }

Result<void> Netlink::create_bridge(const std::string& name) {
  TRY(check_name(name));
  auto req = link_request(RTM_NEWLINK, kCreate, name);
  size_t info = req.begin_nested(IFLA_LINKINFO);
  req.put_string(IFLA_INFO_KIND, "bridge");
  req.end_nested(info);
  TRY(socket_.request(req, "create bridge " + name));
  return {};
}

Result<void> Netlink::create_veth(const std::string& host_name, const std::string& peer_name,
                                  int peer_netns_fd, const std::array<uint8_t, 6>* peer_mac) {
  TRY(check_name(host_name));
  TRY(check_name(peer_name));
  auto req = link_request(RTM_NEWLINK, kCreate, host_name);
  size_t info = req.begin_nested(IFLA_LINKINFO);
  req.put_string(IFLA_INFO_KIND, "veth");
  size_t data = req.begin_nested(IFLA_INFO_DATA);
  size_t peer = req.begin_nested(VETH_INFO_PEER);
  ifinfomsg peer_header = link_header();
  req.append(&peer_header, sizeof peer_header);
  req.put_string(IFLA_IFNAME, peer_name);
  if (peer_netns_fd >= 0) req.put_u32(IFLA_NET_NS_FD, static_cast<uint32_t>(peer_netns_fd));
  if (peer_mac) req.put_attr(IFLA_ADDRESS, peer_mac->data(), peer_mac->size());
  req.end_nested(peer);
  req.end_nested(data);
  req.end_nested(info);
  TRY(socket_.request(req, fmt::format("create veth pair {} and {}", host_name, peer_name)));
  return {};
}

Result<void> Netlink::set_master(const std::string& name, const std::string& bridge) {
  TRY(check_name(name));
  std::string what = fmt::format("attach {} to bridge {}", name, bridge);
  int bridge_index = TRY_CTX(what, require_index(bridge));
  auto req = link_request(RTM_SETLINK, 0, name);
  req.put_u32(IFLA_MASTER, static_cast<uint32_t>(bridge_index));
  TRY(socket_.request(req, what));
  return {};
}

Result<void> Netlink::set_up(const std::string& name) {
  TRY(check_name(name));
  ifinfomsg header = link_header();
  header.ifi_flags = IFF_UP;
  header.ifi_change = IFF_UP;
  auto req = link_request(RTM_SETLINK, 0, name, header);
  TRY(socket_.request(req, fmt::format("set link {} up", name)));
  return {};
}

Result<void> Netlink::set_mtu(const std::string& name, int mtu) {
  TRY(check_name(name));
  if (mtu <= 0) return Fail(ErrorCode::InvalidArgument, "invalid MTU {} for {}", mtu, name);
  auto req = link_request(RTM_SETLINK, 0, name);
  req.put_u32(IFLA_MTU, static_cast<uint32_t>(mtu));
  TRY(socket_.request(req, fmt::format("set MTU of {} to {}", name, mtu)));
  return {};
}

Result<void> Netlink::set_hairpin(const std::string& port_name, bool on) {
  TRY(check_name(port_name));
  std::string what =
      fmt::format("set hairpin mode {} for bridge port {}", on ? "on" : "off", port_name);
  // AF_BRIDGE setlink goes to the port's bridge; it must see the index, not a name.
  int index = TRY_CTX(what, require_index(port_name));
  nl::Request req(RTM_SETLINK, 0);
  req.put_header(link_header(AF_BRIDGE, index));
  size_t protinfo = req.begin_nested(IFLA_PROTINFO);  // nested: not the old RSTP state byte
  req.put_u8(IFLA_BRPORT_MODE, on ? 1 : 0);
  req.end_nested(protinfo);
  TRY(socket_.request(req, what));
  return {};
}

Result<void> Netlink::add_address(const std::string& name, Ipv4Net address) {
  TRY(check_name(name));
  std::string what = fmt::format("add address {} to {}", address.str(), name);
  if (address.prefix < 0 || address.prefix > 32)
    return Fail(ErrorCode::InvalidArgument, "{}: invalid prefix length", what);
  int index = TRY_CTX(what, require_index(name));
  nl::Request req(RTM_NEWADDR, kCreate);
  ifaddrmsg header{};
  header.ifa_family = AF_INET;
  header.ifa_prefixlen = static_cast<unsigned char>(address.prefix);
  header.ifa_scope = RT_SCOPE_UNIVERSE;
  header.ifa_index = static_cast<uint32_t>(index);
  req.put_header(header);
  req.put_u32(IFA_LOCAL, net_order(address.addr));
  req.put_u32(IFA_ADDRESS, net_order(address.addr));
  if (address.prefix < 31) req.put_u32(IFA_BROADCAST, net_order(address.broadcast()));
  auto done = socket_.request(req, what);
  if (!done && done.error().sys_errno() != EEXIST) return Err(done.error());
  return {};
}

Result<void> Netlink::add_default_route(Ipv4 gateway) {
  nl::Request req(RTM_NEWROUTE, kCreate);
  rtmsg header{};
  header.rtm_family = AF_INET;
  header.rtm_table = RT_TABLE_MAIN;
  header.rtm_protocol = RTPROT_BOOT;
  header.rtm_scope = RT_SCOPE_UNIVERSE;
  header.rtm_type = RTN_UNICAST;
  req.put_header(header);
  req.put_u32(RTA_GATEWAY, net_order(gateway));
  TRY(socket_.request(req, fmt::format("add default route via {}", gateway.str())));
  return {};
}

Result<void> Netlink::delete_link(const std::string& name) {
  TRY(check_name(name));
  auto req = link_request(RTM_DELLINK, 0, name);
  TRY(socket_.request(req, "delete link " + name));
  return {};
}

Result<std::optional<int>> Netlink::link_index(const std::string& name) {
  TRY(check_name(name));
  auto req = link_request(RTM_GETLINK, 0, name);
  req.put_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  auto replies = socket_.request(req, "look up link " + name);
  if (!replies) {
    if (replies.error().sys_errno() == ENODEV) return std::nullopt;
    return Err(replies.error());
  }
  for (const auto& msg : *replies)
    if (auto link = parse_link(msg)) return link->index;
  return Fail(ErrorCode::Internal, "look up link {}: no link in the kernel's answer", name);
}

Result<int> Netlink::require_index(const std::string& name) {
  auto index = TRY(link_index(name));
  if (!index) return Fail(ErrorCode::NotFound, "no network interface named {}", quote(name));
  return *index;
}

Result<std::string> Netlink::link_name(int index) {
  nl::Request req(RTM_GETLINK, 0);
  req.put_header(link_header(AF_UNSPEC, index));
  req.put_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  auto replies = TRY(socket_.request(req, fmt::format("look up link #{}", index)));
  for (const auto& msg : replies)
    if (auto link = parse_link(msg); link && !link->name.empty()) return link->name;
  return Fail(ErrorCode::Internal, "look up link #{}: no name in the kernel's answer", index);
}

Result<std::optional<std::string>> Netlink::master_of(const std::string& name) {
  TRY(check_name(name));
  std::string what = "look up master of " + name;
  auto req = link_request(RTM_GETLINK, 0, name);
  req.put_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  auto replies = TRY(socket_.request(req, what));
  for (const auto& msg : replies) {
    auto link = parse_link(msg);
    if (!link) continue;
    if (!link->master) return std::nullopt;
    return TRY_CTX(what, link_name(*link->master));
  }
  return Fail(ErrorCode::Internal, "{}: no link in the kernel's answer", what);
}

Result<std::vector<Ipv4Net>> Netlink::addresses_and_routes(const std::string& except_link) {
  std::vector<Ipv4Net> nets;
  int skip = -1;
  if (!except_link.empty()) skip = TRY(link_index(except_link)).value_or(-1);

  nl::Request addr_req(RTM_GETADDR, 0);
  ifaddrmsg addr_header{};
  addr_header.ifa_family = AF_INET;
  addr_req.put_header(addr_header);
  for (const auto& msg : TRY(socket_.dump(addr_req, "list IPv4 addresses"))) {
    auto header = nl::read_header<ifaddrmsg>(msg.payload);
    if (msg.type != RTM_NEWADDR || !header || header->ifa_family != AF_INET) continue;
    if (static_cast<int>(header->ifa_index) == skip) continue;
    std::optional<Ipv4> local, address;
    nl::for_each_attr(nl::attrs_after(msg.payload, sizeof(ifaddrmsg)),
                      [&](uint16_t type, std::span<const char> data) {
                        if (type == IFA_LOCAL) local = from_net_order(data);
                        if (type == IFA_ADDRESS) address = from_net_order(data);
                      });
    // IFA_LOCAL is the interface's own address; IFA_ADDRESS differs only on point-to-point links.
    if (auto ip = local ? local : address) nets.push_back(Ipv4Net{*ip, header->ifa_prefixlen});
  }

  nl::Request route_req(RTM_GETROUTE, 0);
  rtmsg route_header{};
  route_header.rtm_family = AF_INET;
  route_req.put_header(route_header);
  for (const auto& msg : TRY(socket_.dump(route_req, "list IPv4 routes"))) {
    auto header = nl::read_header<rtmsg>(msg.payload);
    if (msg.type != RTM_NEWROUTE || !header || header->rtm_family != AF_INET) continue;
    if (header->rtm_dst_len == 0) continue;  // the default route overlaps everything
    uint32_t table = header->rtm_table;
    Ipv4 dst;
    int oif = -1;
    nl::for_each_attr(nl::attrs_after(msg.payload, sizeof(rtmsg)),
                      [&](uint16_t type, std::span<const char> data) {
                        if (type == RTA_DST) dst = from_net_order(data);
                        if (type == RTA_TABLE) table = nl::attr_u32(data).value_or(table);
                        if (type == RTA_OIF) oif = static_cast<int>(nl::attr_u32(data).value_or(0));
                      });
    if (table != RT_TABLE_MAIN) continue;  // local/broadcast entries mirror the addresses
    if (skip >= 0 && oif == skip) continue;
    nets.push_back(Ipv4Net{dst, header->rtm_dst_len});
  }
  return nets;
}

Result<std::vector<std::string>> Netlink::links_with_prefix(const std::string& prefix) {
  nl::Request req(RTM_GETLINK, 0);
  req.put_header(link_header());
  req.put_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  std::vector<std::string> names;
  for (const auto& msg : TRY(socket_.dump(req, "list network interfaces"))) {
    auto link = parse_link(msg);
    if (link && link->name.starts_with(prefix)) names.push_back(link->name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace berth::network
