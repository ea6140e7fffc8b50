// The config `berth runtime spec` writes: the same content as `runc spec` (and, rootless, as
// `runc spec --rootless`), with "berth" as the hostname.
#include <unistd.h>

#include "oci/runtime_spec.h"

namespace berth::oci {

namespace {

Process default_process() {
  Process p;
  p.terminal = true;
  p.args = {"sh"};
  p.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"};
  p.cwd = "/";
  std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  Capabilities c;
  c.bounding = caps;
  c.effective = caps;
  c.permitted = caps;
  p.capabilities = std::move(c);
  p.rlimits = {Rlimit{"RLIMIT_NOFILE", 1024, 1024}};
  p.no_new_privileges = true;
  return p;
}

Mount make_mount(std::string dest, std::string type, std::string source,
                 std::vector<std::string> options) {
  return Mount{std::move(dest), std::move(type), std::move(source), std::move(options), {}, {}};
}

std::vector<Mount> default_mounts() {
  return {
      make_mount("/proc", "proc", "proc", {}),
      make_mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      make_mount("/dev/pts", "devpts", "devpts",
                 {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      make_mount("/dev/shm", "tmpfs", "shm",
                 {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      make_mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      make_mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      make_mount("/sys/fs/cgroup", "cgroup", "cgroup",
                 {"nosuid", "noexec", "nodev", "relatime", "ro"}),
  };
}

Linux default_linux() {
  Linux l;
  Resources r;
  r.devices = {DeviceRule{false, "", std::nullopt, std::nullopt, "rwm"}};
  l.resources = std::move(r);
  for (auto t : {NamespaceType::Pid, NamespaceType::Network, NamespaceType::Ipc, NamespaceType::Uts,
                 NamespaceType::Mount, NamespaceType::Cgroup}) {
    l.namespaces.push_back(Namespace{t, ""});
  }
  l.masked_paths = {"/proc/acpi",        "/proc/asound",        "/proc/kcore",
                    "/proc/keys",        "/proc/latency_stats", "/proc/timer_list",
                    "/proc/timer_stats", "/proc/sched_debug",   "/sys/firmware",
                    "/proc/scsi"};
  l.readonly_paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  return l;
}

// What `runc spec --rootless` changes: a user namespace mapping the caller to root instead of a
// network namespace, /sys bound from the host (sysfs cannot be mounted without a network
// namespace of one's own), no uid=/gid= mount options and no cgroup limits.
void make_rootless(Spec& spec) {
  Linux& l = *spec.linux;
  std::vector<Namespace> kept;
  for (const auto& ns : l.namespaces) {
    if (ns.type != NamespaceType::Network && ns.type != NamespaceType::User) kept.push_back(ns);
  }
  kept.push_back(Namespace{NamespaceType::User, ""});
  l.namespaces = std::move(kept);
  l.uid_mappings = {IdMapping{0, static_cast<uint32_t>(::geteuid()), 1}};
  l.gid_mappings = {IdMapping{0, static_cast<uint32_t>(::getegid()), 1}};
  l.resources.reset();

  for (auto& m : spec.mounts) {
    if (m.destination == "/sys") {
      m = make_mount("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"});
      continue;
    }
    std::vector<std::string> options;
    for (auto& o : m.options) {
      if (o.rfind("uid=", 0) != 0 && o.rfind("gid=", 0) != 0) options.push_back(std::move(o));
    }
    m.options = std::move(options);
  }
}

}  // namespace

Spec default_spec(bool rootless) {
  Spec spec;
  spec.oci_version = std::string(kSpecVersion);
  spec.process = default_process();
  spec.root = Root{"rootfs", true};
  spec.hostname = "berth";
  spec.mounts = default_mounts();
  spec.linux = default_linux();
  if (rootless) make_rootless(spec);
  return spec;
}

}  // namespace berth::oci
