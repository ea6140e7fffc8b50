// berth build | image build | builder build: Docker's flags, plain progress on stderr, the
// image ID at the end (alone with -q).
#include <unistd.h>

#include <chrono>
#include <iostream>

#include "base/fs.h"
#include "build/builder.h"
#include "cli/engine_cli.h"
#include "cli/flag_values.h"

namespace berth::cli {
namespace {

struct BuildFlags {
  std::string context;
  std::string file;
  std::vector<std::string> tags, build_args, secrets, labels;
  std::string target, iidfile, progress = "auto", platform;
  bool no_cache = false, pull = false, quiet = false;
};

void run_build(EngineGlobals& g, const BuildFlags& f) {
  if (f.progress != "auto" && f.progress != "plain" && f.progress != "tty" && f.progress != "quiet")
    return fail(g, "invalid argument \"" + f.progress + "\" for \"--progress\" flag: want auto, plain, tty or quiet");
  if (!f.platform.empty()) {
    auto p = oci::parse_platform(f.platform);
    if (!p) return fail(g, p.error());
    if (!oci::platform_matches(*p, oci::host_platform()))
      return fail(g, "--platform " + f.platform + ": only the host's platform " + oci::host_platform().to_string() +
                         " can be built here");
  }
  build::BuildOptions opts;
  if (f.context == "-") {
    opts.context_fd = STDIN_FILENO;
  } else {
    opts.context_dir = f.context;
  }
  opts.dockerfile = f.file;
  opts.tags = f.tags;
  opts.target = f.target;
  opts.no_cache = f.no_cache;
  for (const auto& a : f.build_args) {
    auto eq = a.find('=');
    if (eq == std::string::npos) {
      if (const char* v = std::getenv(a.c_str())) opts.build_args[a] = v;
      continue;
    }
    opts.build_args[a.substr(0, eq)] = a.substr(eq + 1);
  }
  for (const auto& l : f.labels) {
    auto eq = l.find('=');
    opts.labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
  }
  for (const auto& s : f.secrets) {
    auto parsed = build::parse_secret_source(s);
    if (!parsed) return fail(g, parsed.error());
    opts.secrets.push_back(*parsed);
  }
  auto images = engine::ImageService::open(g.options, false);
  if (!images) return fail(g, images.error());
  build::BuildOutput out;
  if (!f.quiet && f.progress != "quiet") out = [](std::string_view line) { std::cerr << line << "\n"; };
  auto result = build::build_image(g.options, **images, opts, out);
  if (!result) {
    Error e = result.error();
    e.context("failed to solve");
    return fail(g, e);
  }
  if (!f.iidfile.empty()) {
    if (auto w = write_file(f.iidfile, result->image_id); !w) return fail(g, w.error());
  }
  if (f.quiet) std::cout << result->image_id << "\n";
}

void define_build(CLI::App* cmd, EngineGlobals& g) {
  auto f = std::make_shared<BuildFlags>();
  cmd->add_option("context", f->context, "PATH | URL | -")->required();
  cmd->add_option("-f,--file", f->file, "Name of the Dockerfile (default: PATH/Dockerfile)");
  cmd->add_option("-t,--tag", f->tags, "Name and optionally a tag in the name:tag format");
  cmd->add_option("--target", f->target, "Set the target build stage to build");
  cmd->add_option("--build-arg", f->build_args, "Set build-time variables");
  cmd->add_option("--secret", f->secrets, "Secret to expose to the build (format: id=mysecret[,src=/local/secret])");
  cmd->add_option("--label", f->labels, "Set metadata for an image");
  cmd->add_option("--iidfile", f->iidfile, "Write the image ID to the file");
  cmd->add_option("--progress", f->progress, "Set type of progress output (auto, plain, tty, quiet)");
  cmd->add_option("--platform", f->platform, "Set target platform for build (the host's only)");
  cmd->add_flag("--no-cache", f->no_cache, "Do not use cache when building the image");
  cmd->add_flag("--pull", f->pull, "Always attempt to pull a newer version of the image (accepted; builds use local images)");
  cmd->add_flag("-q,--quiet", f->quiet, "Suppress the build output and print image ID on success");
  cmd->callback([&g, f] { run_build(g, *f); });
}

}  // namespace

void add_build(CLI::App& app, CLI::App& image, EngineGlobals& g) {
  define_build(app.add_subcommand("build", "Build an image from a Dockerfile"), g);
  define_build(image.add_subcommand("build", "Build an image from a Dockerfile"), g);
}

}  // namespace berth::cli
