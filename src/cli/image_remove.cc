// berth rmi | image rm, berth image prune.
#include <unistd.h>

#include <iostream>

#include "cli/engine_cli.h"
#include "cli/output.h"

namespace berth::cli {
namespace {

void print_events(const std::vector<engine::RemoveEvent>& events) {
  for (const auto& e : events) std::cout << (e.deleted ? "Deleted: " : "Untagged: ") << e.what << "\n";
}

struct RmiFlags {
  std::vector<std::string> images;
  bool force = false;
  bool no_prune = false;
};

void run_rmi(EngineGlobals& g, const RmiFlags& flags) {
  auto images = g.images();
  if (!images) return;
  for (const auto& name : flags.images) {
    auto r = images->remove(name, flags.force);
    if (!r) {
      fail(g, r.error());
      continue;  // Docker goes on with the other images and exits 1 at the end
    }
    print_events(*r);
  }
}

struct PruneFlags {
  bool all = false;
  bool force = false;
};

void run_prune(EngineGlobals& g, const PruneFlags& flags) {
  if (!confirm(flags.all ? "This will remove all images without at least one container associated to them."
                         : "This will remove all dangling images.",
               flags.force))
    return;
  auto images = g.images();
  if (!images) return;
  auto r = images->prune(flags.all);
  if (!r) return fail(g, r.error());
  if (!r->events.empty()) {
    std::cout << "Deleted Images:\n";
    for (const auto& e : r->events) std::cout << (e.deleted ? "deleted: " : "untagged: ") << e.what << "\n";
    std::cout << "\n";
  }
  std::cout << "Total reclaimed space: " << human_size(r->reclaimed) << "\n";
}

void define_rmi(CLI::App* cmd, EngineGlobals& g) {
  auto flags = std::make_shared<RmiFlags>();
  cmd->add_option("image", flags->images, "IMAGE [IMAGE...]")->required();
  cmd->add_flag("-f,--force", flags->force, "remove the image even if it has several names");
  cmd->add_flag("--no-prune", flags->no_prune, "accepted for compatibility; layers are collected as usual");
  cmd->callback([&g, flags] { run_rmi(g, *flags); });
}

}  // namespace

void add_rmi(CLI::App& app, CLI::App& image, EngineGlobals& g) {
  define_rmi(app.add_subcommand("rmi", "Remove one or more images"), g);
  define_rmi(image.add_subcommand("rm", "Remove one or more images")->alias("remove"), g);
}

void add_image_prune(CLI::App& image, EngineGlobals& g) {
  auto* cmd = image.add_subcommand("prune", "Remove unused images");
  auto flags = std::make_shared<PruneFlags>();
  cmd->add_flag("-a,--all", flags->all, "remove all unused images, not just dangling ones");
  cmd->add_flag("-f,--force", flags->force, "do not prompt for confirmation");
  cmd->callback([&g, flags] { run_prune(g, *flags); });
}

}  // namespace berth::cli
