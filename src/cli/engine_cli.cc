#include "cli/engine_cli.h"

#include <cstdlib>
#include <iostream>

#include "base/log.h"
#include "base/strings.h"
#include "cli/output.h"

namespace berth::cli {

std::unique_ptr<engine::ImageService> EngineGlobals::images() {
  auto r = engine::ImageService::open(options);
  if (!r) {
    fail(*this, r.error());
    return nullptr;
  }
  return std::move(*r);
}

std::unique_ptr<engine::VolumeStore> EngineGlobals::volumes() {
  auto r = engine::VolumeStore::open(options);
  if (!r) {
    fail(*this, r.error());
    return nullptr;
  }
  return std::move(*r);
}

std::unique_ptr<engine::ContainerService> EngineGlobals::containers() {
  auto r = engine::ContainerService::open(options);
  if (!r) {
    fail(*this, r.error());
    return nullptr;
  }
  return std::move(*r);
}

bool confirm(const std::string& warning, bool force) {
  if (force) return true;
  std::cout << "WARNING! " << warning << "\nAre you sure you want to continue? [y/N] " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "y" || answer == "Y" || answer == "yes";
}

void print_inspect(EngineGlobals& g, const std::vector<nlohmann::ordered_json>& objects, const std::string& format) {
  if (format.empty() || format == "json") {
    std::cout << nlohmann::ordered_json(objects).dump(4) << "\n";
    return;
  }
  auto out = render(objects, format, "");
  if (!out) return fail(g, out.error());
  std::cout << *out;
}

void fail_start(EngineGlobals& g, const Error& error) {
  fail(g, error);
  g.exit_code = engine::exit_code_for_start_error(error);
}

void fail(EngineGlobals& g, const Error& error) { fail(g, error.what()); }

void fail(EngineGlobals& g, const std::string& message) {
  std::cerr << "Error: " << message << "\n";
  g.exit_code = 1;
}

void add_engine_commands(CLI::App& app, EngineGlobals& g) {
  if (const char* root = std::getenv("BERTH_ROOT"); root && *root) g.options.root = root;
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir && *dir) g.config_dir = dir;
  app.add_option("--root", g.options.root, "directory for images, containers and berth.db (env BERTH_ROOT)")
      ->capture_default_str();
  app.add_option("--runroot", g.options.runroot, "directory for runtime state")->capture_default_str();
  app.add_option("--config", g.config_dir, "directory of the client config.json (credentials)");
  app.add_option("--insecure-registry", g.options.insecure_registries,
                 "registry spoken to over plain HTTP (loopback registries always are)")
      ->allow_extra_args(false);
  app.add_option("--max-layer-size", g.options.max_layer_size,
                 "refuse layers larger than this many bytes once decompressed (tar bomb guard)")
      ->capture_default_str();
  app.add_flag("-D,--debug", g.debug, "log debug messages");
  app.parse_complete_callback([&g] {
    if (!g.config_dir.empty()) g.options.docker_config = g.config_dir + "/config.json";
    log::configure("", false, g.debug);
  });

  CLI::App* image = app.add_subcommand("image", "Manage images");
  image->require_subcommand(1);
  add_pull(app, *image, g);
  add_push(app, *image, g);
  add_images(app, *image, g);
  add_rmi(app, *image, g);
  add_tag(app, *image, g);
  add_history(app, *image, g);
  add_load_save(app, *image, g);
  add_import(app, *image, g);
  add_image_inspect(*image, g);
  add_image_prune(*image, g);
  add_image_mount(*image, g);
  add_login(app, g);
  add_system(app, g);
  add_secret(app, g);
  add_volume(app, g);
  add_network(app, g);
  add_build(app, *image, g);
  add_container_commands(app, g);
}

}  // namespace berth::cli
