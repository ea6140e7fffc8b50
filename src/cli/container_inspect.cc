// berth inspect | container inspect, top, cp.
#include <unistd.h>

#include <iostream>

#include "base/scope_guard.h"
#include "cli/container_verbs.h"
#include "cli/output.h"
#include "engine/container_copy.h"
#include "engine/container_json.h"
#include "engine/container_top.h"
#include "engine/image_json.h"

namespace berth::cli {
namespace {

struct InspectFlags {
  std::vector<std::string> objects;
  std::string format;
  std::string type;  // "", "container", "image"
  bool size = false;
};

// `docker inspect`: containers first, then images (unless --type says which).
void run_inspect(EngineGlobals& g, const InspectFlags& flags, bool containers_only) {
  auto svc = g.containers();
  if (!svc) return;
  std::vector<Row> rows;
  for (const auto& ref : flags.objects) {
    if (flags.type != "image") {
      auto c = svc->get(ref);
      if (c) {
        std::string dir = svc->container_dir(c->id);
        rows.push_back(engine::container_inspect_json(
            *c, engine::InspectPaths{svc->log_path(c->id), dir + "/hosts", dir + "/resolv.conf", dir + "/hostname"}));
        continue;
      }
      if (c.error().code() != ErrorCode::NotFound || containers_only || flags.type == "container") {
        fail(g, c.error());
        continue;
      }
    }
    auto image = svc->images().inspect(ref);
    if (!image) {
      fail(g, Error(ErrorCode::NotFound, "No such object: " + ref));
      continue;
    }
    rows.push_back(engine::image_inspect_json(*image));
  }
  print_inspect(g, rows, flags.format);
}

struct TopFlags {
  std::string container;
};

void run_top(EngineGlobals& g, const TopFlags& flags, CLI::App& cmd) {
  auto svc = g.containers();
  if (!svc) return;
  auto pids = svc->pids(flags.container);
  if (!pids) return fail(g, pids.error());
  auto table = engine::container_top(*pids, cmd.remaining());
  if (!table) return fail(g, table.error());
  std::vector<std::vector<std::string>> rows = {table->titles};
  for (const auto& p : table->processes) rows.push_back(p);
  std::cout << align_columns(rows);
}

struct CpFlags {
  std::vector<std::string> paths;
  bool archive = false, follow_link = false, quiet = false;
};

// "CONTAINER:PATH" -> {container, path}; a local path has no colon before its first slash.
std::optional<std::pair<std::string, std::string>> split_container_path(const std::string& arg) {
  auto colon = arg.find(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  auto slash = arg.find('/');
  if (slash != std::string::npos && slash < colon) return std::nullopt;
  return std::pair<std::string, std::string>{arg.substr(0, colon), arg.substr(colon + 1)};
}

void run_cp(EngineGlobals& g, const CpFlags& flags) {
  auto src = split_container_path(flags.paths[0]);
  auto dst = split_container_path(flags.paths[1]);
  if (src.has_value() == dst.has_value()) {
    return fail(g, src ? "copying between containers is not supported"
                       : "must specify at least one container source");
  }
  auto svc = g.containers();
  if (!svc) return;
  auto fs = svc->filesystem(src ? src->first : dst->first);
  if (!fs) return fail(g, fs.error());
  auto release = defer(fs->second);
  engine::CopyOptions opts{flags.archive, flags.follow_link};
  Result<void> r;
  if (src) {
    r = flags.paths[1] == "-" ? engine::copy_from_container_tar(fs->first, src->second, STDOUT_FILENO, opts)
                              : engine::copy_from_container(fs->first, src->second, flags.paths[1], opts);
  } else {
    r = flags.paths[0] == "-" ? engine::copy_tar_into_container(fs->first, STDIN_FILENO, dst->second, opts)
                              : engine::copy_into_container(fs->first, flags.paths[0], dst->second, opts);
  }
  if (!r) return fail(g, r.error());
  if (!flags.quiet && flags.paths[1] != "-" && ::isatty(STDERR_FILENO))
    std::cerr << "Successfully copied to " << flags.paths[1] << "\n";
}

void define_inspect(CLI::App* cmd, EngineGlobals& g, bool containers_only) {
  auto flags = std::make_shared<InspectFlags>();
  cmd->add_option("-f,--format", flags->format, "Format output using a custom template ('json' or a Go template)");
  cmd->add_flag("-s,--size", flags->size, "Display total file sizes (not computed)");
  if (!containers_only) cmd->add_option("--type", flags->type, "Return JSON for specified type")->check(CLI::IsMember({"container", "image"}));
  cmd->add_option("objects", flags->objects, "NAME|ID")->required();
  cmd->callback([&g, flags, containers_only] { run_inspect(g, *flags, containers_only); });
}

// `port CONTAINER [PRIVATE_PORT[/PROTO]]`: "80/tcp -> 0.0.0.0:8080" per binding, or only the
// host addresses of one port.
void run_port(EngineGlobals& g, const std::vector<std::string>& args) {
  auto svc = g.containers();
  if (!svc) return;
  auto c = svc->get(args[0]);
  if (!c) return fail(g, c.error());
  std::string want;
  if (args.size() == 2) want = args[1].find('/') == std::string::npos ? args[1] + "/tcp" : args[1];
  bool any = false;
  for (const auto& p : c->state.ports) {
    std::string port = fmt::format("{}/{}", p.container_port, p.proto);
    if (!want.empty() && port != want) continue;
    any = true;
    std::string host = fmt::format("{}:{}", p.host_ip, p.host_port);
    std::cout << (want.empty() ? port + " -> " + host : host) << "\n";
  }
  if (!any && !want.empty()) fail(g, fmt::format("No public port '{}' published for {}", want, args[0]));
}

}  // namespace

void add_container_inspect(CLI::App& app, CLI::App& container, EngineGlobals& g) {
  define_inspect(app.add_subcommand("inspect", "Return low-level information on containers and images"), g, false);
  define_inspect(container.add_subcommand("inspect", "Display detailed information on one or more containers"), g, true);
  for (CLI::App* parent : {&app, &container}) {
    auto top = std::make_shared<TopFlags>();
    auto* cmd = parent->add_subcommand("top", "Display the running processes of a container");
    cmd->add_option("container", top->container, "CONTAINER")->required();
    cmd->prefix_command();
    cmd->callback([&g, top, cmd] { run_top(g, *top, *cmd); });

    auto port = std::make_shared<std::vector<std::string>>();
    cmd = parent->add_subcommand("port", "List port mappings or a specific mapping for the container");
    cmd->add_option("args", *port, "CONTAINER [PRIVATE_PORT[/PROTO]]")->required()->expected(1, 2);
    cmd->callback([&g, port] { run_port(g, *port); });

    auto cp = std::make_shared<CpFlags>();
    cmd = parent->add_subcommand("cp", "Copy files/folders between a container and the local filesystem");
    cmd->add_flag("-a,--archive", cp->archive, "Archive mode (copy all uid/gid information)");
    cmd->add_flag("-L,--follow-link", cp->follow_link, "Always follow symbol link in SRC_PATH");
    cmd->add_flag("-q,--quiet", cp->quiet, "Suppress progress output during copy");
    cmd->add_option("paths", cp->paths, "SRC_PATH DEST_PATH")->required()->expected(2);
    cmd->callback([&g, cp] { run_cp(g, *cp); });
  }
}

}  // namespace berth::cli
