// berth image inspect: Docker's JSON array, or a --format template per image.
#include <iostream>

#include "cli/engine_cli.h"
#include "cli/output.h"
#include "engine/image_json.h"

namespace berth::cli {

void add_image_inspect(CLI::App& image, EngineGlobals& g) {
  auto* cmd = image.add_subcommand("inspect", "Display detailed information on one or more images");
  auto names = std::make_shared<std::vector<std::string>>();
  auto format = std::make_shared<std::string>();
  cmd->add_option("image", *names, "IMAGE [IMAGE...]")->required();
  cmd->add_option("-f,--format", *format, "'json' or a Go template such as '{{.Id}}'");
  cmd->callback([&g, names, format] {
    auto images = g.images();
    if (!images) return;
    std::vector<Row> found;
    for (const auto& name : *names) {
      auto d = images->inspect(name);
      if (!d) {
        fail(g, d.error());
        continue;
      }
      found.push_back(engine::image_inspect_json(*d));
    }
    print_inspect(g, found, *format);
  });
}

}  // namespace berth::cli
