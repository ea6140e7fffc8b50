#include "network/nft_rules.h"

#include <algorithm>
#include <exception>
#include <nlohmann/json.hpp>
#include <set>

#include "base/strings.h"
#include "network/nft_exec.h"

namespace berth::network {
namespace {

using nlohmann::json;

constexpr std::string_view kTable = "ip berth";
// A removal whose handle a concurrent berth process deleted first is listed and tried again.
constexpr int kAttempts = 3;

// What a listing of the table holds that removal needs.
struct RuleRef {
  std::string chain;
  uint64_t handle = 0;
  std::string comment;
  std::string iifname;  // the bridge of a forward rule: `iifname "<br>" ...`
};
struct TableState {
  bool exists = false;
  std::vector<RuleRef> rules;
  std::set<std::string> bridges;  // elements of the set `bridges`
};

bool valid_name_chars(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

// Ids go into nft's text and comments (at most 128 bytes), so only a plain alphabet passes.
Result<void> check_id(std::string_view id, std::string_view what) {
  if (id.empty() || id.size() > 100 || !valid_name_chars(id))
    return Fail(ErrorCode::InvalidArgument, "invalid {} id {}: want 1-100 of [A-Za-z0-9_.-]", what,
                quote(id));
  return {};
}

Result<void> check_bridge(std::string_view name) {
  if (name.empty() || name.size() > 15 || !valid_name_chars(name) || name == "." || name == "..")
    return Fail(ErrorCode::InvalidArgument, "invalid bridge name {}: want 1-15 of [A-Za-z0-9_.-]",
                quote(name));
  return {};
}

std::string subnet_text(Ipv4Net net) { return Ipv4Net{net.network(), net.prefix}.str(); }

// The table, its chains and its set, declared with the idempotent `add`; the two jumps into
// `ports` are flushed and added again so that racing batches leave exactly one of each.
std::string preamble() {
  return fmt::format(
      "add table {0}\n"
      "add chain {0} prerouting {{ type nat hook prerouting priority dstnat; policy accept; }}\n"
      "add chain {0} output {{ type nat hook output priority -100; policy accept; }}\n"
      "add chain {0} ports\n"
      "add chain {0} postrouting {{ type nat hook postrouting priority srcnat; policy accept; }}\n"
      "add chain {0} forward {{ type filter hook forward priority filter; policy accept; }}\n"
      "add set {0} bridges {{ type ifname; }}\n"
      "flush chain {0} prerouting\n"
      "add rule {0} prerouting fib daddr type local ip daddr != 127.0.0.0/8 jump ports\n"
      "flush chain {0} output\n"
      "add rule {0} output fib daddr type local jump ports\n",
      kTable);
}

std::string delete_rules(const TableState& state, std::string_view comment) {
  std::string out;
  for (const auto& r : state.rules)
    if (r.comment == comment)
      out += fmt::format("delete rule {} {} handle {}\n", kTable, r.chain, r.handle);
  return out;
}

// Deletes from the set the bridges of network `comment` that no other network's rules name.
std::string delete_bridge_elements(const TableState& state, std::string_view comment,
                                   std::string_view keep = {}) {
  std::set<std::string> mine, others;
  for (const auto& r : state.rules) {
    if (r.iifname.empty() || !starts_with(r.comment, "n:")) continue;
    (r.comment == comment ? mine : others).insert(r.iifname);
  }
  std::string out;
  for (const auto& br : mine)
    if (br != keep && !others.contains(br) && state.bridges.contains(br))
      out += fmt::format("delete element {} bridges {{ \"{}\" }}\n", kTable, br);
  return out;
}

std::string string_or_empty(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The bridge a forward rule applies to: the right side of its `iifname == "<br>"` match.
std::string rule_iifname(const json& rule) {
  auto expr = rule.find("expr");
  if (expr == rule.end() || !expr->is_array()) return {};
  for (const auto& e : *expr) {
    if (!e.is_object() || !e.contains("match")) continue;
    const json& m = e["match"];
    if (!m.is_object() || string_or_empty(m, "op") != "==") continue;
    auto left = m.find("left");
    if (left == m.end() || !left->is_object() || !left->contains("meta")) continue;
    const json& meta = (*left)["meta"];
    if (meta.is_object() && string_or_empty(meta, "key") == "iifname")
      return string_or_empty(m, "right");
  }
  return {};
}

Result<TableState> parse_listing(const std::string& text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("nftables") ||
      !doc["nftables"].is_array())
    return Fail(ErrorCode::Internal, "unexpected output of nft -j: {}", quote(text.substr(0, 200)));
  TableState state;
  state.exists = true;
  try {
    for (const auto& item : doc["nftables"]) {
      if (!item.is_object()) continue;
      if (auto r = item.find("rule"); r != item.end() && r->is_object()) {
        auto h = r->find("handle");
        if (h == r->end() || !h->is_number_unsigned()) continue;
        state.rules.push_back({string_or_empty(*r, "chain"), h->get<uint64_t>(),
                               string_or_empty(*r, "comment"), rule_iifname(*r)});
      } else if (auto s = item.find("set"); s != item.end() && s->is_object()) {
        if (string_or_empty(*s, "name") != "bridges") continue;
        auto elems = s->find("elem");
        if (elems == s->end()) continue;
        // One element is printed as a plain value, several as an array.
        json list = elems->is_array() ? *elems : json::array({*elems});
        for (const auto& e : list) {
          if (e.is_string())
            state.bridges.insert(e.get<std::string>());
          else if (e.is_object() && e.contains("elem") && e["elem"].is_object())
            state.bridges.insert(string_or_empty(e["elem"], "val"));
        }
      }
    }
  } catch (const std::exception& e) {
    return Fail(ErrorCode::Internal, "unexpected output of nft -j: {}", e.what());
  }
  return state;
}


// The table as the kernel holds it; an absent table is empty.
Result<TableState> list_table(const std::string& nft_path) {
  auto out = run_nft(nft_path, {"-j", "-a", "list", "table", "ip", "berth"});
  if (!out) {
    // nft's own "No such file or directory" (errno 0), not a missing nft binary.
    if (out.error().code() == ErrorCode::NotFound && out.error().sys_errno() == 0)
      return TableState{};
    return Err(std::move(out.error()));
  }
  return parse_listing(*out);
}

// Lists the table, builds a batch from it and applies it; lists again when a concurrent berth
// process deleted a listed handle first. An empty batch means nothing to do.
template <class Build>
Result<void> apply_from_listing(const std::string& nft_path, Build build) {
  for (int attempt = 1;; ++attempt) {
    TableState state = TRY(list_table(nft_path));
    std::string batch = build(state);
    if (batch.empty()) return {};
    auto applied = nft_apply(nft_path, batch);
    if (applied || attempt == kAttempts || applied.error().code() != ErrorCode::NotFound)
      return applied;
  }
}

}  // namespace

NftRules::NftRules(std::string nft_path) : nft_path_(std::move(nft_path)) {}

Result<void> NftRules::add_network(const NetworkRule& n) {
  std::string what = fmt::format("add firewall rules of network {}", n.id);
  TRY_CTX(what, check_id(n.id, "network"));
  TRY_CTX(what, check_bridge(n.bridge));
  std::string comment = "n:" + n.id;
  std::string subnet = subnet_text(n.subnet);
  auto rule = [&](std::string_view chain, std::string_view body) {
    return fmt::format("add rule {} {} {} comment \"{}\"\n", kTable, chain, body, comment);
  };
  std::string rules = fmt::format("add element {} bridges {{ \"{}\" }}\n", kTable, n.bridge);
  if (n.internal) {
    rules += rule("forward", fmt::format("iifname \"{0}\" oifname != \"{0}\" drop", n.bridge));
    rules += rule("forward", fmt::format("oifname \"{0}\" iifname != \"{0}\" drop", n.bridge));
  } else {
    rules += rule("forward", fmt::format("iifname \"{0}\" oifname != \"{0}\" oifname @bridges drop",
                                         n.bridge));
    rules += rule("postrouting",
                  fmt::format("ip saddr {} oifname != \"{}\" masquerade", subnet, n.bridge));
  }
  // localhost -> container (the engine sets route_localnet on the bridge), and hairpin: a
  // container reaching a published port of a neighbour through a host address.
  rules +=
      rule("postrouting", fmt::format("ip saddr 127.0.0.0/8 oifname \"{}\" masquerade", n.bridge));
  rules += rule("postrouting", fmt::format("ct status dnat ip saddr {} oifname \"{}\" masquerade",
                                           subnet, n.bridge));

  auto r = apply_from_listing(nft_path_, [&](const TableState& state) {
    return preamble() + delete_rules(state, comment) +
           delete_bridge_elements(state, comment, n.bridge) + rules;
  });
  if (!r) return Err(std::move(r.error().context(what)));
  return {};
}

Result<void> NftRules::remove_network(const std::string& id) {
  std::string what = fmt::format("remove firewall rules of network {}", id);
  TRY_CTX(what, check_id(id, "network"));
  std::string comment = "n:" + id;
  auto r = apply_from_listing(nft_path_, [&](const TableState& state) {
    return delete_bridge_elements(state, comment) + delete_rules(state, comment);
  });
  if (!r) return Err(std::move(r.error().context(what)));
  return {};
}

Result<void> NftRules::add_ports(const std::string& container_id, const std::string& bridge,
                                 Ipv4Net subnet, const std::vector<PortRule>& ports) {
  std::string what = fmt::format("publish ports of container {}", container_id);
  TRY_CTX(what, check_id(container_id, "container"));
  TRY_CTX(what, check_bridge(bridge));
  if (ports.empty()) return {};
  std::string comment = "c:" + container_id;
  std::string batch = preamble();
  for (const auto& p : ports) {
    std::string proto(to_string(p.proto));
    if (p.host_port == 0 || p.container_port == 0)
      return Fail(ErrorCode::InvalidArgument, "{}: port 0 in {}:{} -> {}:{}/{}", what,
                  p.host_ip ? p.host_ip->str() : "0.0.0.0", p.host_port, p.container_ip.str(),
                  p.container_port, proto);
    if (!subnet.contains(p.container_ip))
      return Fail(ErrorCode::InvalidArgument, "{}: container address {} is not in network {}", what,
                  p.container_ip.str(), subnet_text(subnet));
    std::string daddr =
        p.host_ip && p.host_ip->value != 0 ? fmt::format("ip daddr {} ", p.host_ip->str()) : "";
    batch +=
        fmt::format("add rule {} ports {}{} dport {} dnat to {}:{} comment \"{}\"\n", kTable, daddr,
                    proto, p.host_port, p.container_ip.str(), p.container_port, comment);
    batch += fmt::format(
        "add rule {0} postrouting ip saddr {1} ip daddr {1} oifname \"{2}\" {3} dport {4} "
        "masquerade comment \"{5}\"\n",
        kTable, p.container_ip.str(), bridge, proto, p.container_port, comment);
  }
  TRY_CTX(what, nft_apply(nft_path_, batch));
  return {};
}

Result<void> NftRules::remove_ports(const std::string& container_id) {
  std::string what = fmt::format("remove published ports of container {}", container_id);
  TRY_CTX(what, check_id(container_id, "container"));
  std::string comment = "c:" + container_id;
  auto r = apply_from_listing(
      nft_path_, [&](const TableState& state) { return delete_rules(state, comment); });
  if (!r) return Err(std::move(r.error().context(what)));
  return {};
}

Result<std::vector<std::string>> NftRules::containers_with_ports() {
  TableState state = TRY_CTX("list published ports", list_table(nft_path_));
  std::set<std::string> ids;
  for (const auto& r : state.rules)
    if (starts_with(r.comment, "c:")) ids.insert(r.comment.substr(2));
  return std::vector<std::string>(ids.begin(), ids.end());
}

Result<void> NftRules::remove_all() {
  // `add` first makes the delete succeed when the table is absent, in one atomic batch.
  TRY_CTX("delete nftables table ip berth",
          nft_apply(nft_path_, fmt::format("add table {0}\ndelete table {0}\n", kTable)));
  return {};
}

}  // namespace berth::network
