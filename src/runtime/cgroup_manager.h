// A container's control group on any of the three layouts Linux hosts use: cgroup v1 (one
// hierarchy per controller), cgroup v2 (one unified hierarchy) and hybrid (v1 controllers plus
// a cgroup2 mount at <root>/unified). One interface, one factory; the layouts differ in
// cgroup_v1.cc and cgroup_v2.cc.
//
// Every operation goes through CgroupFs, the kernel interface of cgroups (control files,
// directories, the v2 device program). Production uses the kernel's, which is strict: a control
// file that a requested resource needs and that does not exist is an error naming the file.
// Unit tests substitute an emulation over a temp dir.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/runtime_spec.h"

struct bpf_insn;

namespace berth::runtime {

enum class CgroupLayout { V1, V2, Hybrid };
std::string_view to_string(CgroupLayout layout);  // "v1", "v2", "hybrid"

// Detects the layout under mount_root (statfs magic: cgroup2 at root -> V2; tmpfs root with
// <root>/unified being cgroup2 -> Hybrid; else V1).
Result<CgroupLayout> detect_cgroup_layout(const std::string& mount_root = "/sys/fs/cgroup");

// Counters of one cgroup. A controller that is not available reads as 0; memory_limit is
// UINT64_MAX when unlimited (v1's "9223372036854771712" included).
struct CgroupStats {
  uint64_t memory_usage = 0, memory_limit = 0, cpu_usage_ns = 0, pids_current = 0, oom_kills = 0;
};

// One container's cgroup. Owns nothing until create(); destroy() removes what create() made.
// The object keeps no state the kernel does not: a manager made later (another `berth runtime`
// process) for the same path drives the same cgroup.
class CgroupManager {
 public:
  virtual ~CgroupManager() = default;
  // Creates the cgroup in every hierarchy (missing parents too) and applies resources.
  // On failure removes whatever it created. An existing, empty cgroup is reused; one that
  // already has processes is a Conflict.
  virtual Result<void> create(const oci::Resources* resources) = 0;
  virtual Result<void> add_process(pid_t pid) = 0;  // cgroup.procs in every hierarchy
  virtual Result<void> update(const oci::Resources& resources) = 0;
  virtual Result<void> freeze() = 0;  // returns once the cgroup is frozen
  virtual Result<void> thaw() = 0;
  virtual Result<bool> is_frozen() = 0;
  virtual Result<std::vector<pid_t>> pids() = 0;  // every process, sorted
  virtual Result<void> kill_all(int signal) = 0;  // every process in the cgroup
  virtual Result<CgroupStats> stats() = 0;
  // Removes the cgroup directories (retrying briefly while they drain). Missing is fine.
  virtual Result<void> destroy() = 0;
  // The directories this cgroup lives in, one per hierarchy (for state files and joining).
  virtual std::vector<std::string> paths() const = 0;
};

// The kernel interface a cgroup manager drives. Paths are absolute host paths.
class CgroupFs {
 public:
  virtual ~CgroupFs() = default;
  // mkdir; an existing directory fails with errno EEXIST.
  virtual Result<void> make_dir(const std::string& path) = 0;
  // rmdir; errors keep errno (EBUSY while processes remain, ENOENT when gone).
  virtual Result<void> remove_dir(const std::string& path) = 0;
  virtual Result<std::string> read(const std::string& path) = 0;
  // One write() of value to an existing control file; never creates it.
  virtual Result<void> write(const std::string& path, std::string_view value) = 0;
  virtual bool exists(const std::string& path) = 0;
  // Names of the directories (child cgroups) in path.
  virtual Result<std::vector<std::string>> child_dirs(const std::string& path) = 0;
  // path with symlinks resolved, to tell joint mounts apart (cpu -> cpu,cpuacct).
  virtual Result<std::string> real_path(const std::string& path) = 0;
  // Makes program the cgroup-v2 device filter of dir, replacing the filters attached before.
  virtual Result<void> set_device_program(const std::string& dir,
                                          const std::vector<bpf_insn>& program) = 0;
};

// CgroupFs over the kernel's cgroupfs and bpf(2).
class KernelCgroupFs : public CgroupFs {
 public:
  Result<void> make_dir(const std::string& path) override;
  Result<void> remove_dir(const std::string& path) override;
  Result<std::string> read(const std::string& path) override;
  Result<void> write(const std::string& path, std::string_view value) override;
  bool exists(const std::string& path) override;
  Result<std::vector<std::string>> child_dirs(const std::string& path) override;
  Result<std::string> real_path(const std::string& path) override;
  Result<void> set_device_program(const std::string& dir,
                                  const std::vector<bpf_insn>& program) override;
};

// cgroups_path is linux.cgroupsPath (absolute or relative: both are taken relative to the
// hierarchy root); empty means "/berth/<container_id>". fs defaults to the kernel's.
Result<std::unique_ptr<CgroupManager>> make_cgroup_manager(CgroupLayout layout,
                                                           const std::string& mount_root,
                                                           const std::string& cgroups_path,
                                                           const std::string& container_id,
                                                           std::shared_ptr<CgroupFs> fs = nullptr);

// The cgroup's path relative to a hierarchy root ("berth/<id>"); refuses "..", "." and the root
// itself so a config cannot point the runtime outside its own subtree.
Result<std::string> cgroup_relative_path(const std::string& cgroups_path,
                                         const std::string& container_id);

// Helpers shared by the v1 and v2 managers.
namespace cgroup {

// Creates root/rel and its missing parents, appending each directory made to created.
Result<void> make_dirs(CgroupFs& fs, const std::string& root, const std::string& rel,
                       std::vector<std::string>& created);
// Removes directories made by make_dirs, deepest first, with plain rmdir (one that another
// container's cgroup appeared in stays); failures are logged, not returned.
void remove_created(CgroupFs& fs, const std::vector<std::string>& created);
// rmdir of dir and of its child cgroups, deepest first, retrying EBUSY with 10 ms sleeps;
// a missing dir is fine.
Result<void> remove_tree(CgroupFs& fs, const std::string& dir);
// The pids in dir/cgroup.procs and in every child cgroup's, sorted and unique.
Result<std::vector<pid_t>> read_pids(CgroupFs& fs, const std::string& dir);
// Sends signal to every pid; processes that are already gone are skipped.
Result<void> signal_pids(const std::vector<pid_t>& pids, int signal);
// The number after key in a flat-keyed file ("oom_kill 3" in memory.oom_control).
std::optional<uint64_t> keyed_value(std::string_view text, std::string_view key);
// Reads a single-number control file; "max" is UINT64_MAX; a missing file reads as 0.
Result<uint64_t> read_counter(CgroupFs& fs, const std::string& path);
// Writes value to dir/file.
Result<void> write_file(CgroupFs& fs, const std::string& dir, std::string_view file,
                        std::string_view value);
// Checks one linux.resources.devices entry; index names it in the error.
Result<void> validate_device_rule(const oci::DeviceRule& rule, size_t index);
// Checks a hugepage size ("2MB", "1GB", "64KB") before it becomes part of a file name.
Result<void> validate_page_size(std::string_view size);
// Checks that value is one word (an interface or RDMA device name) before it goes into a
// control file whose lines are split at spaces; field names it in the error.
Result<void> validate_word(std::string_view value, std::string_view field);
// The rdma.max line for one device: "mlx4_0 hca_handle=2 hca_object=2000".
std::string rdma_limit_line(const std::string& device, const oci::RdmaLimit& limit);
// Checks a linux.resources.unified key: a plain control file name, not one that moves or
// kills processes (cgroup.procs, cgroup.threads, cgroup.kill, cgroup.freeze).
Result<void> validate_unified_key(std::string_view key);
void sleep_ms(int ms);
// Polls check (returning Result<bool>) every few ms until it is true or timeout_ms passes
// (then Unavailable naming what).
template <class F>
Result<void> poll_until(F&& check, int timeout_ms, std::string_view what) {
  int waited = 0, step = 1;
  while (true) {
    bool done = TRY(check());
    if (done) return {};
    if (waited >= timeout_ms) {
      return Fail(ErrorCode::Unavailable, "{}: not done after {} ms", what, timeout_ms);
    }
    sleep_ms(step);
    waited += step;
    step = step < 10 ? step + 1 : 10;
  }
}

}  // namespace cgroup
}  // namespace berth::runtime
