// The Docker-compatible command tree (`berth pull`, `berth images`, ...): global flags, error
// reporting with Docker's exit codes, and the verbs' registration functions, one file each.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "base/error.h"
#include "engine/container_service.h"
#include "engine/engine_options.h"
#include "engine/image_service.h"
#include "engine/volume_store.h"

namespace berth::cli {

struct EngineGlobals {
  engine::EngineOptions options;
  std::string config_dir;  // --config: where config.json (credentials) lives
  bool debug = false;
  int exit_code = 0;

  // Opens the image service or reports why not (and returns null).
  std::unique_ptr<engine::ImageService> images();
  // Opens the volume store or reports why not (and returns null).
  std::unique_ptr<engine::VolumeStore> volumes();
  // Opens the container service or reports why not (and returns null).
  std::unique_ptr<engine::ContainerService> containers();
};

// Asks "WARNING! <warning>\nAre you sure you want to continue? [y/N] " unless force; true
// when the answer is yes.
bool confirm(const std::string& warning, bool force);

// Prints inspect objects as Docker does: a JSON array (indented 4) for "" or "json", else the
// template applied to each.
void print_inspect(EngineGlobals& g, const std::vector<nlohmann::ordered_json>& objects, const std::string& format);

// Prints "Error: <message>" and sets the exit code a failed container start has in Docker:
// 126 cannot execute, 127 not found, 125 otherwise.
void fail_start(EngineGlobals& g, const Error& error);

// Prints "Error: <message>" to stderr and sets Docker's exit code for a failed command (1).
void fail(EngineGlobals& g, const Error& error);
void fail(EngineGlobals& g, const std::string& message);

// The verb argv asks for (the first word after the global options) when berth knows it, else
// "" (none, --help, or a typo).
std::string_view command_verb(int argc, char** argv);
// The global options and the verbs: only verb's group when verb is not "" (see command_verb).
void add_engine_commands(CLI::App& app, EngineGlobals& g, std::string_view verb);

// Each registers one verb (and its `berth image <verb>` alias where Docker has one).
void add_pull(CLI::App& app, CLI::App& image, EngineGlobals& g);
void add_push(CLI::App& app, CLI::App& image, EngineGlobals& g);
void add_images(CLI::App& app, CLI::App& image, EngineGlobals& g);
void add_rmi(CLI::App& app, CLI::App& image, EngineGlobals& g);
void add_tag(CLI::App& app, CLI::App& image, EngineGlobals& g);
void add_history(CLI::App& app, CLI::App& image, EngineGlobals& g);
void add_load_save(CLI::App& app, CLI::App& image, EngineGlobals& g);
void add_import(CLI::App& app, CLI::App& image, EngineGlobals& g);
void add_image_inspect(CLI::App& image, EngineGlobals& g);
void add_image_prune(CLI::App& image, EngineGlobals& g);
void add_image_mount(CLI::App& image, EngineGlobals& g);
void add_login(CLI::App& app, EngineGlobals& g);
void add_system(CLI::App& app, EngineGlobals& g);
void add_secret(CLI::App& app, EngineGlobals& g);
void add_volume(CLI::App& app, EngineGlobals& g);
void add_network(CLI::App& app, EngineGlobals& g);
void add_build(CLI::App& app, CLI::App& image, EngineGlobals& g);
void add_container_commands(CLI::App& app, EngineGlobals& g, std::string_view verb);

}  // namespace berth::cli
