// berth: one daemonless binary. Verbs are registered by the files of src/cli.
#include <CLI/CLI.hpp>

#include "cli/runtime_cli.h"

int main(int argc, char** argv) {
  CLI::App app{"berth: a secure-by-default container engine"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "berth version 0.1.0");
  berth::cli::RuntimeGlobals runtime_globals;
  berth::cli::add_runtime_commands(app, runtime_globals);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 1;
  }
  return runtime_globals.exit_code;
}
