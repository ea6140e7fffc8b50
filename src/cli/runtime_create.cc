// berth runtime create | start | run
#include <iostream>

#include "cli/runtime_cli.h"

namespace berth::cli {
namespace {

void add_create_flags(CLI::App* cmd, runtime::CreateOptions& o) {
  cmd->add_option("-b,--bundle", o.bundle, "path to the bundle directory (default: current directory)");
  cmd->add_option("--console-socket", o.console_socket, "unix socket that receives the pty master");
  cmd->add_option("--pid-file", o.pid_file, "file to write the container's pid to");
  cmd->add_flag("--no-pivot", o.no_pivot, "use MS_MOVE and chroot instead of pivot_root");
}

}  // namespace

void add_runtime_create(CLI::App& rt, RuntimeGlobals& g) {
  auto* cmd = rt.add_subcommand("create", "Create a container that waits for start");
  auto opts = std::make_shared<runtime::CreateOptions>();
  auto id = std::make_shared<std::string>();
  add_create_flags(cmd, *opts);
  cmd->add_option("id", *id, "container id")->required();
  cmd->callback([&g, opts, id] {
    auto r = g.runtime().create(*id, *opts);
    if (!r) report(g, r.error());
  });
}

void add_runtime_start(CLI::App& rt, RuntimeGlobals& g) {
  auto* cmd = rt.add_subcommand("start", "Start the process of a created container");
  auto id = std::make_shared<std::string>();
  cmd->add_option("id", *id, "container id")->required();
  cmd->callback([&g, id] {
    auto r = g.runtime().start(*id);
    if (!r) report(g, r.error());
  });
}

void add_runtime_run(CLI::App& rt, RuntimeGlobals& g) {
  auto* cmd = rt.add_subcommand("run", "Create and start a container, then wait for it");
  auto opts = std::make_shared<runtime::CreateOptions>();
  auto id = std::make_shared<std::string>();
  auto detach = std::make_shared<bool>(false);
  auto keep = std::make_shared<bool>(false);
  add_create_flags(cmd, *opts);
  cmd->add_flag("-d,--detach", *detach, "return once the container has started");
  cmd->add_flag("--keep", *keep, "do not delete the container after it exits");
  cmd->add_option("id", *id, "container id")->required();
  cmd->callback([&g, opts, id, detach, keep] {
    auto r = g.runtime().run(*id, *opts, *detach, *keep);
    if (!r) return report(g, r.error());
    g.exit_code = *r;
  });
}

}  // namespace berth::cli
