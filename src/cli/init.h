// `berth init`: the hidden subcommand the container runs as PID 1 (see runtime/reaper_init.h).
#pragma once

#include <CLI/CLI.hpp>

namespace berth::cli {

// Registers the hidden `init -- COMMAND [ARG...]` subcommand; it exits with the command's
// status.
void add_init(CLI::App& app);

}  // namespace berth::cli
