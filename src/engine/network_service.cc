// Networks: the records, IPAM, and the host side of a network (bridge, sysctls, nftables).
#include "engine/network_service.h"

#include <algorithm>

#include "base/clock.h"
#include "base/digest.h"
#include "base/file_lock.h"
#include "base/fs.h"
#include "base/strings.h"
#include "image/snapshot_store.h"
#include "network/ipam.h"
#include "network/netlink.h"
#include "network/netns.h"
#include "network/nft_rules.h"
#include "store/container_records.h"
#include "store/database.h"
#include "store/network_records.h"
#include "engine/container_internal.h"
#include "engine/container_json.h"

namespace berth::engine {
namespace {

bool valid_network_name(std::string_view name) {
  if (name.empty() || !std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '-';
  });
}

// host and none: the pseudo-networks, listed and inspected like Docker's, never stored.
Network pseudo_network(std::string_view name) {
  Network n;
  n.name = std::string(name);
  n.id = sha256_of("berth-network-" + n.name).hex;
  n.driver = name == "host" ? "host" : "null";
  return n;
}

bool is_pseudo(std::string_view name) { return name == "host" || name == "none"; }

Result<Network> from_record(const store::NetworkRecord& r) {
  Network n;
  n.id = r.id;
  n.name = r.name;
  n.created = r.created;
  TRY_CTX("network " + r.name, network_config_from_json(r.config, n));
  return n;
}

bool matches(const Network& n, const std::string& filter) {
  auto eq = filter.find('=');
  std::string key = filter.substr(0, eq);
  std::string value = eq == std::string::npos ? "" : filter.substr(eq + 1);
  if (key == "name") return n.name.find(value) != std::string::npos;
  if (key == "id") return n.id.starts_with(value);
  if (key == "driver") return n.driver == value;
  if (key == "label") return label_filter_matches(n.labels, value);
  if (key == "type") return value == "custom" ? !n.is_default() && n.driver == "bridge" : n.is_default() || n.driver != "bridge";
  return false;
}

Result<void> check_filters(const std::vector<std::string>& filters) {
  for (const auto& f : filters) {
    std::string key = f.substr(0, f.find('='));
    if (key != "name" && key != "id" && key != "driver" && key != "label" && key != "type")
      return Fail(ErrorCode::InvalidArgument, "invalid filter '{}'", key);
  }
  return {};
}

}  // namespace

NetworkService::NetworkService(EngineOptions options, store::Database& db, std::string self)
    : options_(std::move(options)), db_(db), self_(std::move(self)),
      records_(std::make_unique<store::NetworkRecords>(db)) {}

NetworkService::~NetworkService() = default;

std::string NetworkService::network_run_dir(const std::string& id) const {
  return options_.runroot + "/networks/" + id.substr(0, 12);
}

Result<Network> NetworkService::create(const NetworkCreateRequest& req) {
  if (!valid_network_name(req.name))
    return Fail(ErrorCode::InvalidArgument, "invalid network name {}: it must match [a-zA-Z0-9][a-zA-Z0-9_.-]*",
                quote(req.name));
  if (req.name == kDefaultNetwork || is_pseudo(req.name))
    return Fail(ErrorCode::Conflict, "network with name {} already exists", req.name);
  if (req.driver != "bridge")
    return Fail(ErrorCode::InvalidArgument, "network driver {} is not supported: berth has \"bridge\" networks only",
                quote(req.driver));
  if (req.subnet.empty() && (!req.gateway.empty() || !req.ip_range.empty()))
    return Fail(ErrorCode::InvalidArgument, "--gateway and --ip-range need --subnet");
  Network n;
  n.id = image::random_hex(32);
  n.name = req.name;
  n.created = now_rfc3339_nano();
  n.internal = req.internal;
  n.labels = req.labels;
  n.bridge = "br-" + n.id.substr(0, 12);
  TRY(db_.transaction([&]() -> Result<void> {
    if (TRY(records_->find_by_name(req.name)))
      return Fail(ErrorCode::Conflict, "network with name {} already exists", req.name);
    std::vector<std::pair<std::string, network::Ipv4Net>> others;
    auto records = TRY(records_->list());
    for (const auto& r : records) {
      auto other = TRY(from_record(r));
      others.emplace_back(other.name, other.subnet);
    }
    std::optional<network::Ipv4Net> subnet;
    if (!req.subnet.empty()) {
      subnet = TRY_CTX("--subnet", network::parse_subnet(req.subnet));
      TRY(network::check_overlap(*subnet, others));
    } else {
      std::vector<network::Ipv4Net> taken;
      for (const auto& o : others) taken.push_back(o.second);
      auto nl = TRY(network::Netlink::open());
      auto host_nets = TRY(nl.addresses_and_routes());
      for (const auto& a : host_nets) taken.push_back(a);
      subnet = TRY(network::choose_subnet(taken, false));
    }
    std::optional<network::Ipv4> gateway;
    if (!req.gateway.empty()) gateway = TRY_CTX("--gateway", network::parse_ipv4(req.gateway));
    std::optional<network::Ipv4Net> range;
    if (!req.ip_range.empty()) range = TRY_CTX("--ip-range", network::parse_subnet(req.ip_range));
    auto pool = TRY(network::make_pool(*subnet, gateway, range));
    n.subnet = pool.subnet;
    n.gateway = pool.gateway;
    n.ip_range = pool.ip_range;
    return records_->insert(store::NetworkRecord{n.id, n.name, n.created, network_config_to_json(n)});
  }));
  return n;
}

