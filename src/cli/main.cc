// berth: one daemonless binary. Verbs are registered by the files of src/cli.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string_view>

#include "cli/engine_cli.h"
#include "cli/runtime_cli.h"
#include "cli/usage_error.h"
#include "engine/monitor.h"
#include "engine/network_dns.h"

int main(int argc, char** argv) {
  // A SIGCHLD our parent left ignored would have the kernel reap our children before we read
  // their status (waitpid: ECHILD). What else it left ignored or blocked stays ours; children
  // that exec get a clean set (sys::reset_signals).
  std::signal(SIGCHLD, SIG_DFL);
  CLI::App app{"berth: a secure-by-default container engine"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "berth version 0.1.0");
  std::string_view verb = argc > 1 ? argv[1] : "";
  // The container monitor (hidden; spawned by start as `berth monitor ROOT RUNROOT ID` with its
  // control socket on fd 3) stays resident: it builds no command tree at all.
  if (verb == "monitor" && argc == 5) {
    berth::engine::EngineOptions options;
    options.root = argv[2];
    options.runroot = argv[3];
    return berth::engine::run_monitor(options, argv[4], 3);
  }
  // A user network's DNS server (hidden; spawned as `berth dns DIR GATEWAY` with a pipe on fd 3
  // that it closes once it serves).
  if (verb == "dns" && argc == 4) return berth::engine::run_network_dns(argv[2], argv[3], 3);
  // Only the asked verb's part of the command tree is built (see add_engine_commands).
  bool runtime_only = verb == "runtime";
  std::string_view engine_verb = berth::cli::command_verb(argc, argv);
  berth::cli::RuntimeGlobals runtime_globals;
  berth::cli::EngineGlobals engine_globals;
  if (engine_verb.empty() || engine_verb == "runtime") berth::cli::add_runtime_commands(app, runtime_globals);
  if (!runtime_only) berth::cli::add_engine_commands(app, engine_globals, engine_verb);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (!runtime_only)
      if (std::optional<int> code = berth::cli::usage_error(app, e)) return *code;
    int code = app.exit(e);
    if (code == 0) return 0;
    // runc exits 1 on a usage error; Docker's CLI exits 125.
    return runtime_only ? 1 : 125;
  }
  int code = runtime_globals.exit_code != 0 ? runtime_globals.exit_code : engine_globals.exit_code;
  // Every verb has finished and released what it held; freeing the command tree and the
  // static objects one by one would only touch their pages again (~1 ms on these VMs).
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  std::_Exit(code);
}
