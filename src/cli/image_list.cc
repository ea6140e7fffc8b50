// berth images | image ls: Docker's table, --digests, --filter, --format, -q.
#include <fnmatch.h>

#include <iostream>
#include <set>

#include "base/strings.h"
#include "cli/engine_cli.h"
#include "cli/flag_values.h"
#include "cli/output.h"

namespace berth::cli {
namespace {

struct ListFlags {
  bool all = false;
  bool digests = false;
  bool quiet = false;
  bool no_trunc = false;
  std::vector<std::string> filters;
  std::string format;
  std::string repository;  // optional positional [REPOSITORY[:TAG]]
};

struct Filters {
  std::optional<bool> dangling;
  std::vector<std::string> labels;
  std::vector<std::string> references;
  std::string before_created, since_created;
};

Result<Filters> parse_filters(const std::vector<std::string>& raw, engine::ImageService& images) {
  Filters f;
  for (const auto& filter : TRY(split_filters(raw))) {
    const std::string& key = filter.key;
    const std::string& value = filter.value;
    if (key == "dangling") {
      f.dangling = TRY(filter_bool(filter));
    } else if (key == "label") {
      f.labels.push_back(value);
    } else if (key == "reference") {
      f.references.push_back(value);
    } else if (key == "before" || key == "since") {
      auto d = TRY(images.inspect(value));
      (key == "before" ? f.before_created : f.since_created) = d.config.created;
    } else {
      return Fail(ErrorCode::InvalidArgument, "invalid filter '{}' (supported: dangling, label, reference, before, since)", key);
    }
  }
  return f;
}


// Docker matches reference filters against the familiar name, with and without the tag.
bool reference_matches(const std::string& pattern, const std::string& repository, const std::string& tag) {
  std::string with_tag = repository + ":" + tag;
  return fnmatch(pattern.c_str(), repository.c_str(), 0) == 0 ||
         fnmatch(pattern.c_str(), with_tag.c_str(), 0) == 0;
}

void run_list(EngineGlobals& g, const ListFlags& flags) {
  auto images = g.images();
  if (!images) return;
  auto list = images->list();
  if (!list) return fail(g, list.error());
  auto filters = parse_filters(flags.filters, *images);
  if (!filters) return fail(g, filters.error());
  if (!flags.repository.empty()) filters->references.push_back(flags.repository);

  std::vector<Row> rows;
  std::set<std::string> quiet_ids;
  for (const auto& d : *list) {
    bool dangling = d.record.names.empty();
    if (filters->dangling && *filters->dangling != dangling) continue;
    bool labels_ok = true;
    for (const auto& l : filters->labels) labels_ok = labels_ok && label_filter_matches(d.config.config.labels, l);
    if (!labels_ok) continue;
    if (!filters->before_created.empty() && !(d.config.created < filters->before_created)) continue;
    if (!filters->since_created.empty() && !(d.config.created > filters->since_created)) continue;

    // One row per name; an untagged image is one <none> row (named by its digest if it has one).
    std::vector<std::pair<std::string, std::string>> names;  // repository, tag
    for (const auto& n : d.record.names) {
      std::string fam = engine::familiar_name(n);
      auto colon = fam.rfind(':');
      names.emplace_back(fam.substr(0, colon), fam.substr(colon + 1));
    }
    if (names.empty()) {
      std::string repo = "<none>";
      if (!d.record.repo_digests.empty()) {
        std::string fam = engine::familiar_name(d.record.repo_digests.front());
        repo = fam.substr(0, fam.find('@'));
      }
      names.emplace_back(repo, "<none>");
    }
    std::string id = flags.no_trunc ? d.record.id : engine::short_id(d.record.id);
    int64_t age = seconds_since(d.config.created);
    for (const auto& [repo, tag] : names) {
      if (!filters->references.empty()) {
        bool any = false;
        for (const auto& p : filters->references) any = any || reference_matches(p, repo, tag);
        if (!any) continue;
      }
      std::string digest = "<none>";
      for (const auto& rd : d.record.repo_digests) {
        std::string fam = engine::familiar_name(rd);
        if (fam.substr(0, fam.find('@')) == repo) digest = fam.substr(fam.find('@') + 1);
      }
      if (flags.quiet) {
        if (quiet_ids.insert(id).second) std::cout << id << "\n";
        continue;
      }
      Row row;
      row["Containers"] = "N/A";
      row["CreatedAt"] = docker_time(d.config.created);
      row["CreatedSince"] = age < 0 ? "N/A" : human_duration(age) + " ago";
      row["Digest"] = digest;
      row["ID"] = id;
      row["Repository"] = repo;
      row["SharedSize"] = "N/A";
      row["Size"] = human_size(d.record.size);
      row["Tag"] = tag;
      row["UniqueSize"] = "N/A";
      row["VirtualSize"] = human_size(d.record.size);
      rows.push_back(std::move(row));
    }
  }
  if (flags.quiet) return;
  std::string table = flags.digests
                          ? "table {{.Repository}}\\t{{.Tag}}\\t{{.Digest}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}"
                          : "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}";
  auto out = render(rows, flags.format, table,
                    {{"ID", "IMAGE ID"}, {"CreatedSince", "CREATED"}, {"CreatedAt", "CREATED AT"}});
  if (!out) return fail(g, out.error());
  std::cout << *out;
}

void define(CLI::App* cmd, EngineGlobals& g) {
  auto flags = std::make_shared<ListFlags>();
  cmd->add_option("repository", flags->repository, "show only images matching REPOSITORY[:TAG]");
  cmd->add_flag("-a,--all", flags->all, "show all images (default hides intermediate images)");
  cmd->add_flag("--digests", flags->digests, "show digests");
  cmd->add_option("-f,--filter", flags->filters, "filter output: dangling, label, reference, before, since")
      ->allow_extra_args(false);
  cmd->add_option("--format", flags->format, "'table', 'json', or a Go template such as '{{.Repository}}:{{.Tag}}'");
  cmd->add_flag("--no-trunc", flags->no_trunc, "don't truncate output");
  cmd->add_flag("-q,--quiet", flags->quiet, "only show image IDs");
  cmd->callback([&g, flags] { run_list(g, *flags); });
}

}  // namespace

void add_images(CLI::App& app, CLI::App& image, EngineGlobals& g) {
  define(app.add_subcommand("images", "List images"), g);
  define(image.add_subcommand("ls", "List images")->alias("list"), g);
}

}  // namespace berth::cli
