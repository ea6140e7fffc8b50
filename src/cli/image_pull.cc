// berth pull | image pull, berth push | image push: Docker's output, per-layer progress.
#include <iostream>

#include "cli/engine_cli.h"
#include "cli/progress_display.h"

namespace berth::cli {
namespace {

struct PullFlags {
  std::string reference;
  std::string platform;
  bool quiet = false;
  bool all_tags = false;
};

void run_pull(EngineGlobals& g, const PullFlags& flags) {
  if (flags.all_tags) return fail(g, "--all-tags is not supported by berth");
  auto ref = oci::parse_image_reference(flags.reference);
  if (!ref) return fail(g, ref.error());
  auto images = g.images();
  if (!images) return;
  if (!flags.quiet) {
    if (flags.reference.find(':') == std::string::npos && flags.reference.find('@') == std::string::npos)
      std::cout << "Using default tag: latest\n";
    std::string path = ref->path;
    std::cout << (ref->tag.empty() ? ref->digest : ref->tag) << ": Pulling from " << path << "\n" << std::flush;
  }
  ProgressDisplay display(flags.quiet);
  auto r = images->pull(flags.reference, {flags.platform, display.sink()});
  display.finish();
  if (!r) return fail(g, r.error());
  if (!flags.quiet) {
    std::cout << "Digest: " << r->digest.to_string() << "\n";
    std::cout << "Status: " << (r->updated ? "Downloaded newer image for " : "Image is up to date for ")
              << r->ref.familiar() << "\n";
  }
  std::cout << r->ref.to_string() << "\n";
}

struct PushFlags {
  std::string name;
  bool quiet = false;
};

void run_push(EngineGlobals& g, const PushFlags& flags) {
  auto ref = oci::parse_image_reference(flags.name);
  if (!ref) return fail(g, ref.error());
  auto images = g.images();
  if (!images) return;
  if (!flags.quiet) std::cout << "The push refers to repository [" << ref->name() << "]\n" << std::flush;
  ProgressDisplay display(flags.quiet);
  auto r = images->push(flags.name, display.sink());
  display.finish();
  if (!r) return fail(g, r.error());
  if (flags.quiet) {
    std::cout << ref->to_string() << "\n";
  } else {
    std::cout << (ref->tag.empty() ? "latest" : ref->tag) << ": digest: " << r->first.to_string()
              << " size: " << r->second << "\n";
  }
}

void define_pull(CLI::App* cmd, EngineGlobals& g) {
  auto flags = std::make_shared<PullFlags>();
  cmd->add_option("name", flags->reference, "NAME[:TAG|@DIGEST]")->required();
  cmd->add_option("--platform", flags->platform, "pull for this platform (os[/arch[/variant]])");
  cmd->add_flag("-q,--quiet", flags->quiet, "suppress verbose output");
  cmd->add_flag("-a,--all-tags", flags->all_tags, "download all tagged images (not supported)");
  cmd->callback([&g, flags] { run_pull(g, *flags); });
}

void define_push(CLI::App* cmd, EngineGlobals& g) {
  auto flags = std::make_shared<PushFlags>();
  cmd->add_option("name", flags->name, "NAME[:TAG]")->required();
  cmd->add_flag("-q,--quiet", flags->quiet, "suppress verbose output");
  cmd->callback([&g, flags] { run_push(g, *flags); });
}

}  // namespace

void add_pull(CLI::App& app, CLI::App& image, EngineGlobals& g) {
  define_pull(app.add_subcommand("pull", "Download an image from a registry"), g);
  define_pull(image.add_subcommand("pull", "Download an image from a registry"), g);
}

void add_push(CLI::App& app, CLI::App& image, EngineGlobals& g) {
  define_push(app.add_subcommand("push", "Upload an image to a registry"), g);
  define_push(image.add_subcommand("push", "Upload an image to a registry"), g);
}

}  // namespace berth::cli
