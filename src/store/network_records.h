// Network metadata in berth.db: one row per network with its configuration as JSON the engine
// owns, and one row per address handed out to a running container. Names and, per network,
// addresses are unique, so two commands racing for either fail one insert instead of sharing.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "store/database.h"

namespace berth::store {

struct NetworkRecord {
  std::string id;
  std::string name;
  std::string created;
  std::string config;  // JSON, engine-defined
};

struct EndpointRecord {
  std::string network_id;
  std::string container_id;
  std::string ip;     // dotted quad
  std::string names;  // space-separated DNS names
};

class NetworkRecords {
 public:
  explicit NetworkRecords(Database& db) : db_(db) {}

  // AlreadyExists when the name (or id) is taken.
  Result<void> insert(const NetworkRecord& record);
  Result<std::optional<NetworkRecord>> get(const std::string& id);
  Result<std::optional<std::string>> find_by_name(const std::string& name);
  Result<std::vector<std::string>> find_by_id_prefix(const std::string& prefix);
  // Every network, oldest first.
  Result<std::vector<NetworkRecord>> list();
  Result<void> remove(const std::string& id);

  // AlreadyExists when the address is taken on that network (or the container has one there).
  Result<void> insert_endpoint(const EndpointRecord& endpoint);
  Result<std::vector<EndpointRecord>> endpoints_of_network(const std::string& network_id);
  Result<std::vector<EndpointRecord>> endpoints_of_container(const std::string& container_id);
  Result<void> remove_endpoint(const std::string& network_id, const std::string& container_id);

  Database& db() { return db_; }

 private:
  Database& db_;
};

}  // namespace berth::store
