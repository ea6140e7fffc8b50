// `berth container ...` and the top-level container verbs.
#include "cli/container_verbs.h"

namespace berth::cli {

void add_container_commands(CLI::App& app, EngineGlobals& g, std::string_view verb) {
  // `run` and `create` carry ~100 flags each, registered under both spellings: a command that
  // is one of them builds just that one (~2 ms less of page faults on these VMs).
  if (verb == "run") return add_run_verb(app, g);
  if (verb == "create") return add_create_verb(app, g);
  CLI::App* container = app.add_subcommand("container", "Manage containers");
  container->require_subcommand(1);
  add_run(app, *container, g);
  add_stop(app, *container, g);
  add_ps(app, *container, g);
  add_logs(app, *container, g);
  add_exec(app, *container, g);
  add_container_inspect(app, *container, g);
}

}  // namespace berth::cli
