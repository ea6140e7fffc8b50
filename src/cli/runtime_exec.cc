// berth runtime exec
#include "base/fs.h"
#include "base/strings.h"
#include "cli/runtime_cli.h"

namespace berth::cli {
namespace {

struct ExecFlags {
  std::string id;
  std::string process_file;
  std::string console_socket;
  std::string cwd;
  std::vector<std::string> env;
  bool tty = false;
  std::string user;
  std::vector<uint32_t> additional_gids;
  bool detach = false;
  std::string pid_file;
  std::vector<std::string> caps;
  bool no_new_privs = false;
};

// runc's exec: the container's process is the base; flags override or add.
Result<oci::Process> build_process(const ExecFlags& f, const oci::Spec& spec,
                                   const std::vector<std::string>& args) {
  if (!f.process_file.empty()) {
    std::string text = TRY(read_file(f.process_file));
    return TRY_CTX("--process " + f.process_file, oci::parse_process(text));
  }
  if (args.empty()) return Fail(ErrorCode::InvalidArgument, "exec: no command given");
  oci::Process p = spec.process ? *spec.process : oci::Process{};
  p.args = args;
  p.terminal = f.tty;
  p.console_size.reset();
  for (const auto& e : f.env) p.env.push_back(e);
  if (!f.cwd.empty()) p.cwd = f.cwd;
  if (!f.user.empty()) {
    auto parts = split(f.user, ':');
    p.user.uid = static_cast<uint32_t>(TRY(parse_uint(parts[0], "--user uid")));
    if (parts.size() > 1) p.user.gid = static_cast<uint32_t>(TRY(parse_uint(parts[1], "--user gid")));
  }
  if (!f.additional_gids.empty()) p.user.additional_gids = f.additional_gids;
  if (f.no_new_privs) p.no_new_privileges = true;
  if (!f.caps.empty()) {
    if (!p.capabilities) p.capabilities = oci::Capabilities{};
    for (const auto& c : f.caps) {
      for (auto* set : {&p.capabilities->bounding, &p.capabilities->effective, &p.capabilities->permitted,
                        &p.capabilities->ambient, &p.capabilities->inheritable})
        set->push_back(c);
    }
  }
  return p;
}

}  // namespace

void add_runtime_exec(CLI::App& rt, RuntimeGlobals& g) {
  auto* cmd = rt.add_subcommand("exec", "Run a new process in a running container");
  auto f = std::make_shared<ExecFlags>();
  cmd->add_option("-p,--process", f->process_file, "process.json to run instead of the command");
  cmd->add_option("--console-socket", f->console_socket, "unix socket that receives the pty master");
  cmd->add_option("--cwd", f->cwd, "working directory in the container");
  cmd->add_option("-e,--env", f->env, "environment variable KEY=VALUE")->allow_extra_args(false);
  cmd->add_flag("-t,--tty", f->tty, "allocate a terminal");
  cmd->add_option("-u,--user", f->user, "UID[:GID]");
  cmd->add_option("-g,--additional-gids", f->additional_gids, "additional group id")->allow_extra_args(false);
  cmd->add_flag("-d,--detach", f->detach, "do not wait for the process");
  cmd->add_option("--pid-file", f->pid_file, "file to write the process id to");
  cmd->add_option("-c,--cap", f->caps, "add a capability")->allow_extra_args(false);
  cmd->add_flag("--no-new-privs", f->no_new_privs, "set no_new_privs");
  cmd->add_option("id", f->id, "container id")->required();
  cmd->prefix_command();
  cmd->callback([&g, cmd, f] {
    auto rt = g.runtime();
    auto spec = rt.config(f->id);
    if (!spec) return report(g, spec.error());
    auto process = build_process(*f, *spec, cmd->remaining());
    if (!process) return report(g, process.error());
    runtime::ExecOptions opts;
    opts.process = *process;
    opts.console_socket = f->console_socket;
    opts.pid_file = f->pid_file;
    opts.detach = f->detach;
    auto r = rt.exec(f->id, opts);
    if (!r) return report(g, r.error());
    g.exit_code = *r;
  });
}

}  // namespace berth::cli
