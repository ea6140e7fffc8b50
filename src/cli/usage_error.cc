#include "cli/usage_error.h"

#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::cli {
namespace {

// What check_unparsed_arguments throws: the message says how many arguments the command takes.
class ArgumentCount : public CLI::ParseError {
 public:
  explicit ArgumentCount(std::string takes)
      : CLI::ParseError("ArgumentCount", std::move(takes), 1) {}
};

std::string arguments(int n) { return fmt::format("{} argument{}", n, n == 1 ? "" : "s"); }

// "requires 2 arguments", "requires at least 1 argument" or "requires at most 1 argument",
// from the command's positionals.
std::string arity(const CLI::App& cmd, bool too_many) {
  constexpr int kUnbounded = CLI::detail::expected_max_vector_size;
  int min = 0, max = 0;
  for (const CLI::Option* o :
       cmd.get_options([](const CLI::Option* o) { return o->get_positional(); })) {
    if (o->get_required()) min += o->get_items_expected_min();
    max = std::min(max + o->get_items_expected_max(), kUnbounded);
  }
  if (min == max) return "requires " + arguments(min);
  if (too_many && max < kUnbounded) return "requires at most " + arguments(max);
  return "requires at least " + arguments(min);
}

// The option an ArgumentMismatch is about: CLI11 starts its message with the option's name.
const CLI::Option* mismatched(const CLI::App& cmd, const CLI::ParseError& e) {
  if (!dynamic_cast<const CLI::ArgumentMismatch*>(&e)) return nullptr;
  std::string_view what = e.what();
  for (const CLI::Option* o : cmd.get_options()) {
    if (what.starts_with(o->get_name() + ":")) return o;
  }
  return nullptr;
}

// The option and value of a ConversionError, from CLI11's "Could not convert: NAME = VALUE".
std::optional<std::pair<const CLI::Option*, std::string>> unconverted(const CLI::App& cmd,
                                                                      const CLI::ParseError& e) {
  if (!dynamic_cast<const CLI::ConversionError*>(&e)) return std::nullopt;
  std::string_view what = e.what();
  for (const CLI::Option* o : cmd.get_options()) {
    std::string prefix = "Could not convert: " + o->get_name() + " = ";
    if (what.starts_with(prefix)) return std::pair{o, std::string(what.substr(prefix.size()))};
  }
  return std::nullopt;
}

// "-t, --time" or "--time", as Docker names a flag.
std::string flag_names(const CLI::Option& o) {
  std::string names;
  for (const std::string& s : o.get_snames()) names += "-" + s + ", ";
  return names + o.get_name();
}

}  // namespace

std::optional<int> usage_error(CLI::App& app, const CLI::ParseError& e) {
  if (e.get_exit_code() == 0) return std::nullopt;  // --help, --version
  CLI::App* cmd = &app;
  std::string path = "berth";
  while (!cmd->get_subcommands().empty()) {
    cmd = cmd->get_subcommands().front();
    path += " " + cmd->get_name();
  }
  // Words no command took, the top level's first: a global option is parsed there.
  std::vector<std::string> rest = app.remaining(true);
  bool group = cmd->get_require_subcommand_min() > 0;
  std::string_view word = rest.empty() ? "" : rest.front();
  const CLI::Option* short_of_values = mismatched(*cmd, e);
  auto bad_value = unconverted(*cmd, e);
  int code;
  if (group && rest.empty()) {
    std::cout << cmd->help();
    return 0;
  } else if (word.starts_with("--")) {
    std::cerr << "unknown flag: " << word.substr(0, word.find('='));
    code = 125;
  } else if (word.starts_with("-") && word.size() > 1) {
    std::cerr << "unknown shorthand flag: '" << word[1] << "' in " << word;
    code = 125;
  } else if (bad_value) {
    std::cerr << "invalid argument \"" << bad_value->second << "\" for \""
              << flag_names(*bad_value->first) << "\" flag: invalid syntax";
    code = 125;
  } else if (short_of_values && !short_of_values->get_positional()) {
    std::cerr << "flag needs an argument: " << short_of_values->get_name();
    code = 125;
  } else if (group) {
    std::cerr << "berth: unknown command: " << path << " " << word;
    code = 1;
  } else if (dynamic_cast<const ArgumentCount*>(&e)) {
    std::cerr << "berth: '" << path << "' " << e.what();
    code = 1;
  } else if (short_of_values || dynamic_cast<const CLI::RequiredError*>(&e) ||
             dynamic_cast<const CLI::ExtrasError*>(&e)) {
    std::cerr << "berth: '" << path << "' " << arity(*cmd, !rest.empty());
    code = 1;
  } else {
    return std::nullopt;
  }
  std::cerr << "\n\nRun '" << path << " --help' for more information\n";
  return code;
}

void check_unparsed_arguments(const CLI::App& cmd, int min) {
  std::vector<std::string> rest = cmd.remaining();
  if (!rest.empty() && rest.front().starts_with("-")) throw CLI::ExtrasError(rest);
  if (rest.size() < static_cast<size_t>(min))
    throw ArgumentCount("requires at least " + arguments(min));
}

}  // namespace berth::cli
