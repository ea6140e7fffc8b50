#include "oci/runtime_spec.h"

namespace berth::oci {

std::string_view to_string(NamespaceType t) {
  switch (t) {
    case NamespaceType::Pid: return "pid";
    case NamespaceType::Network: return "network";
    case NamespaceType::Mount: return "mount";
    case NamespaceType::Ipc: return "ipc";
    case NamespaceType::Uts: return "uts";
    case NamespaceType::User: return "user";
    case NamespaceType::Cgroup: return "cgroup";
    case NamespaceType::Time: return "time";
  }
  return "unknown";
}

std::optional<NamespaceType> namespace_from_string(std::string_view s) {
  for (auto t : {NamespaceType::Pid, NamespaceType::Network, NamespaceType::Mount, NamespaceType::Ipc,
                 NamespaceType::Uts, NamespaceType::User, NamespaceType::Cgroup, NamespaceType::Time}) {
    if (to_string(t) == s) return t;
  }
  return std::nullopt;
}

const Namespace* Linux::find_namespace(NamespaceType t) const {
  for (const auto& ns : namespaces) {
    if (ns.type == t) return &ns;
  }
  return nullptr;
}

bool Linux::has_namespace(NamespaceType t) const { return find_namespace(t) != nullptr; }

}  // namespace berth::oci
