// berth runtime spec
#include "base/fs.h"
#include "cli/runtime_cli.h"
#include "oci/runtime_spec.h"

namespace berth::cli {

void add_runtime_spec(CLI::App& rt, RuntimeGlobals& g) {
  auto* cmd = rt.add_subcommand("spec", "Write a default config.json into the bundle");
  auto bundle = std::make_shared<std::string>(".");
  auto rootless = std::make_shared<bool>(false);
  cmd->add_option("-b,--bundle", *bundle, "bundle directory");
  cmd->add_flag("--rootless", *rootless, "a config for a container run without root");
  cmd->callback([&g, bundle, rootless] {
    std::string path = *bundle + "/config.json";
    if (path_exists(path))
      return report(g, Error(ErrorCode::AlreadyExists, "File " + path + " exists. Remove it first"));
    auto r = write_file_atomic(path, oci::spec_to_json(oci::default_spec(*rootless)) + "\n", 0644);
    if (!r) report(g, r.error());
  });
}

}  // namespace berth::cli
