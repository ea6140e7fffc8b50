#include "runtime/seccomp.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>

#include "base/log.h"
#include "base/syscalls.h"
#include "base/unique_fd.h"

namespace berth::runtime {
namespace {

// The largest value the kernel treats as an errno in a SECCOMP_RET_ERRNO result.
constexpr uint32_t kMaxErrno = 4095;
// SECCOMP_RET_DATA is 16 bits wide.
constexpr uint32_t kMaxRetData = 0xffff;
// Syscall arguments a condition may name.
constexpr uint32_t kMaxArgs = 6;

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using FilterCtx = std::unique_ptr<void, CtxDeleter>;

struct Action {
  uint32_t value = 0;
  bool notify = false;
};

// Maps an OCI action name that takes no errno to its libseccomp value.
std::optional<Action> plain_action(std::string_view name) {
  if (name == "SCMP_ACT_ALLOW") return Action{SCMP_ACT_ALLOW};
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return Action{SCMP_ACT_KILL};
  if (name == "SCMP_ACT_KILL_PROCESS") return Action{SCMP_ACT_KILL_PROCESS};
  if (name == "SCMP_ACT_TRAP") return Action{SCMP_ACT_TRAP};
  if (name == "SCMP_ACT_LOG") return Action{SCMP_ACT_LOG};
  if (name == "SCMP_ACT_NOTIFY") return Action{SCMP_ACT_NOTIFY, true};
  return std::nullopt;
}

// Maps an OCI action name and its errnoRet to a libseccomp action value.
Result<Action> parse_action(std::string_view name, std::optional<uint32_t> errno_ret,
                            std::string_view action_field, std::string_view errno_field) {
  if (name.empty()) return Fail(ErrorCode::InvalidArgument, "{}: missing", action_field);
  if (name == "SCMP_ACT_ERRNO") {
    uint32_t e = errno_ret.value_or(EPERM);
    if (e > kMaxErrno) {
      return Fail(ErrorCode::InvalidArgument, "{}: {} is above the largest errno {}", errno_field,
                  e, kMaxErrno);
    }
    return Action{SCMP_ACT_ERRNO(e)};
  }
  if (name == "SCMP_ACT_TRACE") {
    // The value reaches the tracer (PTRACE_GETEVENTMSG); runc defaults it to EPERM too.
    uint32_t e = errno_ret.value_or(EPERM);
    if (e > kMaxRetData) {
      return Fail(ErrorCode::InvalidArgument, "{}: {} does not fit in 16 bits", errno_field, e);
    }
    return Action{SCMP_ACT_TRACE(e)};
  }
  std::optional<Action> action = plain_action(name);
  if (!action) {
    return Fail(ErrorCode::InvalidArgument, "{}: unknown action \"{}\"", action_field, name);
  }
  if (errno_ret) {
    return Fail(ErrorCode::InvalidArgument,
                "{}: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not {}", errno_field,
                name);
  }
  return *action;
}

std::optional<scmp_compare> parse_op(std::string_view op) {
  if (op == "SCMP_CMP_NE") return SCMP_CMP_NE;
  if (op == "SCMP_CMP_LT") return SCMP_CMP_LT;
  if (op == "SCMP_CMP_LE") return SCMP_CMP_LE;
  if (op == "SCMP_CMP_EQ") return SCMP_CMP_EQ;
  if (op == "SCMP_CMP_GE") return SCMP_CMP_GE;
  if (op == "SCMP_CMP_GT") return SCMP_CMP_GT;
  if (op == "SCMP_CMP_MASKED_EQ") return SCMP_CMP_MASKED_EQ;
  return std::nullopt;
}

// "SCMP_ARCH_X86_64" -> the libseccomp token of "x86_64"; 0 when unknown.
uint32_t resolve_arch(std::string_view name) {
  constexpr std::string_view kPrefix = "SCMP_ARCH_";
  if (name.substr(0, kPrefix.size()) != kPrefix || name.size() == kPrefix.size()) return 0;
  std::string lower(name.substr(kPrefix.size()));
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return seccomp_arch_resolve_name(lower.c_str());
}

// Whether the running kernel accepts these SECCOMP_SET_MODE_FILTER flags: with a null
// program a known flag set fails with EFAULT, an unknown one with EINVAL.
bool kernel_accepts_filter_flags(unsigned flags) {
  return sys::seccomp(SECCOMP_SET_MODE_FILTER, flags, nullptr) < 0 && errno == EFAULT;
}

Result<void> set_attr(void* ctx, scmp_filter_attr attr, uint32_t value, std::string_view what) {
  int rc = seccomp_attr_set(ctx, attr, value);
  if (rc < 0) return FailErrno(-rc, "{}", what);
  return {};
}

// Applies linux.seccomp.flags: the filter attributes libseccomp checks against the kernel,
// and the SECCOMP_FILTER_FLAG_* bits the child passes to seccomp().
Result<void> apply_flags(void* ctx, const oci::Seccomp& config, SeccompProgram* prog,
                         bool* wait_killable) {
  for (size_t i = 0; i < config.flags.size(); ++i) {
    const std::string& flag = config.flags[i];
    std::string field = fmt::format("linux.seccomp.flags[{}]", i);
    if (flag == "SECCOMP_FILTER_FLAG_TSYNC") {
      prog->flags |= SECCOMP_FILTER_FLAG_TSYNC;
    } else if (flag == "SECCOMP_FILTER_FLAG_LOG") {
      TRY(set_attr(ctx, SCMP_FLTATR_CTL_LOG, 1, field + ": SECCOMP_FILTER_FLAG_LOG"));
      prog->flags |= SECCOMP_FILTER_FLAG_LOG;
    } else if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") {
      TRY(set_attr(ctx, SCMP_FLTATR_CTL_SSB, 1, field + ": SECCOMP_FILTER_FLAG_SPEC_ALLOW"));
      prog->flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    } else if (flag == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") {
      if (!kernel_accepts_filter_flags(SECCOMP_FILTER_FLAG_NEW_LISTENER |
                                       SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)) {
        return Fail(ErrorCode::InvalidArgument,
                    "{}: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV is not supported by this kernel "
                    "(needs Linux 5.19)",
                    field);
      }
      *wait_killable = true;
    } else {
      return Fail(ErrorCode::InvalidArgument, "{}: unknown seccomp flag \"{}\"", field, flag);
    }
  }
  return {};
}

Result<void> add_architectures(void* ctx, const oci::Seccomp& config) {
  for (size_t i = 0; i < config.architectures.size(); ++i) {
    const std::string& name = config.architectures[i];
    uint32_t arch = resolve_arch(name);
    if (arch == 0) {
      return Fail(ErrorCode::InvalidArgument,
                  "linux.seccomp.architectures[{}]: unknown architecture \"{}\"", i, name);
    }
    int rc = seccomp_arch_add(ctx, arch);
    if (rc < 0 && rc != -EEXIST) {
      return FailErrno(-rc, "linux.seccomp.architectures[{}]: add {}", i, name);
    }
  }
  return {};
}

Result<std::vector<scmp_arg_cmp>> parse_conditions(const oci::SeccompSyscall& rule,
                                                   std::string_view field) {
  std::vector<scmp_arg_cmp> conds;
  for (size_t j = 0; j < rule.args.size(); ++j) {
    const oci::SeccompArg& arg = rule.args[j];
    if (arg.index >= kMaxArgs) {
      return Fail(ErrorCode::InvalidArgument, "{}.args[{}].index: {} is not below {}", field, j,
                  arg.index, kMaxArgs);
    }
    std::optional<scmp_compare> op = parse_op(arg.op);
    if (!op) {
      return Fail(ErrorCode::InvalidArgument, "{}.args[{}].op: unknown operator \"{}\"", field, j,
                  arg.op);
    }
    conds.push_back(scmp_arg_cmp{arg.index, *op, arg.value, arg.value_two});
  }
  return conds;
}

// Whether two conditions compare the same argument (libseccomp refuses that in one rule).
bool shares_argument(const std::vector<scmp_arg_cmp>& conds) {
  unsigned seen = 0;
  for (const scmp_arg_cmp& c : conds) {
    if (seen & (1u << c.arg)) return true;
    seen |= 1u << c.arg;
  }
  return false;
}

Result<void> add_rules(void* ctx, const oci::Seccomp& config, uint32_t default_action,
                       bool* use_listener) {
  for (size_t i = 0; i < config.syscalls.size(); ++i) {
    const oci::SeccompSyscall& rule = config.syscalls[i];
    std::string field = fmt::format("linux.seccomp.syscalls[{}]", i);
    Action action =
        TRY(parse_action(rule.action, rule.errno_ret, field + ".action", field + ".errnoRet"));
    std::vector<scmp_arg_cmp> conds = TRY(parse_conditions(rule, field));
    if (rule.names.empty()) {
      return Fail(ErrorCode::InvalidArgument, "{}.names: needs at least one syscall", field);
    }
    bool split = shares_argument(conds);
    for (size_t k = 0; k < rule.names.size(); ++k) {
      const std::string& name = rule.names[k];
      if (name.empty()) {
        return Fail(ErrorCode::InvalidArgument, "{}.names[{}]: empty syscall name", field, k);
      }
      if (action.value == default_action) continue;
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        log::debug("seccomp: {}.names[{}]: syscall \"{}\" unknown to libseccomp, skipped", field, k,
                   name);
        continue;
      }
      *use_listener = *use_listener || action.notify;
      int rc = 0;
      if (!split) {
        rc = seccomp_rule_add_array(ctx, action.value, nr, static_cast<unsigned>(conds.size()),
                                    conds.data());
      } else {
        for (const scmp_arg_cmp& c : conds) {
          rc = seccomp_rule_add_array(ctx, action.value, nr, 1, &c);
          if (rc < 0) break;
        }
      }
      if (rc < 0) {
        return FailErrno(-rc, "{}.names[{}]: add rule {} for syscall \"{}\"", field, k, rule.action,
                         name);
      }
    }
  }
  return {};
}

