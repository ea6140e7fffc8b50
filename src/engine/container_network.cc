// `network connect` and `network disconnect`: a container's networks changed in its record,
// and, while it runs, plugged into or out of its network namespace at once.
#include <algorithm>

#include "base/scope_guard.h"
#include "engine/container_internal.h"
#include "engine/container_json.h"
#include "engine/container_service.h"
#include "engine/network_join.h"
#include "engine/network_service.h"
#include "network/netns.h"
#include "store/container_records.h"

namespace berth::engine {
namespace {

Result<void> refuse_shared_namespace(const Container& c) {
  if (!c.config.network.joins_networks())
    return Fail(ErrorCode::Conflict,
                "container {} uses the network mode {}: it cannot be connected to or disconnected from networks",
                c.name, c.config.network.mode);
  return {};
}

}  // namespace

Result<void> ContainerService::connect(const std::string& ref, NetworkAttachment a) {
  Container c = TRY(get(ref));
  TRY(refuse_shared_namespace(c));
  Network n = TRY(networks_->get(a.network));
  if (n.driver != "bridge") return Fail(ErrorCode::Conflict, "container cannot be connected to the {} network", n.name);
  if (n.is_default() && (!a.ipv4.empty() || !a.aliases.empty()))
    return Fail(ErrorCode::InvalidArgument, "--ip and --alias are supported on user defined networks only");
  auto& attachments = c.config.network.attachments;
  if (std::any_of(attachments.begin(), attachments.end(), [&](const auto& x) { return x.network == n.id; }))
    return Fail(ErrorCode::Conflict, "endpoint with name {} already exists in network {}", c.name, n.name);
  a.network = n.id;
  a.name = n.name;
  if (c.running()) {
    size_t index = 0;
    while (std::any_of(c.state.networks.begin(), c.state.networks.end(),
                       [&](const auto& e) { return e.veth == host_veth_name(c.id, index); }))
      ++index;
    EndpointState e = TRY(networks_->attach_endpoint(c, a, index));
    auto release = defer([&] { (void)networks_->detach_endpoint(n.id, c.id); });
    auto netns = TRY(network::open_netns_of(c.state.pid));
    TRY(join_endpoint(e, netns.get()));
    TRY(update_state(c.id, [&](ContainerState& s) { s.networks.push_back(e); }));
    release.dismiss();
  }
  attachments.push_back(a);
  return records_->set_config(c.id, container_to_json(c));
}

Result<void> ContainerService::disconnect(const std::string& ref, const std::string& network, bool force) {
  auto found = get(ref);
  if (!found) {
    if (force && found.error().code() == ErrorCode::NotFound) return {};
    return Err(found.error());
  }
  Container c = std::move(*found);
  TRY(refuse_shared_namespace(c));
  Network n = TRY(networks_->get(network));
  auto& attachments = c.config.network.attachments;
  auto it = std::find_if(attachments.begin(), attachments.end(), [&](const auto& x) { return x.network == n.id; });
  if (it == attachments.end())
    return Fail(ErrorCode::Conflict, "container {} is not connected to network {}", c.name, n.name);
  attachments.erase(it);
  if (c.running()) {
    auto e = std::find_if(c.state.networks.begin(), c.state.networks.end(), [&](const auto& x) { return x.network_id == n.id; });
    if (e != c.state.networks.end()) {
      TRY(leave_endpoint(*e));
      TRY(networks_->detach_endpoint(n.id, c.id));
      TRY(update_state(c.id, [&](ContainerState& s) {
        std::erase_if(s.networks, [&](const auto& x) { return x.network_id == n.id; });
      }));
    }
  }
  return records_->set_config(c.id, container_to_json(c));
}

}  // namespace berth::engine