Result<Network> NetworkService::load(const std::string& id) {
  auto r = TRY(records_->get(id));
  if (!r) return Fail(ErrorCode::NotFound, "network {} not found", id);
  return from_record(*r);
}

Result<Network> NetworkService::ensure_default() {
  if (auto id = TRY(records_->find_by_name(kDefaultNetwork))) return load(*id);
  Network n;
  n.id = image::random_hex(32);
  n.name = kDefaultNetwork;
  n.created = now_rfc3339_nano();
  n.bridge = kDefaultBridge;
  std::vector<network::Ipv4Net> taken;
  auto stored = TRY(records_->list());
  for (const auto& r : stored) taken.push_back(TRY(from_record(r)).subnet);
  auto nl = TRY(network::Netlink::open());
  // An existing berth0 (a crashed first use, or another --root on this machine) is reused:
  // its own address must not push the default network off its usual subnet.
  auto host_routes = TRY(nl.addresses_and_routes(kDefaultBridge));
  for (const auto& a : host_routes) taken.push_back(a);
  auto subnet = TRY(network::choose_subnet(taken, true));
  auto pool = TRY(network::make_pool(subnet, std::nullopt, std::nullopt));
  n.subnet = pool.subnet;
  n.gateway = pool.gateway;
  auto inserted = records_->insert(store::NetworkRecord{n.id, n.name, n.created, network_config_to_json(n)});
  if (!inserted && inserted.error().code() == ErrorCode::AlreadyExists) {
    // Another command made it first.
    if (auto id = TRY(records_->find_by_name(kDefaultNetwork))) return load(*id);
  }
  if (!inserted) return Err(inserted.error());
  return n;
}

Result<Network> NetworkService::get(const std::string& ref) {
  if (is_pseudo(ref)) return pseudo_network(ref);
  if (ref == kDefaultNetwork) return ensure_default();
  if (auto id = TRY(records_->find_by_name(ref))) return load(*id);
  for (auto p : {"host", "none"}) {
    if (ref.size() >= 6 && pseudo_network(p).id.starts_with(ref)) return pseudo_network(p);
  }
  if (is_lower_hex(ref)) {
    auto ids = TRY(records_->find_by_id_prefix(ref));
    if (ids.size() == 1) return load(ids[0]);
    if (ids.size() > 1) return Fail(ErrorCode::Conflict, "network {} is ambiguous ({} matches found based on ID prefix)", ref, ids.size());
  }
  return Fail(ErrorCode::NotFound, "network {} not found", ref);
}

Result<std::vector<Network>> NetworkService::list(const std::vector<std::string>& filters) {
  TRY(check_filters(filters));
  TRY(ensure_default());
  std::vector<Network> all;
  auto stored_all = TRY(records_->list());
  for (const auto& r : stored_all) all.push_back(TRY(from_record(r)));
  all.push_back(pseudo_network("host"));
  all.push_back(pseudo_network("none"));
  std::vector<Network> out;
  for (auto& n : all) {
    if (std::all_of(filters.begin(), filters.end(), [&](const std::string& f) { return matches(n, f); }))
      out.push_back(std::move(n));
  }
  return out;
}

