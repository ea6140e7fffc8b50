// Namespaces of a container: which to create (clone/unshare flags), which to join by path
// (descriptors opened and type-checked before clone), and the uid/gid maps of a new user
// namespace, which the parent writes while the child waits.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "oci/runtime_spec.h"

namespace berth::runtime {

struct NamespaceJoin {
  oci::NamespaceType type;
  int clone_flag = 0;
  UniqueFd fd;
};

struct NamespacePlan {
  unsigned long create_flags = 0;  // CLONE_NEW* to create, user/cgroup/time excluded
  bool create_user = false;
  bool create_cgroup = false;
  bool create_time = false;
  std::vector<NamespaceJoin> joins;  // the user namespace, when joined, comes first
  bool join_user = false;
  bool join_pid = false;
  bool has_mount_ns = false;  // created or joined
  std::string time_offsets;   // text for /proc/self/timens_offsets
  std::string uid_map, gid_map;

  // Setup needs a first stage that joins/creates the user namespace before the others.
  bool two_stage() const { return create_user || join_user; }
};

int clone_flag_for(oci::NamespaceType type);

// Opens the namespaces to join and checks each is of the declared type; errors name
// linux.namespaces[i].path.
Result<NamespacePlan> plan_namespaces(const oci::Spec& spec);

// Writes the uid and gid maps of pid's user namespace (setgroups is denied first when the
// caller could not otherwise map gids, as for rootless containers).
Result<void> write_id_maps(pid_t pid, const NamespacePlan& plan);

// Child side, no allocation: setns each joined namespace except those in skip_flags.
int join_namespaces(const NamespacePlan& plan, unsigned long skip_flags, struct ChildError* err);

}  // namespace berth::runtime
