// Runtime::state, list, kill, remove, pause, resume and pids.
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "base/fs.h"
#include "base/unix_socket.h"
#include "base/log.h"
#include "base/strings.h"
#include "base/syscalls.h"
#include "runtime/hooks.h"
#include "runtime/runtime_internal.h"

namespace berth::runtime {

Result<std::shared_ptr<CgroupManager>> Runtime::cgroup(const std::string& id,
                                                       const std::string& cgroups_path) const {
  auto it = cgroups_.find(id);
  if (it != cgroups_.end()) return it->second;
  CgroupLayout layout = TRY(detect_cgroup_layout(options_.cgroup_root));
  std::shared_ptr<CgroupManager> manager =
      TRY(make_cgroup_manager(layout, options_.cgroup_root, cgroups_path, id));
  cgroups_[id] = manager;
  return manager;
}

std::string live_status(const ContainerRecord& record, CgroupManager* cgroup) {
  if (!process_matches(record.state.pid, record.init_start_time)) return "stopped";
  if (record.state.status == "created") return "created";
  if (cgroup) {
    auto frozen = cgroup->is_frozen();
    if (frozen && *frozen) return "paused";
  }
  return "running";
}

Result<UniqueFd> listen_unix(const std::string& path) { return listen_unix_socket(path, SOCK_STREAM, 1); }

Result<UniqueFd> connect_unix(const std::string& path) { return connect_unix_socket(path, SOCK_STREAM); }

bool wait_gone(pid_t pid, uint64_t start_time, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (process_matches(pid, start_time)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

Result<oci::State> Runtime::state(const std::string& id) const {
  StateStore store(options_.root);
  ContainerRecord record = TRY(store.load(id));
  auto cgroup = this->cgroup(id, record.cgroups_path);
  record.state.status = live_status(record, cgroup ? cgroup->get() : nullptr);
  if (record.state.status == "stopped") record.state.pid = 0;
  return record.state;
}

Result<std::vector<oci::State>> Runtime::list() const {
  StateStore store(options_.root);
  std::vector<oci::State> out;
  for (const auto& id : TRY(store.ids())) {
    auto st = state(id);
    if (st) out.push_back(std::move(*st));
  }
  return out;
}

Result<oci::Spec> Runtime::config(const std::string& id) const {
  StateStore store(options_.root);
  std::string text = TRY(read_file(store.dir(id) + "/config.json"));
  return oci::parse_spec(text);
}

Result<void> Runtime::kill(const std::string& id, int signal, bool all) {
  StateStore store(options_.root);
  ContainerRecord record = TRY(store.load(id));
  auto cgroup = TRY(this->cgroup(id, record.cgroups_path));
  std::string status = live_status(record, cgroup.get());
  if (status == "stopped") return Fail(ErrorCode::Conflict, "container \"{}\" is not running", id);
  if (all) return cgroup->kill_all(signal);
  UniqueFd pidfd(sys::pidfd_open(record.state.pid));
  // The pidfd pins the process: check it is still the init we recorded, then signal it.
  if (!pidfd || !process_matches(record.state.pid, record.init_start_time))
    return Fail(ErrorCode::Conflict, "container \"{}\" is not running", id);
  if (sys::pidfd_send_signal(pidfd.get(), signal) != 0)
    return FailErrno(errno, "signal {} to container {}", signal, id);
  return {};
}

Result<void> Runtime::remove(const std::string& id, bool force) {
  StateStore store(options_.root);
  ContainerRecord record = TRY(store.load(id));
  auto cgroup = TRY(this->cgroup(id, record.cgroups_path));
  std::string status = live_status(record, cgroup.get());
  if (status != "stopped") {
    if (!force && status != "created")
      return Fail(ErrorCode::Conflict, "cannot delete container \"{}\" that is not stopped: {}", id, status);
    if (status == "paused") (void)cgroup->thaw();
    (void)cgroup->kill_all(SIGKILL);
    if (process_matches(record.state.pid, record.init_start_time)) ::kill(record.state.pid, SIGKILL);
    if (!wait_gone(record.state.pid, record.init_start_time, 10000))
      return Fail(ErrorCode::Unavailable, "container \"{}\" did not exit after SIGKILL", id);
  }
  // Children of the init that were reparented may still be dying: empty the cgroup.
  auto left = cgroup->pids();
  for (int i = 0; left && !left->empty() && i < 500; ++i) {
    (void)cgroup->kill_all(SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    left = cgroup->pids();
  }
  if (record.has_hooks) {
    auto spec = config(id);
    if (spec && spec->hooks && !spec->hooks->poststop.empty()) {
      oci::State st = record.state;
      st.status = "stopped";
      auto r = run_hooks(prepare_hooks(spec->hooks->poststop), "poststop", oci::state_to_json(st, false));
      if (!r) log::warn("{}", r.error().what());
    }
  }
  TRY_CTX("delete " + id, cgroup->destroy());
  forget_cgroup(id);
  return store.remove(id);
}

Result<void> Runtime::pause(const std::string& id) {
  StateStore store(options_.root);
  ContainerRecord record = TRY(store.load(id));
  auto cgroup = TRY(this->cgroup(id, record.cgroups_path));
  std::string status = live_status(record, cgroup.get());
  if (status != "running") return Fail(ErrorCode::Conflict, "container \"{}\" is {}, not running", id, status);
  return cgroup->freeze();
}

Result<void> Runtime::resume(const std::string& id) {
  StateStore store(options_.root);
  ContainerRecord record = TRY(store.load(id));
  auto cgroup = TRY(this->cgroup(id, record.cgroups_path));
  std::string status = live_status(record, cgroup.get());
  if (status != "paused") return Fail(ErrorCode::Conflict, "container \"{}\" is {}, not paused", id, status);
  return cgroup->thaw();
}

Result<std::vector<pid_t>> Runtime::pids(const std::string& id) const {
  StateStore store(options_.root);
  ContainerRecord record = TRY(store.load(id));
  auto cgroup = TRY(this->cgroup(id, record.cgroups_path));
  return cgroup->pids();
}

Result<int> parse_signal(std::string_view text) {
  std::string s(text);
  if (!s.empty() && s[0] >= '0' && s[0] <= '9') {
    int64_t n = TRY(parse_int(s, "signal"));
    if (n <= 0 || n >= NSIG) return Fail(ErrorCode::InvalidArgument, "invalid signal {}", s);
    return static_cast<int>(n);
  }
  for (auto& c : s) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  if (s.rfind("SIG", 0) == 0) s = s.substr(3);
  for (int sig = 1; sig < NSIG; ++sig) {
    const char* abbrev = ::sigabbrev_np(sig);
    if (abbrev && s == abbrev) return sig;
  }
  if (s.rfind("RTMIN", 0) == 0 || s.rfind("RTMAX", 0) == 0) {
    int base = s.rfind("RTMIN", 0) == 0 ? SIGRTMIN : SIGRTMAX;
    int off = s.size() > 5 ? static_cast<int>(TRY(parse_int(s.substr(5), "signal"))) : 0;
    int sig = base + off;
    if (sig >= SIGRTMIN && sig <= SIGRTMAX) return sig;
  }
  return Fail(ErrorCode::InvalidArgument, "unknown signal \"{}\"", text);
}

}  // namespace berth::runtime
