// berth exec | attach.
#include <unistd.h>

#include <iostream>

#include "cli/attach_client.h"
#include "cli/container_verbs.h"
#include "cli/usage_error.h"
#include "engine/run_options.h"

namespace berth::cli {
namespace {

struct ExecFlags {
  bool detach = false, interactive = false, tty = false, privileged = false;
  std::string user, workdir;
  std::vector<std::string> env, env_file;
};

void run_exec(EngineGlobals& g, const ExecFlags& flags, CLI::App& cmd) {
  engine::ExecRequest req;
  // CONTAINER COMMAND [ARG...], unparsed: flags stop at the container.
  check_unparsed_arguments(cmd, 2);
  std::vector<std::string> args = cmd.remaining();
  std::string container = args.front();
  req.cmd.assign(args.begin() + 1, args.end());
  req.detach = flags.detach;
  req.interactive = flags.interactive;
  req.tty = flags.tty;
  req.privileged = flags.privileged;
  req.workdir = flags.workdir;
  if (!flags.user.empty()) req.user = flags.user;
  auto add_env = [&]() -> Result<void> {
    for (const auto& file : flags.env_file) {
      for (auto& kv : TRY(engine::parse_env_file(file))) req.env.push_back(std::move(kv));
    }
    for (const auto& e : flags.env) {
      if (auto kv = TRY(engine::parse_env_flag(e))) req.env.push_back(*kv);
    }
    return {};
  };
  if (auto r = add_env(); !r) {
    fail(g, r.error());
    return void(g.exit_code = 125);
  }
  auto svc = g.containers();
  if (!svc) return;
  auto code = svc->exec(container, req, own_streams(flags.interactive));
  if (!code) {
    // 126/127 when the command cannot run or is not there; 1 for anything else, as Docker.
    fail(g, code.error());
    int start_code = engine::exit_code_for_start_error(code.error());
    if (start_code != 125) g.exit_code = start_code;
    return;
  }
  g.exit_code = *code;
}

struct AttachFlags {
  std::string container;
  bool no_stdin = false;
  bool sig_proxy = true;
};

void run_attach(EngineGlobals& g, const AttachFlags& flags) {
  auto svc = g.containers();
  if (!svc) return;
  auto c = svc->get(flags.container);
  if (!c) return fail(g, c.error());
  bool interactive = c->config.interactive && !flags.no_stdin;
  auto session = svc->attach(c->id, own_streams(interactive));
  if (!session) return fail(g, session.error());
  svc.reset();
  auto code = follow_attached(*session, c->config.tty);
  if (!code) return fail(g, code.error());
  g.exit_code = *code;
}

}  // namespace

void add_exec(CLI::App& app, CLI::App& container, EngineGlobals& g) {
  for (CLI::App* parent : {&app, &container}) {
    auto flags = std::make_shared<ExecFlags>();
    auto* cmd = parent->add_subcommand("exec", "Execute a command in a running container");
    cmd->add_flag("-d,--detach", flags->detach, "Detached mode: run command in the background");
    cmd->add_flag("-i,--interactive", flags->interactive, "Keep STDIN open even if not attached");
    cmd->add_flag("-t,--tty", flags->tty, "Allocate a pseudo-TTY");
    cmd->add_flag("--privileged", flags->privileged, "Give extended privileges to the command");
    cmd->add_option("-u,--user", flags->user, "Username or UID (format: \"<name|uid>[:<group|gid>]\")");
    cmd->add_option("-w,--workdir", flags->workdir, "Working directory inside the container");
    cmd->add_option("-e,--env", flags->env, "Set environment variables")->allow_extra_args(false);
    cmd->add_option("--env-file", flags->env_file, "Read in a file of environment variables")
        ->allow_extra_args(false);
    cmd->prefix_command();
    cmd->callback([&g, flags, cmd] { run_exec(g, *flags, *cmd); });

    auto aflags = std::make_shared<AttachFlags>();
    auto* attach = parent->add_subcommand("attach", "Attach local standard input, output, and error streams to a running container");
    attach->add_flag("--no-stdin", aflags->no_stdin, "Do not attach STDIN");
    attach->add_flag("--sig-proxy", aflags->sig_proxy, "Proxy all received signals to the process");
    attach->add_option("container", aflags->container, "CONTAINER")->required();
    attach->callback([&g, aflags] { run_attach(g, *aflags); });
  }
}

}  // namespace berth::cli
