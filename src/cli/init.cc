// berth init -- COMMAND [ARG...]: the container's init (hidden). The "--" keeps the
// command's own flags away from berth's parser.
#include "cli/init.h"

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "runtime/reaper_init.h"

namespace berth::cli {

void add_init(CLI::App& app) {
  auto* cmd = app.add_subcommand("init", "Run a command as the container's init (internal)");
  cmd->group("");  // hidden from help
  auto words = std::make_shared<std::vector<std::string>>();
  cmd->add_option("command", *words, "the command and its arguments, after --")->required();
  cmd->callback([words] {
    std::vector<char*> argv;
    for (auto& w : *words) argv.push_back(w.data());
    argv.push_back(nullptr);
    std::exit(runtime::run_reaper_init(argv.data()));
  });
}

}  // namespace berth::cli
