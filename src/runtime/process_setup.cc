#include "runtime/process_setup.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/ioprio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "base/syscalls.h"

namespace berth::runtime {
namespace {

Result<int> ioprio_value(const oci::IoPriority& io) {
  int klass;
  if (io.io_class == "IOPRIO_CLASS_RT") klass = IOPRIO_CLASS_RT;
  else if (io.io_class == "IOPRIO_CLASS_BE") klass = IOPRIO_CLASS_BE;
  else if (io.io_class == "IOPRIO_CLASS_IDLE") klass = IOPRIO_CLASS_IDLE;
  else return Fail(ErrorCode::InvalidArgument, "process.ioPriority.class: unknown class \"{}\"", io.io_class);
  if (io.priority < 0 || io.priority > 7)
    return Fail(ErrorCode::InvalidArgument, "process.ioPriority.priority: {} is not in 0..7", io.priority);
  return IOPRIO_PRIO_VALUE(klass, io.priority);
}

Result<SchedAttr> sched_attr(const oci::Scheduler& s) {
  static const std::pair<const char*, uint32_t> kPolicies[] = {
      {"SCHED_OTHER", 0}, {"SCHED_FIFO", 1}, {"SCHED_RR", 2},
      {"SCHED_BATCH", 3}, {"SCHED_IDLE", 5}, {"SCHED_DEADLINE", 6}};
  static const std::pair<const char*, uint64_t> kFlags[] = {
      {"SCHED_FLAG_RESET_ON_FORK", 0x01}, {"SCHED_FLAG_RECLAIM", 0x02},
      {"SCHED_FLAG_DL_OVERRUN", 0x04},    {"SCHED_FLAG_KEEP_POLICY", 0x08},
      {"SCHED_FLAG_KEEP_PARAMS", 0x10},   {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
      {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40}};
  SchedAttr a;
  bool known = false;
  for (const auto& [name, value] : kPolicies) {
    if (s.policy == name) {
      a.sched_policy = value;
      known = true;
    }
  }
  if (!known) return Fail(ErrorCode::InvalidArgument, "process.scheduler.policy: unknown policy \"{}\"", s.policy);
  for (size_t i = 0; i < s.flags.size(); ++i) {
    known = false;
    for (const auto& [name, value] : kFlags) {
      if (s.flags[i] == name) {
        a.sched_flags |= value;
        known = true;
      }
    }
    if (!known)
      return Fail(ErrorCode::InvalidArgument, "process.scheduler.flags[{}]: unknown flag \"{}\"", i, s.flags[i]);
  }
  a.sched_nice = s.nice;
  a.sched_priority = static_cast<uint32_t>(s.priority);
  a.sched_runtime = s.runtime;
  a.sched_deadline = s.deadline;
  a.sched_period = s.period;
  return a;
}

}  // namespace

Result<PreparedProcess> prepare_process(const oci::Process& process,
                                        const std::optional<oci::Seccomp>& seccomp,
                                        const std::string& seccomp_cache,
                                        std::vector<std::string>* warnings) {
  PreparedProcess p;
  if (process.args.empty()) return Fail(ErrorCode::InvalidArgument, "process.args: must not be empty");
  p.argv.assign(process.args);
  p.envp.assign(process.env);
  for (const auto& e : process.env) {
    if (e.rfind("PATH=", 0) == 0) p.path_env = e.substr(5);
  }
  p.cwd = process.cwd.empty() ? "/" : process.cwd;
  p.uid = process.user.uid;
  p.gid = process.user.gid;
  p.groups.assign(process.user.additional_gids.begin(), process.user.additional_gids.end());
  if (process.user.umask) p.umask = static_cast<mode_t>(*process.user.umask);
  p.last_cap = last_capability();
  if (process.capabilities) {
    p.caps = TRY(resolve_capabilities(*process.capabilities, warnings));
  } else {
    p.caps = CapabilitySets{};  // no capabilities object: the process gets none
  }
  p.rlimits = TRY(resolve_rlimits(process.rlimits));
  p.no_new_privileges = process.no_new_privileges;
  if (seccomp) p.seccomp = TRY(compile_seccomp_cached(*seccomp, seccomp_cache));
  if (process.scheduler) {
    p.scheduler = TRY(sched_attr(*process.scheduler));
    p.set_scheduler = true;
  }
  p.oom_score_adj = process.oom_score_adj;
  if (process.io_priority) p.io_priority = TRY(ioprio_value(*process.io_priority));
  if (!process.apparmor_profile.empty() && warnings)
    warnings->push_back("process.apparmorProfile: AppArmor is not supported by berth; ignored");
  if (!process.selinux_label.empty() && warnings)
    warnings->push_back("process.selinuxLabel: SELinux is not supported by berth; ignored");
  p.terminal = process.terminal;
  p.console_size = process.console_size;
  return p;
}

int find_executable(const PreparedProcess& p, char* out, size_t outlen, ChildError* err) {
  const char* name = p.argv.get()[0];
  if (std::strchr(name, '/')) {
    if (std::strlen(name) >= outlen) return child_fail(err, ENAMETOOLONG, "exec %s", name);
    std::strcpy(out, name);
    if (::access(out, X_OK) != 0) return child_fail(err, errno, "exec: \"%s\"", name);
    return 0;
  }
  const char* path = p.path_env.empty() ? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
                                        : p.path_env.c_str();
  while (*path) {
    const char* end = std::strchr(path, ':');
    size_t len = end ? static_cast<size_t>(end - path) : std::strlen(path);
    if (len > 0) {
      int n = std::snprintf(out, outlen, "%.*s/%s", static_cast<int>(len), path, name);
      struct stat st;
      if (n > 0 && static_cast<size_t>(n) < outlen && ::stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
          ::access(out, X_OK) == 0)
        return 0;
    }
    if (!end) break;
    path = end + 1;
  }
  return child_fail(err, ENOENT, "exec: \"%s\": executable file not found in $PATH", name);
}

int exec_prepared_process(const PreparedProcess& p, ChildError* err, ListenerHandler on_listener,
                          void* ctx) {
  if (apply_rlimits(p.rlimits.data(), p.rlimits.size(), err) < 0) return -1;
  if (p.oom_score_adj) {
    int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    char buf[16];
    int n = std::snprintf(buf, sizeof(buf), "%d", *p.oom_score_adj);
    if (fd < 0 || ::write(fd, buf, static_cast<size_t>(n)) != n) {
      int e = errno;
      if (fd >= 0) ::close(fd);
      return child_fail(err, e, "process.oomScoreAdj: write %d to /proc/self/oom_score_adj (lowering it needs CAP_SYS_RESOURCE)", *p.oom_score_adj);
    }
    ::close(fd);
  }
  if (p.io_priority >= 0 && ::syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, p.io_priority) != 0)
    return child_fail(err, errno, "process.ioPriority: ioprio_set");

