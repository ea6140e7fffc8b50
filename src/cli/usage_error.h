// Docker's answers to a command line the parser refused.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>

namespace berth::cli {

// After app.parse threw e: prints what Docker prints and returns its exit status, or nullopt
// for errors CLI11 words well enough. A bare group, or berth alone, prints its help (0); an
// unknown command is named (1); so is an unknown flag, a flag without its value or with one that
// does not convert (125); a wrong number of arguments says how many the command takes (1).
std::optional<int> usage_error(CLI::App& app, const CLI::ParseError& e);

// For a command that takes its arguments unparsed (run's IMAGE [COMMAND...], exec's CONTAINER
// COMMAND...), from its callback: throws, for usage_error to answer, when the first is an
// unknown flag or there are fewer than min.
void check_unparsed_arguments(const CLI::App& cmd, int min);

}  // namespace berth::cli
