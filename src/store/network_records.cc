#include "store/network_records.h"

namespace berth::store {
namespace {

NetworkRecord read_network(const Statement& s) { return NetworkRecord{s.text(0), s.text(1), s.text(2), s.text(3)}; }
EndpointRecord read_endpoint(const Statement& s) { return EndpointRecord{s.text(0), s.text(1), s.text(2), s.text(3)}; }

Result<std::vector<EndpointRecord>> endpoints(Database& db, std::string_view where, const std::string& arg) {
  auto s = TRY(db.prepare(fmt::format(
      "SELECT network_id, container_id, ip, names FROM network_endpoints WHERE {} = ? ORDER BY rowid", where)));
  s.bind(1, arg);
  std::vector<EndpointRecord> out;
  while (TRY(s.step())) out.push_back(read_endpoint(s));
  return out;
}

}  // namespace

Result<void> NetworkRecords::insert(const NetworkRecord& r) {
  auto s = TRY(db_.prepare("INSERT INTO networks (id, name, created, config) VALUES (?, ?, ?, ?)"));
  s.bind(1, r.id).bind(2, r.name).bind(3, r.created).bind(4, r.config);
  return s.run();
}

Result<std::optional<NetworkRecord>> NetworkRecords::get(const std::string& id) {
  auto s = TRY(db_.prepare("SELECT id, name, created, config FROM networks WHERE id = ?"));
  s.bind(1, id);
  if (!TRY(s.step())) return std::optional<NetworkRecord>{};
  return std::optional<NetworkRecord>{read_network(s)};
}

Result<std::optional<std::string>> NetworkRecords::find_by_name(const std::string& name) {
  auto s = TRY(db_.prepare("SELECT id FROM networks WHERE name = ?"));
  s.bind(1, name);
  if (!TRY(s.step())) return std::optional<std::string>{};
  return std::optional<std::string>{s.text(0)};
}

Result<std::vector<std::string>> NetworkRecords::find_by_id_prefix(const std::string& prefix) {
  auto s = TRY(db_.prepare("SELECT id FROM networks WHERE substr(id, 1, length(?1)) = ?1"));
  s.bind(1, prefix);
  std::vector<std::string> out;
  while (TRY(s.step())) out.push_back(s.text(0));
  return out;
}

Result<std::vector<NetworkRecord>> NetworkRecords::list() {
  auto s = TRY(db_.prepare("SELECT id, name, created, config FROM networks ORDER BY created, id"));
  std::vector<NetworkRecord> out;
  while (TRY(s.step())) out.push_back(read_network(s));
  return out;
}

Result<void> NetworkRecords::remove(const std::string& id) {
  auto s = TRY(db_.prepare("DELETE FROM networks WHERE id = ?"));
  s.bind(1, id);
  return s.run();
}

Result<void> NetworkRecords::insert_endpoint(const EndpointRecord& e) {
  auto s = TRY(db_.prepare("INSERT INTO network_endpoints (network_id, container_id, ip, names) VALUES (?, ?, ?, ?)"));
  s.bind(1, e.network_id).bind(2, e.container_id).bind(3, e.ip).bind(4, e.names);
  return s.run();
}

Result<std::vector<EndpointRecord>> NetworkRecords::endpoints_of_network(const std::string& network_id) {
  return endpoints(db_, "network_id", network_id);
}

Result<std::vector<EndpointRecord>> NetworkRecords::endpoints_of_container(const std::string& container_id) {
  return endpoints(db_, "container_id", container_id);
}

Result<void> NetworkRecords::remove_endpoint(const std::string& network_id, const std::string& container_id) {
  auto s = TRY(db_.prepare("DELETE FROM network_endpoints WHERE network_id = ? AND container_id = ?"));
  s.bind(1, network_id).bind(2, container_id);
  return s.run();
}

}  // namespace berth::store