  if (p.set_scheduler && ::syscall(SYS_sched_setattr, 0, &p.scheduler, 0) != 0)
    return child_fail(err, errno, "process.scheduler: sched_setattr (policy %u)", p.scheduler.sched_policy);

  char exe[4096];
  if (find_executable(p, exe, sizeof(exe), err) < 0) return -1;

  if (p.caps && drop_bounding_set(*p.caps, p.last_cap, err) < 0) return -1;
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return child_fail(err, errno, "prctl(PR_SET_KEEPCAPS)");
  if (p.set_groups && sys::setgroups_this_thread(p.groups.size(), p.groups.data()) != 0)
    return child_fail(err, errno, "process.user.additionalGids: setgroups");
  if (sys::setresgid_this_thread(p.gid, p.gid, p.gid) != 0)
    return child_fail(err, errno, "process.user.gid: setresgid(%u)", p.gid);
  if (sys::setresuid_this_thread(p.uid, p.uid, p.uid) != 0)
    return child_fail(err, errno, "process.user.uid: setresuid(%u)", p.uid);
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return child_fail(err, errno, "prctl(PR_SET_KEEPCAPS)");
  if (p.umask) ::umask(*p.umask);
  if (::chdir(p.cwd.c_str()) != 0) return child_fail(err, errno, "process.cwd: chdir %s", p.cwd.c_str());
  if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return child_fail(err, errno, "process.noNewPrivileges: prctl(PR_SET_NO_NEW_PRIVS)");
  // Without no_new_privs, installing a filter needs CAP_SYS_ADMIN: do it before dropping caps.
  bool seccomp_done = false;
  if (p.seccomp && !p.no_new_privileges) {
    int r = apply_seccomp(*p.seccomp, err);
    if (r < 0) return -1;
    if (r > 0 && (!on_listener || on_listener(r, ctx, err) < 0))
      return on_listener ? -1 : child_fail(err, EINVAL, "linux.seccomp: SCMP_ACT_NOTIFY needs an agent");
    seccomp_done = true;
  }
  if (p.caps && apply_capabilities(*p.caps, p.last_cap, err) < 0) return -1;
  if (p.seccomp && !seccomp_done) {
    int r = apply_seccomp(*p.seccomp, err);
    if (r < 0) return -1;
    if (r > 0 && (!on_listener || on_listener(r, ctx, err) < 0))
      return on_listener ? -1 : child_fail(err, EINVAL, "linux.seccomp: SCMP_ACT_NOTIFY needs an agent");
  }
  ::execve(exe, p.argv.get(), p.envp.get());
  return child_fail(err, errno, "exec %s", exe);
}

}  // namespace berth::runtime
