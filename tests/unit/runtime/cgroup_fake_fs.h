// An emulated cgroupfs in a temp directory, for unit tests of the cgroup managers without root
// and for layouts this machine does not have. Control files are regular files; the fake adds
// what the kernel would do: mkdir fills a new cgroup with its control files, writes to files
// that do not exist fail with ENOENT, cgroup.subtree_control is checked against
// cgroup.controllers, cgroup.freeze updates cgroup.events, cgroup.procs lists live processes
// only, cgroup.kill kills them, and rmdir refuses a cgroup with processes or children. Every
// write is recorded so tests can assert the exact values and their order.
#pragma once

#include <linux/bpf.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "base/strings.h"
#include "runtime/cgroup_manager.h"

namespace berth::runtime::testing {

enum class FakeLayout { V1, V2, Hybrid };

struct FakeOptions {
  bool swap_accounting = true;  // v1 memory.memsw.*, v2 memory.swap.max
  bool cgroup_kill = true;      // v2 cgroup.kill (kernel 5.14+)
  bool bfq = false;             // blkio.bfq.weight / io.bfq.weight instead of blkio.weight
};

class FakeCgroupFs : public KernelCgroupFs {
 public:
  struct Write {
    std::string path;  // relative to root()
    std::string value;
  };

  explicit FakeCgroupFs(FakeLayout layout, FakeOptions options = {})
      : layout_(layout), options_(options) {
    char tmpl[] = "/tmp/berth-cgroupfs-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    if (layout == FakeLayout::V2) {
      populate_v2(root_, "cpuset cpu io memory hugetlb pids rdma");
      return;
    }
    for (std::string name : {"memory", "cpu,cpuacct", "cpuset", "pids", "devices", "freezer",
                             "blkio", "hugetlb", "net_cls", "net_prio", "rdma", "systemd"}) {
      if (layout == FakeLayout::Hybrid && name == "hugetlb") continue;  // as on this machine
      std::filesystem::create_directory(root_ + "/" + name);
      populate_v1(root_ + "/" + name, true);
    }
    std::filesystem::create_directory_symlink("cpu,cpuacct", root_ + "/cpu");
    std::filesystem::create_directory_symlink("cpu,cpuacct", root_ + "/cpuacct");
    if (layout == FakeLayout::Hybrid) {
      std::filesystem::create_directory(root_ + "/unified");
      populate_v2(root_ + "/unified", "hugetlb");
    }
  }
  ~FakeCgroupFs() override {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  const std::string& root() const { return root_; }
  std::string path(std::string_view rel) const { return root_ + "/" + std::string(rel); }

  // The values written to one file (relative path), in order.
  std::vector<std::string> writes_to(std::string_view rel) const {
    std::vector<std::string> out;
    for (auto& w : writes) {
      if (w.path == rel) out.push_back(w.value);
    }
    return out;
  }
  // The file's current content, trimmed.
  std::string content(std::string_view rel) const {
    std::ifstream in(path(rel));
    std::stringstream ss;
    ss << in.rdbuf();
    return std::string(trim(ss.str()));
  }
  void set_content(std::string_view rel, std::string_view value) { put(path(rel), value); }
  bool has(std::string_view rel) const { return std::filesystem::exists(path(rel)); }
  // The next `times` writes to this file (relative path) fail with err; -1: all of them.
  void fail_writes_to(std::string rel, int err, int times = -1) {
    failing_[std::move(rel)] = {err, times};
  }

  std::vector<Write> writes;
  int busy_rmdirs = 0;     // rmdir fails with EBUSY this many more times
  int freezing_reads = 0;  // a freeze is seen as done only after this many more reads
  std::map<std::string, std::vector<bpf_insn>> device_programs;  // by relative dir

  Result<void> make_dir(const std::string& p) override {
    if (::mkdir(p.c_str(), 0755) != 0) return FailErrno(errno, "mkdir {}", p);
    std::string rel = relative(p);
    if (is_v2(rel)) {
      std::string parent = p.substr(0, p.rfind('/'));
      populate_v2(p, content(relative(parent) + "/cgroup.subtree_control"));
    } else {
      populate_v1(p, false);
    }
    return {};
  }

  Result<void> remove_dir(const std::string& p) override {
    if (!std::filesystem::exists(p)) return FailErrno(ENOENT, "rmdir {}", p);
    auto children = child_dirs(p);
    bool busy = !children->empty() || !live_pids(p).empty();
    if (busy_rmdirs > 0) {
      --busy_rmdirs;
      busy = true;
    }
    if (busy) return FailErrno(EBUSY, "rmdir {}", p);
    for (auto& entry : std::filesystem::directory_iterator(p)) std::filesystem::remove(entry);
    if (::rmdir(p.c_str()) != 0) return FailErrno(errno, "rmdir {}", p);
    return {};
  }

  Result<std::string> read(const std::string& p) override {
    std::string name = p.substr(p.rfind('/') + 1);
    std::string dir = p.substr(0, p.rfind('/'));
    if (name == "cgroup.procs" && std::filesystem::exists(p)) {
      std::string out;
      for (pid_t pid : live_pids(dir)) out += std::to_string(pid) + "\n";
      return out;
    }
    if (name == "freezer.state" && content(relative(p)) == "FREEZING" && --freezing_reads <= 0) {
      put(p, "FROZEN\n");
    }
    if (name == "cgroup.events" && content(relative(dir) + "/cgroup.freeze") == "1" &&
        --freezing_reads <= 0) {
      put(p, "populated 1\nfrozen 1\n");
    }
    return KernelCgroupFs::read(p);
  }

  Result<void> write(const std::string& p, std::string_view value) override {
    std::string rel = relative(p);
    writes.push_back({rel, std::string(value)});
    if (auto it = failing_.find(rel); it != failing_.end() && it->second.second != 0) {
      if (it->second.second > 0) --it->second.second;
      return FailErrno(it->second.first, "write {} to {}", value, p);
    }
    if (!std::filesystem::exists(p)) return FailErrno(ENOENT, "write {} to {}", value, p);
    std::string name = p.substr(p.rfind('/') + 1);
    std::string dir = p.substr(0, p.rfind('/'));
    std::string v(trim(value));
    if (name == "cgroup.procs") {
      auto pids = live_pids(dir);
      pids.push_back(static_cast<pid_t>(std::stol(v)));
      std::string out;
      for (pid_t pid : pids) out += std::to_string(pid) + "\n";
      put(p, out);
    } else if (name == "cgroup.subtree_control") {
      return write_subtree_control(dir, v);
    } else if (name == "cgroup.kill") {
      kill_subtree(dir);
    } else if (name == "freezer.state") {
      put(p, v == "FROZEN" ? (freezing_reads > 0 ? "FREEZING\n" : "FROZEN\n") : "THAWED\n");
    } else if (name == "cgroup.freeze") {
      put(p, v + "\n");
      if (v == "0" || freezing_reads <= 0) {
        put(dir + "/cgroup.events", fmt::format("populated 1\nfrozen {}\n", v));
      }
    } else {
      put(p, value);
    }
    return {};
  }

  Result<void> set_device_program(const std::string& dir,
                                  const std::vector<bpf_insn>& program) override {
    device_programs[relative(dir)] = program;
    return {};
  }

 private:
  static void put(const std::string& p, std::string_view value) {
    std::ofstream out(p, std::ios::trunc);
    out << value;
  }

  std::string relative(const std::string& p) const {
    return p.size() > root_.size() ? p.substr(root_.size() + 1) : std::string();
  }

  bool is_v2(const std::string& rel) const {
    return layout_ == FakeLayout::V2 || rel == "unified" || starts_with(rel, "unified/");
  }

  static bool alive(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    auto paren = text.rfind(')');
    return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] != 'Z';
  }

