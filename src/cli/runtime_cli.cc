#include "cli/runtime_cli.h"

#include <iostream>

#include "base/log.h"

namespace berth::cli {

void report(RuntimeGlobals& g, const Error& error) {
  if (!g.log_file.empty()) log::error("{}", error.what());
  std::cerr << "berth runtime: " << error.what() << "\n";
  g.exit_code = 1;
}

void add_runtime_commands(CLI::App& app, RuntimeGlobals& g) {
  CLI::App* rt = app.add_subcommand("runtime", "Run OCI bundles (runc-compatible command line)");
  rt->require_subcommand(1);
  rt->add_option("--root", g.root, "directory for container state")->capture_default_str();
  rt->add_option("--log", g.log_file, "log file (default: stderr)");
  rt->add_option("--log-format", g.log_format, "log format: text or json")->check(CLI::IsMember({"text", "json"}));
  rt->add_flag("--debug", g.debug, "log debug messages");
  rt->parse_complete_callback([&g] { log::configure(g.log_file, g.log_format == "json", g.debug); });
  add_runtime_create(*rt, g);
  add_runtime_start(*rt, g);
  add_runtime_run(*rt, g);
  add_runtime_state(*rt, g);
  add_runtime_kill(*rt, g);
  add_runtime_delete(*rt, g);
  add_runtime_list(*rt, g);
  add_runtime_spec(*rt, g);
  add_runtime_exec(*rt, g);
  add_runtime_ps(*rt, g);
  add_runtime_pause(*rt, g);
}

}  // namespace berth::cli
