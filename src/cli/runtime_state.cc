// berth runtime state | list | ps
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "base/process.h"
#include "base/strings.h"
#include "cli/runtime_cli.h"

namespace berth::cli {

void add_runtime_state(CLI::App& rt, RuntimeGlobals& g) {
  auto* cmd = rt.add_subcommand("state", "Print the state of a container as JSON");
  auto id = std::make_shared<std::string>();
  cmd->add_option("id", *id, "container id")->required();
  cmd->callback([&g, id] {
    auto r = g.runtime().state(*id);
    if (!r) return report(g, r.error());
    std::cout << oci::state_to_json(*r, true) << "\n";
  });
}

void add_runtime_list(CLI::App& rt, RuntimeGlobals& g) {
  auto* cmd = rt.add_subcommand("list", "List containers");
  auto format = std::make_shared<std::string>("table");
  auto quiet = std::make_shared<bool>(false);
  cmd->add_option("-f,--format", *format, "table or json")->check(CLI::IsMember({"table", "json"}));
  cmd->add_flag("-q,--quiet", *quiet, "print only the ids");
  cmd->callback([&g, format, quiet] {
    auto r = g.runtime().list();
    if (!r) return report(g, r.error());
    if (*quiet) {
      for (const auto& s : *r) std::cout << s.id << "\n";
      return;
    }
    if (*format == "json") {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& s : *r) arr.push_back(nlohmann::json::parse(oci::state_to_json(s, false)));
      std::cout << arr.dump() << "\n";
      return;
    }
    std::vector<std::vector<std::string>> rows{{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
    for (const auto& s : *r)
      rows.push_back({s.id, std::to_string(s.pid), s.status, s.bundle, s.created, s.owner.empty() ? "root" : s.owner});
    std::vector<size_t> width(6, 0);
    for (const auto& row : rows)
      for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
    for (const auto& row : rows) {
      std::string line;
      for (size_t i = 0; i < row.size(); ++i) {
        line += row[i];
        if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 4, ' ');
      }
      std::cout << line << "\n";
    }
  });
}

void add_runtime_ps(CLI::App& rt, RuntimeGlobals& g) {
  auto* cmd = rt.add_subcommand("ps", "List the processes of a container");
  auto format = std::make_shared<std::string>("table");
  auto id = std::make_shared<std::string>();
  cmd->add_option("-f,--format", *format, "table or json")->check(CLI::IsMember({"table", "json"}));
  cmd->add_option("id", *id, "container id")->required();
  cmd->prefix_command();
  cmd->callback([&g, cmd, format, id] {
    auto r = g.runtime().pids(*id);
    if (!r) return report(g, r.error());
    if (*format == "json") {
      std::cout << nlohmann::json(*r).dump() << "\n";
      return;
    }
    std::vector<std::string> argv{"ps"};
    for (const auto& a : cmd->remaining()) argv.push_back(a);
    if (argv.size() == 1) argv.push_back("-ef");
    auto out = run_capture(argv);
    if (!out) return report(g, out.error());
    std::set<pid_t> pids(r->begin(), r->end());
    auto lines = split(*out, '\n');
    if (lines.empty()) return;
    std::istringstream header(lines[0]);
    std::string col;
    int pid_col = -1;
    for (int i = 0; header >> col; ++i) {
      if (col == "PID") pid_col = i;
    }
    if (pid_col < 0) return report(g, Error(ErrorCode::InvalidArgument, "ps output has no PID column"));
    std::cout << lines[0] << "\n";
    for (size_t i = 1; i < lines.size(); ++i) {
      std::istringstream fields(lines[i]);
      std::string f;
      for (int c = 0; c <= pid_col && fields >> f; ++c) {
      }
      auto pid = parse_int(f, "pid");
      if (pid && pids.count(static_cast<pid_t>(*pid))) std::cout << lines[i] << "\n";
    }
  });
}

}  // namespace berth::cli
