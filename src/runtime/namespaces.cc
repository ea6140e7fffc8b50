#include "runtime/namespaces.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

#include "base/fs.h"
#include "runtime/child_error.h"

namespace berth::runtime {

using oci::NamespaceType;

int clone_flag_for(NamespaceType type) {
  switch (type) {
    case NamespaceType::Pid: return CLONE_NEWPID;
    case NamespaceType::Network: return CLONE_NEWNET;
    case NamespaceType::Mount: return CLONE_NEWNS;
    case NamespaceType::Ipc: return CLONE_NEWIPC;
    case NamespaceType::Uts: return CLONE_NEWUTS;
    case NamespaceType::User: return CLONE_NEWUSER;
    case NamespaceType::Cgroup: return CLONE_NEWCGROUP;
    case NamespaceType::Time: return CLONE_NEWTIME;
  }
  return 0;
}

namespace {

std::string format_map(const std::vector<oci::IdMapping>& maps) {
  std::string out;
  for (const auto& m : maps) out += fmt::format("{} {} {}\n", m.container_id, m.host_id, m.size);
  return out;
}

}  // namespace

Result<NamespacePlan> plan_namespaces(const oci::Spec& spec) {
  NamespacePlan plan;
  if (!spec.linux) return plan;
  const auto& lx = *spec.linux;
  std::vector<NamespaceJoin> joins;
  for (size_t i = 0; i < lx.namespaces.size(); ++i) {
    const auto& ns = lx.namespaces[i];
    int flag = clone_flag_for(ns.type);
    if (ns.type == NamespaceType::Mount) plan.has_mount_ns = true;
    if (ns.path.empty()) {
      switch (ns.type) {
        case NamespaceType::User: plan.create_user = true; break;
        case NamespaceType::Cgroup: plan.create_cgroup = true; break;
        case NamespaceType::Time: plan.create_time = true; break;
        default: plan.create_flags |= static_cast<unsigned long>(flag);
      }
      continue;
    }
    std::string field = fmt::format("linux.namespaces[{}].path", i);
    int fd = ::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return FailErrno(errno, "{}: open {}", field, ns.path);
    UniqueFd owned(fd);
    int type = ::ioctl(fd, NS_GET_NSTYPE);
    if (type < 0) return FailErrno(errno, "{}: {} is not a namespace file", field, ns.path);
    if (type != flag)
      return Fail(ErrorCode::InvalidArgument, "{}: {} is not a {} namespace", field, ns.path,
                  oci::to_string(ns.type));
    if (ns.type == NamespaceType::User) plan.join_user = true;
    if (ns.type == NamespaceType::Pid) plan.join_pid = true;
    joins.push_back(NamespaceJoin{ns.type, flag, std::move(owned)});
  }
  // The user namespace is joined first so the others are joined with its privileges.
  for (auto& j : joins) {
    if (j.type == NamespaceType::User) plan.joins.push_back(std::move(j));
  }
  for (auto& j : joins) {
    if (j.fd && j.type != NamespaceType::User) plan.joins.push_back(std::move(j));
  }
  if (plan.create_user) {
    plan.uid_map = format_map(lx.uid_mappings);
    plan.gid_map = format_map(lx.gid_mappings);
  }
  for (const auto& [clock, off] : lx.time_offsets) {
    plan.time_offsets += fmt::format("{} {} {}\n", clock, off.secs, off.nanosecs);
  }
  return plan;
}

Result<void> write_id_maps(pid_t pid, const NamespacePlan& plan) {
  std::string base = fmt::format("/proc/{}/", pid);
  if (::geteuid() != 0) {
    // Without CAP_SETGID in the parent namespace the kernel only takes a gid map after
    // setgroups is denied.
    TRY_CTX("deny setgroups", write_file(base + "setgroups", "deny"));
  }
  TRY_CTX("linux.uidMappings: write uid_map", write_file(base + "uid_map", plan.uid_map));
  TRY_CTX("linux.gidMappings: write gid_map", write_file(base + "gid_map", plan.gid_map));
  return {};
}

int join_namespaces(const NamespacePlan& plan, unsigned long skip_flags, ChildError* err) {
  for (const auto& j : plan.joins) {
    if (static_cast<unsigned long>(j.clone_flag) & skip_flags) continue;
    if (::setns(j.fd.get(), j.clone_flag) != 0) {
      return child_fail(err, errno, "join %s namespace", oci::to_string(j.type).data());
    }
  }
  return 0;
}

}  // namespace berth::runtime
