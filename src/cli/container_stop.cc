// berth stop | kill | restart | rm | pause | unpause | rename | wait | container prune.
#include <iostream>

#include "cli/container_verbs.h"
#include "cli/output.h"

namespace berth::cli {
namespace {

struct StopFlags {
  std::vector<std::string> containers;
  std::optional<int> timeout;
  std::string signal;
};

// Runs fn on each container, printing each name as given on success (Docker's shape); the
// exit code is 1 when any failed.
template <class F>
void each(EngineGlobals& g, const std::vector<std::string>& refs, F fn, bool print = true) {
  auto svc = g.containers();
  if (!svc) return;
  for (const auto& ref : refs) {
    auto r = fn(*svc, ref);
    if (!r) {
      fail(g, r.error());
      continue;
    }
    if (print) std::cout << ref << "\n";
  }
}

struct RmFlags {
  std::vector<std::string> containers;
  bool force = false, volumes = false;
};

void add_stop_like(CLI::App& parent, EngineGlobals& g) {
  auto stop = std::make_shared<StopFlags>();
  auto* cmd = parent.add_subcommand("stop", "Stop one or more running containers");
  cmd->add_option("-t,--timeout,--time", stop->timeout,
                  "Seconds to wait before killing the container");
  cmd->add_option("-s,--signal", stop->signal, "Signal to send to the container");
  cmd->add_option("containers", stop->containers, "CONTAINER")->required();
  cmd->callback([&g, stop] {
    each(g, stop->containers, [&](engine::ContainerService& s, const std::string& ref) {
      return s.stop(ref, stop->timeout, stop->signal);
    });
  });

  auto restart = std::make_shared<StopFlags>();
  cmd = parent.add_subcommand("restart", "Restart one or more containers");
  cmd->add_option("-t,--timeout,--time", restart->timeout,
                  "Seconds to wait before killing the container");
  cmd->add_option("containers", restart->containers, "CONTAINER")->required();
  cmd->callback([&g, restart] {
    each(g, restart->containers, [&](engine::ContainerService& s, const std::string& ref) {
      return s.restart(ref, restart->timeout);
    });
  });

  auto kill = std::make_shared<StopFlags>();
  cmd = parent.add_subcommand("kill", "Kill one or more running containers");
  cmd->add_option("-s,--signal", kill->signal, "Signal to send to the container")->default_str("KILL");
  cmd->add_option("containers", kill->containers, "CONTAINER")->required();
  cmd->callback([&g, kill] {
    each(g, kill->containers, [&](engine::ContainerService& s, const std::string& ref) {
      return s.kill(ref, kill->signal);
    });
  });

  auto rm = std::make_shared<RmFlags>();
  cmd = parent.add_subcommand("rm", "Remove one or more containers");
  cmd->add_flag("-f,--force", rm->force, "Force the removal of a running container (uses SIGKILL)");
  cmd->add_flag("-v,--volumes", rm->volumes, "Remove anonymous volumes associated with the container");
  cmd->add_option("containers", rm->containers, "CONTAINER")->required();
  cmd->callback([&g, rm] {
    each(g, rm->containers, [&](engine::ContainerService& s, const std::string& ref) {
      return s.remove(ref, rm->force, rm->volumes);
    });
  });

  auto pause = std::make_shared<std::vector<std::string>>();
  cmd = parent.add_subcommand("pause", "Pause all processes within one or more containers");
  cmd->add_option("containers", *pause, "CONTAINER")->required();
  cmd->callback([&g, pause] {
    each(g, *pause, [](engine::ContainerService& s, const std::string& ref) { return s.pause(ref); });
  });
  auto unpause = std::make_shared<std::vector<std::string>>();
  cmd = parent.add_subcommand("unpause", "Unpause all processes within one or more containers");
  cmd->add_option("containers", *unpause, "CONTAINER")->required();
  cmd->callback([&g, unpause] {
    each(g, *unpause, [](engine::ContainerService& s, const std::string& ref) { return s.unpause(ref); });
  });

  auto names = std::make_shared<std::vector<std::string>>();
  cmd = parent.add_subcommand("rename", "Rename a container");
  cmd->add_option("names", *names, "CONTAINER NEW_NAME")->required()->expected(2);
  cmd->callback([&g, names] {
    auto svc = g.containers();
    if (!svc) return;
    if (auto r = svc->rename((*names)[0], (*names)[1]); !r) fail(g, r.error());
  });

  auto wait = std::make_shared<std::vector<std::string>>();
  cmd = parent.add_subcommand("wait", "Block until one or more containers stop, then print their exit codes");
  cmd->add_option("containers", *wait, "CONTAINER")->required();
  cmd->callback([&g, wait] {
    each(
        g, *wait,
        [](engine::ContainerService& s, const std::string& ref) -> Result<void> {
          int code = TRY(s.wait(ref));
          std::cout << code << "\n" << std::flush;
          return {};
        },
        false);
  });
}

}  // namespace

void add_stop(CLI::App& app, CLI::App& container, EngineGlobals& g) {
  add_stop_like(app, g);
  add_stop_like(container, g);
  auto force = std::make_shared<bool>(false);
  auto* prune = container.add_subcommand("prune", "Remove all stopped containers");
  prune->add_flag("-f,--force", *force, "Do not prompt for confirmation");
  prune->callback([&g, force] {
    if (!confirm("This will remove all stopped containers.", *force)) return;
    auto svc = g.containers();
    if (!svc) return;
    auto r = svc->prune();
    if (!r) return fail(g, r.error());
    if (!r->deleted.empty()) {
      std::cout << "Deleted Containers:\n";
      for (const auto& id : r->deleted) std::cout << id << "\n";
      std::cout << "\n";
    }
    std::cout << "Total reclaimed space: " << human_size(r->reclaimed) << "\n";
  });
}

}  // namespace berth::cli