Result<std::vector<std::string>> NetworkService::containers_on(const Network& n) {
  store::ContainerRecords containers(db_);
  std::vector<std::string> out;
  auto rows = TRY(containers.list());
  for (const auto& r : rows) {
    auto c = TRY(container_from_json(r.config));
    for (const auto& a : c.config.network.attachments) {
      if (a.network == n.id) out.push_back(r.id);
    }
  }
  return out;
}

Result<void> NetworkService::remove(const std::string& ref) {
  Network n = TRY(get(ref));
  if (n.is_default() || is_pseudo(n.name))
    return Fail(ErrorCode::PermissionDenied, "{} is a pre-defined network and cannot be removed", n.name);
  TRY(db_.transaction([&]() -> Result<void> {
    auto users = TRY(containers_on(n));
    if (!users.empty())
      return Fail(ErrorCode::Conflict, "error while removing network: network {} id {} has active endpoints", n.name, n.id);
    return records_->remove(n.id);
  }));
  network::NftRules nft;
  if (auto r = nft.remove_network(n.id); !r) return Err(r.error().context("remove network " + n.name));
  auto nl = TRY(network::Netlink::open());
  if (auto r = nl.delete_link(n.bridge); !r && r.error().code() != ErrorCode::NotFound) return Err(r.error());
  (void)remove_all(network_run_dir(n.id));
  return {};
}

Result<std::vector<std::string>> NetworkService::prune(const std::vector<std::string>& filters) {
  std::vector<std::string> removed;
  auto candidates = TRY(list(filters));
  for (const auto& n : candidates) {
    if (n.is_default() || is_pseudo(n.name)) continue;
    if (!TRY(containers_on(n)).empty()) continue;
    auto r = remove(n.id);
    if (r) removed.push_back(n.name);
    else if (r.error().code() != ErrorCode::Conflict) return Err(r.error());
  }
  return removed;
}

Result<void> NetworkService::realize(const Network& n) {
  std::string dir = network_run_dir(n.id);
  std::string marker = dir + "/realized";
  auto nl = TRY(network::Netlink::open());
  bool present = TRY(nl.link_index(n.bridge)).has_value();
  if (present && path_exists(marker)) return {};
  TRY(make_dirs(dir, 0700));
  // One command at a time makes the host side; the others wait and find it made.
  auto lock = TRY(FileLock::acquire(dir + "/realize.lock", FileLock::Mode::Exclusive));
  present = TRY(nl.link_index(n.bridge)).has_value();
  if (present && path_exists(marker)) return {};
  std::string what = fmt::format("set up network {} (bridge {})", n.name, n.bridge);
  if (!present) {
    auto made = nl.create_bridge(n.bridge);
    if (!made && made.error().code() != ErrorCode::AlreadyExists) return Err(made.error().context(what));
  }
  TRY_CTX(what, nl.add_address(n.bridge, network::Ipv4Net{n.gateway, n.subnet.prefix}));
  TRY_CTX(what, nl.set_up(n.bridge));
  // Published ports on 127.0.0.1 are routed to the bridge: the kernel must accept the
  // loopback source there (berth's postrouting rule then masquerades it).
  TRY_CTX(what, network::write_sysctl("net/ipv4/conf/" + n.bridge + "/route_localnet", "1"));
  if (!n.internal) {
    auto forward = read_file("/proc/sys/net/ipv4/ip_forward");
    if (!forward || trim(*forward) != "1") TRY_CTX(what, network::write_sysctl("net/ipv4/ip_forward", "1"));
  }
  network::NftRules nft;
  TRY_CTX(what, nft.add_network(network::NetworkRule{n.id, n.bridge, network::Ipv4Net{n.subnet.network(), n.subnet.prefix}, n.internal}));
  return write_file_atomic(marker, "", 0600);
}

std::string mac_for_ip(network::Ipv4 ip) {
  uint32_t v = ip.value;
  return fmt::format("02:42:{:02x}:{:02x}:{:02x}:{:02x}", v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
}

}  // namespace berth::engine