  std::vector<pid_t> live_pids(const std::string& dir) const {
    std::vector<pid_t> out;
    std::ifstream in(dir + "/cgroup.procs");
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      pid_t pid = static_cast<pid_t>(std::stol(line));
      if (alive(pid)) out.push_back(pid);
    }
    return out;
  }

  void kill_subtree(const std::string& dir) {
    for (pid_t pid : live_pids(dir)) ::kill(pid, SIGKILL);
    auto children = child_dirs(dir);
    for (auto& child : *children) kill_subtree(dir + "/" + child);
  }

  void populate_v1(const std::string& dir, bool is_root) {
    std::string hierarchy = relative(dir);
    hierarchy = hierarchy.substr(0, hierarchy.find('/'));
    auto controllers = split(hierarchy, ',');
    auto has = [&](std::string_view c) {
      return std::find(controllers.begin(), controllers.end(), c) != controllers.end();
    };
    const std::string unlimited = "9223372036854771712";
    std::map<std::string, std::string> files = {
        {"cgroup.procs", ""}, {"tasks", ""}, {"cgroup.clone_children", "0"}};
    if (has("memory")) {
      files["memory.limit_in_bytes"] = unlimited;
      files["memory.soft_limit_in_bytes"] = unlimited;
      if (options_.swap_accounting) files["memory.memsw.limit_in_bytes"] = unlimited;
      files["memory.swappiness"] = "60";
      files["memory.oom_control"] = "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n";
      files["memory.usage_in_bytes"] = "0";
      files["memory.use_hierarchy"] = "1";
      files["memory.kmem.tcp.limit_in_bytes"] = unlimited;
    }
    if (has("cpu")) {
      files["cpu.shares"] = "1024";
      files["cpu.cfs_quota_us"] = "-1";
      files["cpu.cfs_period_us"] = "100000";
      files["cpu.cfs_burst_us"] = "0";
      files["cpu.rt_runtime_us"] = "0";
      files["cpu.rt_period_us"] = "1000000";
      files["cpu.idle"] = "0";
    }
    if (has("cpuacct")) files["cpuacct.usage"] = "0";
    if (has("cpuset")) {
      files["cpuset.cpus"] = is_root ? "0-1" : "";
      files["cpuset.mems"] = is_root ? "0" : "";
    }
    if (has("pids")) {
      files["pids.max"] = "max";
      files["pids.current"] = "0";
    }
    if (has("devices")) {
      files["devices.allow"] = "";
      files["devices.deny"] = "";
      files["devices.list"] = "a *:* rwm";
    }
    if (has("freezer") && !is_root) files["freezer.state"] = "THAWED";
    if (has("blkio")) {
      std::string prefix = options_.bfq ? "blkio.bfq." : "blkio.";
      files[prefix + "weight"] = "500";
      files[prefix + "weight_device"] = "";
      if (!options_.bfq) {
        files["blkio.leaf_weight"] = "500";
        files["blkio.leaf_weight_device"] = "";
      }
      for (std::string op : {"read_bps", "write_bps", "read_iops", "write_iops"}) {
        files["blkio.throttle." + op + "_device"] = "";
      }
    }
    if (has("hugetlb")) {
      files["hugetlb.2MB.limit_in_bytes"] = unlimited;
      files["hugetlb.1GB.limit_in_bytes"] = unlimited;
    }
    if (has("net_cls")) files["net_cls.classid"] = "0";
    if (has("net_prio")) files["net_prio.ifpriomap"] = "";
    if (has("rdma")) files["rdma.max"] = "";
    for (auto& [name, value] : files) put(dir + "/" + name, value);
  }

  void populate_v2(const std::string& dir, std::string_view controllers) {
    std::map<std::string, std::string> files = {
        {"cgroup.procs", ""},
        {"cgroup.controllers", std::string(controllers)},
        {"cgroup.subtree_control", ""},
        {"cgroup.events", "populated 0\nfrozen 0\n"},
        {"cgroup.freeze", "0"},
        {"cgroup.type", "domain"},
        {"cpu.stat", "usage_usec 0\nuser_usec 0\nsystem_usec 0\n"}};
    if (options_.cgroup_kill) files["cgroup.kill"] = "";
    for (auto& c : split(controllers, ' ')) add_controller_files(files, c);
    for (auto& [name, value] : files) put(dir + "/" + name, value);
  }

  void add_controller_files(std::map<std::string, std::string>& files, std::string_view c) {
    if (c == "memory") {
      files["memory.max"] = "max";
      files["memory.low"] = "0";
      files["memory.high"] = "max";
      if (options_.swap_accounting) files["memory.swap.max"] = "max";
      files["memory.current"] = "0";
      files["memory.events"] = "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n";
    } else if (c == "cpu") {
      files["cpu.weight"] = "100";
      files["cpu.max"] = "max 100000";
      files["cpu.max.burst"] = "0";
      files["cpu.idle"] = "0";
    } else if (c == "cpuset") {
      files["cpuset.cpus"] = "";
      files["cpuset.mems"] = "";
    } else if (c == "io") {
      files["io.weight"] = "default 100";
      files["io.max"] = "";
      if (options_.bfq) files["io.bfq.weight"] = "default 100";
    } else if (c == "pids") {
      files["pids.max"] = "max";
      files["pids.current"] = "0";
    } else if (c == "hugetlb") {
      files["hugetlb.2MB.max"] = "max";
      files["hugetlb.1GB.max"] = "max";
    } else if (c == "rdma") {
      files["rdma.max"] = "";
    }
  }

  // The kernel's rules: only controllers the cgroup has can be enabled, and not while the
  // (non-root) cgroup has processes of its own. Children gain the controller's files.
  Result<void> write_subtree_control(const std::string& dir, const std::string& value) {
    std::string rel = relative(dir);
    auto available = split(content(rel + "/cgroup.controllers"), ' ');
    auto enabled = split(content(rel + "/cgroup.subtree_control"), ' ');
    std::erase(enabled, "");
    bool is_root = dir == root_ || rel == "unified";
    for (auto& token : split(value, ' ')) {
      if (token.empty()) continue;
      std::string name = token.substr(1);
      if (std::find(available.begin(), available.end(), name) == available.end()) {
        return FailErrno(ENOENT, "write {} to {}/cgroup.subtree_control", value, dir);
      }
      if (!is_root && !live_pids(dir).empty()) {
        return FailErrno(EBUSY, "write {} to {}/cgroup.subtree_control", value, dir);
      }
      if (token[0] == '+' && std::find(enabled.begin(), enabled.end(), name) == enabled.end()) {
        enabled.push_back(name);
      } else if (token[0] == '-') {
        std::erase(enabled, name);
      }
    }
    put(dir + "/cgroup.subtree_control", join(enabled, " ") + "\n");
    auto children = child_dirs(dir);
    for (auto& child : *children) {
      std::map<std::string, std::string> files;
      for (auto& c : enabled) add_controller_files(files, c);
      for (auto& [name, v] : files) {
        if (!std::filesystem::exists(dir + "/" + child + "/" + name))
          put(dir + "/" + child + "/" + name, v);
      }
      put(dir + "/" + child + "/cgroup.controllers", join(enabled, " ") + "\n");
    }
    return {};
  }

  FakeLayout layout_;
  FakeOptions options_;
  std::string root_;
  std::map<std::string, std::pair<int, int>> failing_;  // errno, times left
};

}  // namespace berth::runtime::testing
