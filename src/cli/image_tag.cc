// berth tag | image tag, berth history | image history.
#include <iostream>

#include "base/strings.h"
#include "cli/engine_cli.h"
#include "cli/output.h"

namespace berth::cli {
namespace {

void define_tag(CLI::App* cmd, EngineGlobals& g) {
  auto source = std::make_shared<std::string>();
  auto target = std::make_shared<std::string>();
  cmd->add_option("source", *source, "SOURCE_IMAGE[:TAG]")->required();
  cmd->add_option("target", *target, "TARGET_IMAGE[:TAG]")->required();
  cmd->callback([&g, source, target] {
    auto images = g.images();
    if (!images) return;
    if (auto r = images->tag(*source, *target); !r) fail(g, r.error());
  });
}

struct HistoryFlags {
  std::string image;
  bool human = true;
  bool no_trunc = false;
  bool quiet = false;
  std::string format;
};

void run_history(EngineGlobals& g, const HistoryFlags& flags) {
  auto images = g.images();
  if (!images) return;
  auto rows = images->history(flags.image);
  if (!rows) return fail(g, rows.error());
  std::vector<Row> out;
  for (const auto& r : *rows) {
    std::string id = r.id == "<missing>" || flags.no_trunc ? r.id : engine::short_id(r.id);
    if (flags.quiet) {
      std::cout << id << "\n";
      continue;
    }
    std::string created_by = r.entry.created_by;
    if (!flags.no_trunc && created_by.size() > 45) created_by = created_by.substr(0, 44) + "…";
    int64_t age = seconds_since(r.entry.created);
    Row row;
    row["Comment"] = r.entry.comment;
    row["CreatedAt"] = r.entry.created;
    row["CreatedBy"] = created_by;
    row["CreatedSince"] = age < 0 ? "N/A" : (flags.human ? human_duration(age) + " ago" : r.entry.created);
    row["ID"] = id;
    row["Size"] = flags.human ? human_size(r.size) : std::to_string(r.size);
    out.push_back(std::move(row));
  }
  if (flags.quiet) return;
  auto text = render(out, flags.format,
                     "table {{.ID}}\\t{{.CreatedSince}}\\t{{.CreatedBy}}\\t{{.Size}}\\t{{.Comment}}",
                     {{"ID", "IMAGE"}, {"CreatedSince", "CREATED"}, {"CreatedBy", "CREATED BY"},
                      {"CreatedAt", "CREATED AT"}});
  if (!text) return fail(g, text.error());
  std::cout << *text;
}

void define_history(CLI::App* cmd, EngineGlobals& g) {
  auto flags = std::make_shared<HistoryFlags>();
  cmd->add_option("image", flags->image, "IMAGE")->required();
  cmd->add_option("-H,--human", flags->human, "print sizes and dates in human readable format")
      ->default_str("true");
  cmd->add_flag("--no-trunc", flags->no_trunc, "don't truncate output");
  cmd->add_flag("-q,--quiet", flags->quiet, "only show image IDs");
  cmd->add_option("--format", flags->format, "'table', 'json', or a Go template");
  cmd->callback([&g, flags] { run_history(g, *flags); });
}

}  // namespace

void add_tag(CLI::App& app, CLI::App& image, EngineGlobals& g) {
  define_tag(app.add_subcommand("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"), g);
  define_tag(image.add_subcommand("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"), g);
}

void add_history(CLI::App& app, CLI::App& image, EngineGlobals& g) {
  define_history(app.add_subcommand("history", "Show the history of an image"), g);
  define_history(image.add_subcommand("history", "Show the history of an image"), g);
}

}  // namespace berth::cli
