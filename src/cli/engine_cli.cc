#include "cli/engine_cli.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <span>

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

namespace {

using Words = std::span<const std::string_view>;

// The top-level words each group of registration functions below adds.
constexpr std::string_view kImageVerbs[] = {"image", "pull", "push", "images", "rmi", "tag", "history", "load", "save", "import", "build"};
constexpr std::string_view kContainerVerbs[] = {"container", "run",   "create",  "start",  "stop", "kill",    "restart",
                                   "rm",        "pause", "unpause", "rename", "wait", "ps",      "logs",
                                   "exec",      "attach", "inspect", "top",   "port", "cp"};
constexpr std::string_view kOtherVerbs[] = {"login", "logout", "system", "secret", "volume", "network", "runtime"};
// Global options followed by a value (as a separate word).
constexpr std::string_view kValueOptions[] = {"--root", "--runroot", "--config", "--insecure-registry", "--max-layer-size"};

bool among(Words words, std::string_view word) { return std::find(words.begin(), words.end(), word) != words.end(); }

}  // namespace

std::string_view command_verb(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (among(kValueOptions, arg)) {
      ++i;
      continue;
    }
    if (arg.starts_with("-")) continue;
    bool known = among(kImageVerbs, arg) || among(kContainerVerbs, arg) || among(kOtherVerbs, arg);
    return known ? arg : "";
  }
  return "";
}

void add_engine_commands(CLI::App& app, EngineGlobals& g, std::string_view verb) {
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

  // With a known verb only its group is registered: the whole tree is ~500 KB of heap, which
  // costs every command ~3 ms of page faults on these VMs. Help and unknown words get it all.
  auto wanted = [&](Words words) { return verb.empty() || among(words, verb); };
  if (wanted(kImageVerbs)) {
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
    add_build(app, *image, g);
  }
  auto is = [&](std::string_view word) { return verb.empty() || verb == word; };
  if (is("login") || is("logout")) add_login(app, g);
  if (is("system")) add_system(app, g);
  if (is("secret")) add_secret(app, g);
  if (is("volume")) add_volume(app, g);
  if (is("network")) add_network(app, g);
  if (wanted(kContainerVerbs)) add_container_commands(app, g, verb);
}

}  // namespace berth::cli
