// Parent side of container setup: turns a validated spec into an InitConfig.
#include <sys/personality.h>

#include "base/strings.h"
#include "runtime/init_config.h"

namespace berth::runtime {
namespace {

// The state JSON a hook reads, as a printf format with "%d" where the pid goes.
std::string state_template(const oci::Spec& spec, const std::string& id, const std::string& bundle,
                           const char* status) {
  constexpr int kSentinel = 987654321;
  oci::State st;
  st.id = id;
  st.status = status;
  st.pid = kSentinel;
  st.bundle = bundle;
  st.annotations = spec.annotations;
  return pid_format(oci::state_to_json(st, false), kSentinel);
}

}  // namespace

Result<InitConfig> prepare_init(const oci::Spec& spec, const std::string& bundle,
                                const std::string& id, bool no_pivot,
                                const std::string& seccomp_cache,
                                std::vector<std::string>* warnings) {
  InitConfig c;
  c.ns = TRY(plan_namespaces(spec));
  const oci::Linux empty_linux;
  const oci::Linux& lx = spec.linux ? *spec.linux : empty_linux;

  PlanOptions popts;
  popts.no_pivot = no_pivot;
  popts.in_user_namespace = c.ns.create_user || c.ns.join_user;
  popts.new_network_namespace = (c.ns.create_flags & CLONE_NEWNET) != 0;
  c.rootfs = TRY(plan_rootfs(spec, bundle, popts));

  c.hostname = spec.hostname;
  c.domainname = spec.domainname;
  c.set_hostname = !spec.hostname.empty();
  c.set_domainname = !spec.domainname.empty();
  for (const auto& [key, value] : lx.sysctl) {
    std::string path = "/proc/sys/" + key;
    for (size_t i = 10; i < path.size(); ++i) {
      if (path[i] == '.') path[i] = '/';
    }
    c.sysctls.emplace_back(path, value);
  }
  if (lx.personality) {
    if (lx.personality->domain == "LINUX") c.personality = PER_LINUX;
    else if (lx.personality->domain == "LINUX32") c.personality = PER_LINUX32;
    else
      return Fail(ErrorCode::InvalidArgument, "linux.personality.domain: unknown domain \"{}\"",
                  lx.personality->domain);
  }
  if (spec.hooks) {
    c.create_container_hooks = prepare_hooks(spec.hooks->create_container);
    c.start_container_hooks = prepare_hooks(spec.hooks->start_container);
    c.parent_hooks = !spec.hooks->prestart.empty() || !spec.hooks->create_runtime.empty();
  }
  c.state_creating_fmt = state_template(spec, id, bundle, "creating");
  c.state_created_fmt = state_template(spec, id, bundle, "created");
  c.process = TRY(prepare_process(*spec.process, lx.seccomp, seccomp_cache, warnings));
  // In a user namespace whose gid map the runtime could only write after denying setgroups
  // (rootless), setgroups would fail: keep the inherited (empty) list.
  if (c.ns.create_user && ::geteuid() != 0) c.process.set_groups = false;
  return c;
}

}  // namespace berth::runtime
