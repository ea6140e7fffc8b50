// berth logs: a container's json-file log with Docker's -f, --since, --until, --tail, -t.
#include <unistd.h>

#include <iostream>

#include "base/fs.h"
#include "cli/container_verbs.h"
#include "engine/log_reader.h"

namespace berth::cli {
namespace {

struct LogsFlags {
  std::string container;
  bool follow = false, timestamps = false, details = false;
  std::string since, until, tail = "all";
};

void run_logs(EngineGlobals& g, const LogsFlags& flags) {
  auto svc = g.containers();
  if (!svc) return;
  auto c = svc->get(flags.container);
  if (!c) return fail(g, c.error());
  engine::LogReadOptions opts;
  opts.since = flags.since;
  opts.until = flags.until;
  opts.tail = flags.tail;
  opts.timestamps = flags.timestamps;
  opts.follow = flags.follow;
  std::string id = c->id;
  engine::ContainerService* service = svc.get();
  // Following ends when the monitor is gone: nothing more will be written.
  opts.stop = [service, id] { return !service->monitor_alive(id); };
  std::string path = svc->log_path(id);
  auto sink = [](engine::LogStream stream, std::string_view line, engine::LogTime) {
    int fd = stream == engine::LogStream::Stderr ? STDERR_FILENO : STDOUT_FILENO;
    (void)write_all(fd, line);
  };
  if (!path_exists(path)) return;
  auto r = engine::LogReader::read(path, opts, sink);
  if (!r) fail(g, r.error());
}

}  // namespace

void add_logs(CLI::App& app, CLI::App& container, EngineGlobals& g) {
  for (CLI::App* parent : {&app, &container}) {
    auto flags = std::make_shared<LogsFlags>();
    auto* cmd = parent->add_subcommand("logs", "Fetch the logs of a container");
    cmd->add_flag("-f,--follow", flags->follow, "Follow log output");
    cmd->add_flag("-t,--timestamps", flags->timestamps, "Show timestamps");
    cmd->add_flag("--details", flags->details, "Show extra details provided to logs (none with json-file)");
    cmd->add_option("--since", flags->since, "Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m)");
    cmd->add_option("--until", flags->until, "Show logs before a timestamp or relative (e.g. 42m)");
    cmd->add_option("-n,--tail", flags->tail, "Number of lines to show from the end of the logs");
    cmd->add_option("container", flags->container, "CONTAINER")->required();
    cmd->callback([&g, flags] { run_logs(g, *flags); });
  }
}

}  // namespace berth::cli