// Writes the compiled program to a memfd and reads it back as instructions.
Result<std::vector<sock_filter>> export_bpf(void* ctx) {
  int raw = ::memfd_create("berth-seccomp", MFD_CLOEXEC);
  if (raw < 0) return FailErrno(errno, "memfd_create for the seccomp program");
  UniqueFd fd(raw);
  int rc = seccomp_export_bpf(ctx, fd.get());
  if (rc < 0) return FailErrno(-rc, "export the seccomp program");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return FailErrno(errno, "stat the seccomp program");
  size_t size = static_cast<size_t>(st.st_size);
  if (size == 0 || size % sizeof(sock_filter) != 0) {
    return Fail(ErrorCode::Internal,
                "exported seccomp program has {} bytes, not whole instructions", size);
  }
  std::vector<sock_filter> filter(size / sizeof(sock_filter));
  char* out = reinterpret_cast<char*>(filter.data());
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd.get(), out + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailErrno(errno, "read the seccomp program back");
    if (n == 0) return Fail(ErrorCode::Internal, "seccomp program shrank while reading it back");
    done += static_cast<size_t>(n);
  }
  return filter;
}

}  // namespace

Result<SeccompProgram> compile_seccomp(const oci::Seccomp& config) {
  Action def = TRY(parse_action(config.default_action, config.default_errno_ret,
                                "linux.seccomp.defaultAction", "linux.seccomp.defaultErrnoRet"));
  if (def.notify) {
    return Fail(ErrorCode::InvalidArgument,
                "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
  }
  FilterCtx ctx(seccomp_init(def.value));
  if (!ctx) {
    return Fail(ErrorCode::Internal, "linux.seccomp.defaultAction: libseccomp refused {}",
                config.default_action);
  }
  SeccompProgram prog;
  // The runtime sets no_new_privs itself, from process.noNewPrivileges.
  TRY(set_attr(ctx.get(), SCMP_FLTATR_CTL_NNP, 0,
               "linux.seccomp: clear the no_new_privs attribute"));
  // A binary tree of syscall numbers instead of a linear list: each syscall passes ~10
  // comparisons instead of up to ~300, and the kernel's load of the filter (which runs it for
  // every syscall number to build its allow cache) is that much shorter.
  TRY(set_attr(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2, "linux.seccomp: binary tree optimization"));
  bool wait_killable = false;
  TRY(apply_flags(ctx.get(), config, &prog, &wait_killable));
  TRY(add_architectures(ctx.get(), config));
  TRY(add_rules(ctx.get(), config, def.value, &prog.use_listener));

  if (prog.use_listener) {
    if (config.listener_path.empty()) {
      return Fail(ErrorCode::InvalidArgument,
                  "linux.seccomp.listenerPath: required when an action is SCMP_ACT_NOTIFY");
    }
    // The kernel refuses a listener with TSYNC unless a failed sync reports ESRCH instead of a tid.
    if (prog.flags & SECCOMP_FILTER_FLAG_TSYNC) prog.flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
    // Meaningful (and accepted by the kernel) only together with a listener.
    if (wait_killable) prog.flags |= SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
  }

  prog.filter = TRY_CTX("linux.seccomp", export_bpf(ctx.get()));
  if (prog.filter.size() > BPF_MAXINSNS) {
    return Fail(ErrorCode::InvalidArgument,
                "linux.seccomp: the compiled filter has {} instructions, above the kernel's limit "
                "of {}",
                prog.filter.size(), BPF_MAXINSNS);
  }
  return prog;
}

int apply_seccomp(const SeccompProgram& prog, ChildError* err) {
  if (prog.filter.empty()) return child_fail(err, EINVAL, "install seccomp filter: empty program");
  sock_fprog fprog{};
  fprog.len = static_cast<unsigned short>(prog.filter.size());
  fprog.filter = const_cast<sock_filter*>(prog.filter.data());
  unsigned flags = prog.flags | (prog.use_listener ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0);
  int rc = sys::seccomp(SECCOMP_SET_MODE_FILTER, flags, &fprog);
  if (rc < 0) {
    return child_fail(err, errno, "install seccomp filter (%zu instructions, flags 0x%x)",
                      prog.filter.size(), flags);
  }
  if (!prog.use_listener && rc > 0) {
    // With TSYNC alone, a positive result is the thread that could not be synchronised.
    return child_fail(err, ESRCH, "install seccomp filter: thread %d could not be synchronised",
                      rc);
  }
  return rc;
}

}  // namespace berth::runtime
