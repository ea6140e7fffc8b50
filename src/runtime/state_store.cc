#include "runtime/state_store.h"

#include <dirent.h>
#include <sys/stat.h>
#include <time.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/strings.h"

namespace berth::runtime {

Result<void> validate_container_id(std::string_view id) {
  if (id.empty()) return Fail(ErrorCode::InvalidArgument, "container id must not be empty");
  if (id.size() > 1024) return Fail(ErrorCode::InvalidArgument, "container id is longer than 1024 characters");
  if (id[0] == '.') return Fail(ErrorCode::InvalidArgument, "invalid container id \"{}\": must not start with '.'", id);
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-' || c == '.' || c == '+';
    if (!ok) return Fail(ErrorCode::InvalidArgument, "invalid container id \"{}\": only [A-Za-z0-9_.+-] are allowed", id);
  }
  return {};
}

Result<void> StateStore::reserve(const std::string& id) const {
  TRY(make_dirs(root_, 0700));
  if (::mkdir(dir(id).c_str(), 0711) != 0) {
    if (errno == EEXIST) return Fail(ErrorCode::AlreadyExists, "container with id \"{}\" already exists", id);
    return FailErrno(errno, "mkdir {}", dir(id));
  }
  return {};
}

Result<void> StateStore::save(const ContainerRecord& r) const {
  nlohmann::json j = nlohmann::json::parse(oci::state_to_json(r.state, false));
  j["berth"] = {{"initStartTime", r.init_start_time},
                {"cgroupsPath", r.cgroups_path},
                {"hooks", r.has_hooks}};
  return write_file_atomic(dir(r.state.id) + "/state.json", j.dump(), 0600);
}

Result<ContainerRecord> StateStore::load(const std::string& id) const {
  TRY(validate_container_id(id));
  auto text = read_file(dir(id) + "/state.json");
  if (!text) {
    if (text.error().code() == ErrorCode::NotFound)
      return Fail(ErrorCode::NotFound, "container \"{}\" does not exist", id);
    return Err(text.error());
  }
  ContainerRecord r;
  r.state = TRY_CTX("state of " + id, oci::parse_state(*text));
  try {
    auto j = nlohmann::json::parse(*text);
    if (j.contains("berth")) {
      r.init_start_time = j["berth"].value("initStartTime", uint64_t{0});
      r.cgroups_path = j["berth"].value("cgroupsPath", std::string());
      r.has_hooks = j["berth"].value("hooks", false);
    }
  } catch (const std::exception& e) {
    return Fail(ErrorCode::Internal, "state of {}: {}", id, e.what());
  }
  return r;
}

Result<std::vector<std::string>> StateStore::ids() const {
  std::vector<std::string> out;
  DIR* d = ::opendir(root_.c_str());
  if (!d) {
    if (errno == ENOENT) return out;
    return FailErrno(errno, "open {}", root_);
  }
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (path_exists(dir(name) + "/state.json")) out.push_back(name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

Result<void> StateStore::remove(const std::string& id) const { return remove_all(dir(id)); }

Result<uint64_t> process_start_time(pid_t pid) {
  auto text = read_file(fmt::format("/proc/{}/stat", pid));
  if (!text) return Fail(ErrorCode::NotFound, "process {} is gone", pid);
  // comm may hold spaces and parentheses: fields start after the last ')'.
  size_t close = text->rfind(')');
  if (close == std::string::npos) return Fail(ErrorCode::Internal, "malformed /proc/{}/stat", pid);
  auto fields = split(std::string_view(*text).substr(close + 2), ' ');
  // fields[0] is the state (field 3); starttime is field 22.
  if (fields.size() < 20) return Fail(ErrorCode::Internal, "malformed /proc/{}/stat", pid);
  if (fields[0] == "Z" || fields[0] == "X") return Fail(ErrorCode::NotFound, "process {} has exited", pid);
  return parse_uint(fields[19], "starttime");
}

bool process_matches(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return false;
  auto st = process_start_time(pid);
  return st && *st == start_time;
}


}  // namespace berth::runtime
