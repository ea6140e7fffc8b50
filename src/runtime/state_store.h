// What the runtime remembers about a container between commands: one directory per container
// under the runtime root holding state.json (written by rename), the config it was created
// from, and the exec socket that `start` connects to.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "oci/runtime_spec.h"

namespace berth::runtime {

struct ContainerRecord {
  oci::State state;               // status is "created" or "running" as last recorded
  uint64_t init_start_time = 0;   // /proc/<pid>/stat starttime: tells a reused pid apart
  std::string cgroups_path;       // linux.cgroupsPath as given (empty: default)
  bool has_hooks = false;         // poststart/poststop hooks: the saved config must be read
};

class StateStore {
 public:
  explicit StateStore(std::string root) : root_(std::move(root)) {}

  const std::string& root() const { return root_; }
  std::string dir(const std::string& id) const { return root_ + "/" + id; }

  // Makes the container's directory; AlreadyExists when the id is taken.
  Result<void> reserve(const std::string& id) const;
  Result<void> save(const ContainerRecord& record) const;
  // NotFound ("container \"x\" does not exist") when there is no such container.
  Result<ContainerRecord> load(const std::string& id) const;
  Result<std::vector<std::string>> ids() const;
  Result<void> remove(const std::string& id) const;

 private:
  std::string root_;
};

// Container ids: 1-1024 characters of [A-Za-z0-9_.+-], not starting with '.' (no paths).
Result<void> validate_container_id(std::string_view id);

// starttime of a process (field 22 of /proc/<pid>/stat); NotFound when it is gone.
Result<uint64_t> process_start_time(pid_t pid);
// True when pid still runs (not a zombie) and is the same process that was recorded.
bool process_matches(pid_t pid, uint64_t start_time);


}  // namespace berth::runtime
