// berth runtime kill | delete | pause | resume
#include "cli/runtime_cli.h"

namespace berth::cli {

void add_runtime_kill(CLI::App& rt, RuntimeGlobals& g) {
  auto* cmd = rt.add_subcommand("kill", "Send a signal to a container's init (default SIGTERM)");
  auto id = std::make_shared<std::string>();
  auto sig = std::make_shared<std::string>("SIGTERM");
  auto all = std::make_shared<bool>(false);
  cmd->add_flag("-a,--all", *all, "signal every process of the container");
  cmd->add_option("id", *id, "container id")->required();
  cmd->add_option("signal", *sig, "signal name or number");
  cmd->callback([&g, id, sig, all] {
    auto s = runtime::parse_signal(*sig);
    if (!s) return report(g, s.error());
    auto r = g.runtime().kill(*id, *s, *all);
    if (!r) report(g, r.error());
  });
}

void add_runtime_delete(CLI::App& rt, RuntimeGlobals& g) {
  auto* cmd = rt.add_subcommand("delete", "Delete a stopped container");
  auto ids = std::make_shared<std::vector<std::string>>();
  auto force = std::make_shared<bool>(false);
  cmd->add_flag("-f,--force", *force, "kill the container first if it runs");
  cmd->add_option("id", *ids, "container id")->required();
  cmd->callback([&g, ids, force] {
    for (const auto& id : *ids) {
      auto r = g.runtime().remove(id, *force);
      // runc: deleting a container that does not exist with --force is not an error.
      if (!r && !(*force && r.error().code() == ErrorCode::NotFound)) report(g, r.error());
    }
  });
}

void add_runtime_pause(CLI::App& rt, RuntimeGlobals& g) {
  auto* pause = rt.add_subcommand("pause", "Freeze every process of a container");
  auto* resume = rt.add_subcommand("resume", "Thaw a paused container");
  auto pid = std::make_shared<std::string>();
  auto rid = std::make_shared<std::string>();
  pause->add_option("id", *pid, "container id")->required();
  resume->add_option("id", *rid, "container id")->required();
  pause->callback([&g, pid] {
    auto r = g.runtime().pause(*pid);
    if (!r) report(g, r.error());
  });
  resume->callback([&g, rid] {
    auto r = g.runtime().resume(*rid);
    if (!r) report(g, r.error());
  });
}

}  // namespace berth::cli
