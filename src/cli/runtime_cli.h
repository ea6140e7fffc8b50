// `berth runtime`: the runc-compatible command tree. Each verb lives in its own file and
// registers its flags and a callback that makes one call into berth::runtime.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "base/error.h"
#include "runtime/runtime.h"

namespace berth::cli {

struct RuntimeGlobals {
  std::string root = "/run/berth/runtime";
  std::string log_file;
  std::string log_format = "text";
  bool debug = false;
  int exit_code = 0;

  runtime::Runtime runtime() const { return runtime::Runtime(runtime::RuntimeOptions{root, "/sys/fs/cgroup", ""}); }
};

// Prints "berth runtime: <error>" (and logs it) and sets exit code 1, as runc does.
void report(RuntimeGlobals& g, const Error& error);

void add_runtime_commands(CLI::App& app, RuntimeGlobals& g);

void add_runtime_create(CLI::App& rt, RuntimeGlobals& g);
void add_runtime_start(CLI::App& rt, RuntimeGlobals& g);
void add_runtime_run(CLI::App& rt, RuntimeGlobals& g);
void add_runtime_state(CLI::App& rt, RuntimeGlobals& g);
void add_runtime_kill(CLI::App& rt, RuntimeGlobals& g);
void add_runtime_delete(CLI::App& rt, RuntimeGlobals& g);
void add_runtime_list(CLI::App& rt, RuntimeGlobals& g);
void add_runtime_spec(CLI::App& rt, RuntimeGlobals& g);
void add_runtime_exec(CLI::App& rt, RuntimeGlobals& g);
void add_runtime_ps(CLI::App& rt, RuntimeGlobals& g);
void add_runtime_pause(CLI::App& rt, RuntimeGlobals& g);

}  // namespace berth::cli
