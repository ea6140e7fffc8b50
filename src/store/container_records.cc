#include "store/container_records.h"

namespace berth::store {
namespace {

constexpr std::string_view kColumns = "id, name, image_id, created, config, state";

ContainerRecord read_row(const Statement& s) {
  return ContainerRecord{s.text(0), s.text(1), s.text(2), s.text(3), s.text(4), s.text(5), {}};
}

Result<std::vector<std::string>> ids(Database& db, std::string_view sql, const std::string& arg) {
  auto s = TRY(db.prepare(sql));
  s.bind(1, arg);
  std::vector<std::string> out;
  while (TRY(s.step())) out.push_back(s.text(0));
  return out;
}

}  // namespace

Result<void> ContainerRecords::insert(const ContainerRecord& r) {
  return db_.transaction([&]() -> Result<void> {
    auto s = TRY(db_.prepare(
        "INSERT INTO containers (id, name, image_id, created, config, state) VALUES (?, ?, ?, ?, ?, ?)"));
    s.bind(1, r.id).bind(2, r.name).bind(3, r.image_id).bind(4, r.created).bind(5, r.config).bind(6, r.state);
    TRY(s.run());
    for (const auto& v : r.volumes) {
      auto link = TRY(db_.prepare("INSERT OR IGNORE INTO container_volumes (container_id, volume) VALUES (?, ?)"));
      link.bind(1, r.id).bind(2, v);
      TRY(link.run());
    }
    return {};
  });
}

Result<std::optional<ContainerRecord>> ContainerRecords::get(const std::string& id) {
  auto s = TRY(db_.prepare(fmt::format("SELECT {} FROM containers WHERE id = ?", kColumns)));
  s.bind(1, id);
  if (!TRY(s.step())) return std::optional<ContainerRecord>{};
  ContainerRecord r = read_row(s);
  r.volumes = TRY(ids(db_, "SELECT volume FROM container_volumes WHERE container_id = ? ORDER BY volume", id));
  return std::optional<ContainerRecord>{std::move(r)};
}

Result<std::optional<std::string>> ContainerRecords::find_by_name(const std::string& name) {
  auto found = TRY(ids(db_, "SELECT id FROM containers WHERE name = ?", name));
  if (found.empty()) return std::optional<std::string>{};
  return std::optional<std::string>{found[0]};
}

Result<std::vector<std::string>> ContainerRecords::find_by_id_prefix(const std::string& prefix) {
  // Prefixes are hex, so no LIKE wildcard can appear in them; checked by the caller.
  return ids(db_, "SELECT id FROM containers WHERE substr(id, 1, length(?1)) = ?1", prefix);
}

Result<std::vector<ContainerRecord>> ContainerRecords::list() {
  auto s = TRY(db_.prepare(fmt::format("SELECT {} FROM containers ORDER BY created, id", kColumns)));
  std::vector<ContainerRecord> out;
  while (TRY(s.step())) out.push_back(read_row(s));
  auto links = TRY(db_.prepare("SELECT container_id, volume FROM container_volumes ORDER BY volume"));
  while (TRY(links.step())) {
    std::string id = links.text(0);
    for (auto& r : out) {
      if (r.id == id) r.volumes.push_back(links.text(1));
    }
  }
  return out;
}

Result<void> ContainerRecords::set_state(const std::string& id, const std::string& state) {
  auto s = TRY(db_.prepare("UPDATE containers SET state = ? WHERE id = ?"));
  s.bind(1, state).bind(2, id);
  TRY(s.run());
  if (db_.changes() == 0) return Fail(ErrorCode::NotFound, "No such container: {}", id);
  return {};
}

Result<void> ContainerRecords::set_config(const std::string& id, const std::string& config) {
  auto s = TRY(db_.prepare("UPDATE containers SET config = ? WHERE id = ?"));
  s.bind(1, config).bind(2, id);
  TRY(s.run());
  if (db_.changes() == 0) return Fail(ErrorCode::NotFound, "No such container: {}", id);
  return {};
}

Result<void> ContainerRecords::rename(const std::string& id, const std::string& new_name) {
  auto s = TRY(db_.prepare("UPDATE containers SET name = ? WHERE id = ?"));
  s.bind(1, new_name).bind(2, id);
  TRY(s.run());
  if (db_.changes() == 0) return Fail(ErrorCode::NotFound, "No such container: {}", id);
  return {};
}

Result<void> ContainerRecords::remove(const std::string& id) {
  auto s = TRY(db_.prepare("DELETE FROM containers WHERE id = ?"));
  s.bind(1, id);
  return s.run();
}

Result<std::vector<std::string>> ContainerRecords::using_volume(const std::string& volume) {
  return ids(db_, "SELECT container_id FROM container_volumes WHERE volume = ? ORDER BY container_id", volume);
}

Result<std::vector<std::string>> ContainerRecords::using_image(const std::string& image_id) {
  return ids(db_, "SELECT id FROM containers WHERE image_id = ? ORDER BY id", image_id);
}

}  // namespace berth::store
