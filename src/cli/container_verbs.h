// The container verbs, one registration function per file; each registers the top-level verb
// (`berth ps`) and its `berth container <verb>` form.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/engine_cli.h"

namespace berth::cli {

void add_run(CLI::App& app, CLI::App& container, EngineGlobals& g);          // run, create, start
void add_run_verb(CLI::App& parent, EngineGlobals& g);                        // run alone
void add_create_verb(CLI::App& parent, EngineGlobals& g);                     // create alone
void add_stop(CLI::App& app, CLI::App& container, EngineGlobals& g);         // stop, kill, restart, rm, pause, unpause, rename, wait, prune
void add_ps(CLI::App& app, CLI::App& container, EngineGlobals& g);           // ps, container ls
void add_logs(CLI::App& app, CLI::App& container, EngineGlobals& g);         // logs
void add_exec(CLI::App& app, CLI::App& container, EngineGlobals& g);         // exec, attach
void add_container_inspect(CLI::App& app, CLI::App& container, EngineGlobals& g);  // inspect, top, cp

}  // namespace berth::cli
