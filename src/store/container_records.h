// Container metadata in berth.db: one row per container with its create request (config) and
// its current state as JSON the engine owns, plus which volumes each container uses. Names are
// unique, so two commands creating the same name race safely: one insert fails.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "store/database.h"

namespace berth::store {

struct ContainerRecord {
  std::string id;
  std::string name;
  std::string image_id;
  std::string created;
  std::string config;  // JSON, engine-defined
  std::string state;   // JSON, engine-defined
  std::vector<std::string> volumes;
};

class ContainerRecords {
 public:
  explicit ContainerRecords(Database& db) : db_(db) {}

  // Inserts the row and its volume links. AlreadyExists when the name (or id) is taken.
  Result<void> insert(const ContainerRecord& record);
  Result<std::optional<ContainerRecord>> get(const std::string& id);
  Result<std::optional<std::string>> find_by_name(const std::string& name);
  // IDs starting with prefix.
  Result<std::vector<std::string>> find_by_id_prefix(const std::string& prefix);
  // Every container, oldest first.
  Result<std::vector<ContainerRecord>> list();
  // Replaces the state JSON; NotFound when the container is gone.
  Result<void> set_state(const std::string& id, const std::string& state);
  // Replaces the config JSON.
  Result<void> set_config(const std::string& id, const std::string& config);
  // AlreadyExists when new_name is taken.
  Result<void> rename(const std::string& id, const std::string& new_name);
  Result<void> remove(const std::string& id);
  // IDs of the containers using a volume / an image.
  Result<std::vector<std::string>> using_volume(const std::string& volume);
  Result<std::vector<std::string>> using_image(const std::string& image_id);

  Database& db() { return db_; }

 private:
  Database& db_;
};

}  // namespace berth::store
