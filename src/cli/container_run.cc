// berth run | create | start: Docker's flags, output and exit codes (125 when berth fails,
// 126/127 when the command cannot run or is not found, else the container's own code).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>

#include "base/fs.h"
#include "base/scope_guard.h"
#include "base/unique_fd.h"
#include "cli/attach_client.h"
#include "cli/container_verbs.h"
#include "cli/engine_cli.h"
#include "cli/progress_display.h"
#include "cli/run_flags.h"
#include "cli/usage_error.h"

namespace berth::cli {
namespace {

// Prints "Error: ..." and exits 125, as `docker run` does for an engine error.
void fail_run(EngineGlobals& g, const Error& error) {
  fail(g, error);
  g.exit_code = 125;
}

// create, pulling the image as --pull says: first (always), when it is not stored (missing,
// Docker's default) or never.
Result<engine::Container> create_pulling(engine::ContainerService& svc,
                                         const engine::RunOptions& opts, const RunFlags& flags,
                                         const engine::EarlyMonitor* early) {
  auto pull = [&]() -> Result<void> {
    ProgressDisplay display(true);  // quietly: stdout is the container's (or the ID's, with -d)
    auto pulled = svc.images().pull(opts.image, {"", display.sink()});
    display.finish();
    if (!pulled) return Err(pulled.error());
    return {};
  };
  if (flags.pull == "always") TRY(pull());
  auto c = svc.create(opts, early);
  if (c || flags.pull != "missing" || c.error().code() != ErrorCode::NotFound ||
      !c.error().message().starts_with("No such image"))
    return c;
  if (!flags.quiet) std::cerr << "Unable to find image '" << opts.image << "' locally\n";
  TRY(pull());
  return svc.create(opts, early);
}

// --cidfile: made before create, and refused when it exists, as Docker.
Result<UniqueFd> open_cidfile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (fd) return fd;
  if (errno == EEXIST) {
    return Fail(ErrorCode::AlreadyExists,
                "Container ID file found, make sure the other container isn't running or delete {}",
                path);
  }
  return FailErrno(errno, "--cidfile {}", path);
}

// What run and create share: the options, the service, the new container; nullopt after
// reporting why not (exit 125).
struct Created {
  engine::RunOptions opts;
  std::unique_ptr<engine::ContainerService> svc;
  engine::Container container;
  std::optional<engine::EarlyMonitor> monitor;  // run's, spawned before create
};

// run spawns the container's monitor before anything else (with_monitor): its start-up then
// overlaps opening the stores and create. If that fails, start spawns one as usual.
std::optional<Created> create_from_flags(EngineGlobals& g, const RunFlags& flags, CLI::App& cmd,
                                         bool with_monitor) {
  check_unparsed_arguments(cmd, 1);
  auto opts = run_options_from_flags(flags, cmd);
  if (!opts) return fail_run(g, opts.error()), std::nullopt;
  std::optional<engine::EarlyMonitor> monitor;
  if (with_monitor) {
    if (auto m = engine::ContainerService::spawn_early_monitor(g.options)) monitor = std::move(*m);
  }
  UniqueFd cidfile;
  if (!opts->cidfile.empty()) {
    auto fd = open_cidfile(opts->cidfile);
    if (!fd) return fail_run(g, fd.error()), std::nullopt;
    cidfile = std::move(*fd);
  }
  auto remove_cidfile = defer([&] {
    if (cidfile) ::unlink(opts->cidfile.c_str());
  });
  auto svc = g.containers();
  if (!svc) return g.exit_code = 125, std::nullopt;
  auto c = create_pulling(*svc, *opts, flags, monitor ? &*monitor : nullptr);
  if (!c) return fail_run(g, c.error()), std::nullopt;
  if (cidfile) {
    if (auto written = write_all(cidfile.get(), c->id); !written) {
      (void)svc->remove(c->id, true, true);
      return fail_run(g, written.error()), std::nullopt;
    }
  }
  remove_cidfile.dismiss();
  return Created{std::move(*opts), std::move(svc), std::move(*c), std::move(monitor)};
}

void run_create(EngineGlobals& g, const RunFlags& flags, CLI::App& cmd) {
  auto created = create_from_flags(g, flags, cmd, false);
  if (created) std::cout << created->container.id << "\n";
}

void run_run(EngineGlobals& g, const RunFlags& flags, CLI::App& cmd) {
  auto created = create_from_flags(g, flags, cmd, true);
  if (!created) return;
  auto& svc = created->svc;
  const engine::RunOptions& opts = created->opts;
  const engine::Container& c = created->container;
  engine::AttachStreams streams = own_streams(opts.interactive);
  auto started = svc->start(c.id, opts.detach ? nullptr : &streams,
                            created->monitor ? &*created->monitor : nullptr);
  if (!started) {
    if (opts.rm) (void)svc->remove(c.id, true, true);
    return fail_start(g, started.error());
  }
  if (opts.detach) {
    std::cout << c.id << "\n";
    return;
  }
  // The store is not held while the container runs.
  svc.reset();
  auto code = follow_attached(**started, opts.tty);
  if (!code) return fail_run(g, code.error());
  g.exit_code = *code;
}

struct StartFlags {
  std::vector<std::string> containers;
  bool attach = false, interactive = false;
};

void run_start(EngineGlobals& g, const StartFlags& flags) {
  auto svc = g.containers();
  if (!svc) return;
  if (flags.attach || flags.interactive) {
    if (flags.containers.size() != 1) return fail(g, "you cannot start and attach multiple containers at once");
    auto c = svc->get(flags.containers[0]);
    if (!c) return fail(g, c.error());
    engine::AttachStreams streams = own_streams(flags.interactive);
    auto started = svc->start(c->id, &streams);
    if (!started) return fail_start(g, started.error());
    svc.reset();
    auto code = follow_attached(**started, c->config.tty);
    if (!code) return fail(g, code.error());
    g.exit_code = *code;
    return;
  }
  for (const auto& ref : flags.containers) {
    auto started = svc->start(ref);
    if (!started) {
      fail_start(g, started.error());
      continue;
    }
    std::cout << ref << "\n";
  }
}

}  // namespace

void add_run_verb(CLI::App& parent, EngineGlobals& g) {
  auto flags = std::make_shared<RunFlags>();
  auto* run = parent.add_subcommand("run", "Create and run a new container from an image");
  add_run_flags(*run, *flags, true);
  run->callback([&g, flags, run] { run_run(g, *flags, *run); });
}

void add_create_verb(CLI::App& parent, EngineGlobals& g) {
  auto flags = std::make_shared<RunFlags>();
  auto* create = parent.add_subcommand("create", "Create a new container");
  add_run_flags(*create, *flags, false);
  create->callback([&g, flags, create] { run_create(g, *flags, *create); });
}

void add_run(CLI::App& app, CLI::App& container, EngineGlobals& g) {
  for (CLI::App* parent : {&app, &container}) {
    add_run_verb(*parent, g);
    add_create_verb(*parent, g);
    auto sflags = std::make_shared<StartFlags>();
    auto* start = parent->add_subcommand("start", "Start one or more stopped containers");
    start->add_flag("-a,--attach", sflags->attach, "Attach STDOUT/STDERR and forward signals");
    start->add_flag("-i,--interactive", sflags->interactive, "Attach container's STDIN");
    start->add_option("containers", sflags->containers, "CONTAINER")->required();
    start->callback([&g, sflags] { run_start(g, *sflags); });
  }
}

}  // namespace berth::cli
