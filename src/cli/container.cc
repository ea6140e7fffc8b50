// `berth container ...` and the top-level container verbs.
#include "cli/container_verbs.h"

namespace berth::cli {

void add_container_commands(CLI::App& app, EngineGlobals& g) {
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
