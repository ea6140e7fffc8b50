// berth volume create | ls | inspect | rm | prune, with Docker's flags and output.
#include <regex.h>

#include <algorithm>
#include <cctype>
#include <iostream>
#include <memory>
#include <optional>

#include "base/strings.h"
#include "cli/engine_cli.h"
#include "cli/flag_values.h"
#include "cli/output.h"
#include "engine/volume_store.h"

namespace berth::cli {
namespace {

// Docker's `sortorder.NaturalLess`: runs of digits compare as numbers ("v2" < "v10").
bool natural_less(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      size_t si = i, sj = j;
      while (si < a.size() && a[si] == '0') ++si;
      while (sj < b.size() && b[sj] == '0') ++sj;
      size_t ei = si, ej = sj;
      while (ei < a.size() && digit(a[ei])) ++ei;
      while (ej < b.size() && digit(b[ej])) ++ej;
      if (ei - si != ej - sj) return ei - si < ej - sj;
      if (int c = a.compare(si, ei - si, b, sj, ej - sj); c != 0) return c < 0;
      i = ei;
      j = ej;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

std::string labels_text(const engine::StringMap& labels) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : labels) parts.push_back(k + "=" + v);
  return join(parts, ",");
}

// --- create ---

struct CreateFlags {
  std::string name, name_flag;
  std::string driver = "local";
  std::vector<std::string> labels, options;
};

void run_create(EngineGlobals& g, const CreateFlags& flags) {
  if (!flags.name.empty() && !flags.name_flag.empty() && flags.name != flags.name_flag)
    return fail(g, "conflicting options: either specify --name or provide positional arg, not both");
  auto volumes = g.volumes();
  if (!volumes) return;
  auto v = volumes->create(flags.name.empty() ? flags.name_flag : flags.name, key_values(flags.labels), flags.driver,
                           key_values(flags.options));
  if (!v) return fail(g, v.error());
  std::cout << v->name << "\n";
}

// --- ls ---

struct ListFlags {
  bool quiet = false;
  std::vector<std::string> filters;
  std::string format;
};

// A POSIX extended regex matched anywhere in the name, as Docker's name filter.
class NamePattern {
 public:
  static Result<std::shared_ptr<NamePattern>> compile(const std::string& pattern) {
    auto p = std::shared_ptr<NamePattern>(new NamePattern);
    if (regcomp(&p->re_, pattern.c_str(), REG_EXTENDED | REG_NOSUB) != 0)
      return Fail(ErrorCode::InvalidArgument, "invalid filter 'name={}': not a regular expression", pattern);
    p->compiled_ = true;
    return p;
  }
  ~NamePattern() {
    if (compiled_) regfree(&re_);
  }
  bool matches(const std::string& s) const { return regexec(&re_, s.c_str(), 0, nullptr, 0) == 0; }

 private:
  NamePattern() = default;
  regex_t re_{};
  bool compiled_ = false;
};

struct ListFilters {
  std::optional<bool> dangling;
  std::vector<std::shared_ptr<NamePattern>> names;
  std::vector<std::string> labels, drivers;
};

Result<ListFilters> parse_list_filters(const std::vector<std::string>& raw) {
  ListFilters f;
  for (const auto& filter : TRY(split_filters(raw))) {
    const std::string& key = filter.key;
    const std::string& value = filter.value;
    if (key == "dangling") {
      f.dangling = TRY(filter_bool(filter));
    } else if (key == "name") {
      f.names.push_back(TRY(NamePattern::compile(value)));
    } else if (key == "label") {
      f.labels.push_back(value);
    } else if (key == "driver") {
      f.drivers.push_back(value);
    } else {
      return Fail(ErrorCode::InvalidArgument, "invalid filter '{}' (supported: dangling, name, label, driver)", key);
    }
  }
  return f;
}

bool list_selected(const ListFilters& f, const engine::Volume& v, bool in_use) {
  if (f.dangling && *f.dangling == in_use) return false;
  for (const auto& l : f.labels)
    if (!label_filter_matches(v.labels, l)) return false;
  if (!f.names.empty() &&
      std::none_of(f.names.begin(), f.names.end(), [&](const auto& p) { return p->matches(v.name); }))
    return false;
  if (!f.drivers.empty() && std::find(f.drivers.begin(), f.drivers.end(), v.driver) == f.drivers.end())
    return false;
  return true;
}

void run_list(EngineGlobals& g, const ListFlags& flags) {
  auto filters = parse_list_filters(flags.filters);
  if (!filters) return fail(g, filters.error());
  auto volumes = g.volumes();
  if (!volumes) return;
  auto list = volumes->list();
  if (!list) return fail(g, list.error());
  std::sort(list->begin(), list->end(), [](const auto& a, const auto& b) { return natural_less(a.name, b.name); });
  bool sizes = flags.format == "json" || flags.format.find(".Size") != std::string::npos;
  std::vector<Row> rows;
  for (const auto& v : *list) {
    auto users = volumes->users(v.name);
    if (!list_selected(*filters, v, !users.empty())) continue;
    if (flags.quiet) {
      std::cout << v.name << "\n";
      continue;
    }
    Row row;
    row["Availability"] = "N/A";
    row["Driver"] = v.driver;
    row["Group"] = "N/A";
    row["Labels"] = labels_text(v.labels);
    row["Links"] = std::to_string(users.size());
    row["Mountpoint"] = v.mountpoint;
    row["Name"] = v.name;
    row["Scope"] = "local";
    row["Size"] = "N/A";
    if (sizes) {
      auto bytes = volumes->size(v);
      if (!bytes) return fail(g, bytes.error());
      row["Size"] = human_size(*bytes);
    }
    row["Status"] = "N/A";
    rows.push_back(std::move(row));
  }
  if (flags.quiet) return;
  auto out = render(rows, flags.format, "table {{.Driver}}\\t{{.Name}}", {{"Name", "VOLUME NAME"}});
  if (!out) return fail(g, out.error());
  std::cout << *out;
}

// --- inspect ---

Row inspect_json(const engine::Volume& v) {
  Row j;
  j["CreatedAt"] = v.created;
  j["Driver"] = v.driver;
  j["Labels"] = Row::object();
  for (const auto& [k, val] : v.labels) j["Labels"][k] = val;
  j["Mountpoint"] = v.mountpoint;
  j["Name"] = v.name;
  j["Options"] = Row::object();
  for (const auto& [k, val] : v.options) j["Options"][k] = val;
  j["Scope"] = "local";
  return j;
}

void run_inspect(EngineGlobals& g, const std::vector<std::string>& names, const std::string& format) {
  auto volumes = g.volumes();
  if (!volumes) return;
  std::vector<Row> found;
  for (const auto& name : names) {
    auto v = volumes->get(name);
    if (!v) {
      fail(g, v.error());
      continue;  // Docker prints the others and exits 1
    }
    found.push_back(inspect_json(*v));
  }
  print_inspect(g, found, format);
}

// --- rm ---

void run_remove(EngineGlobals& g, const std::vector<std::string>& names, bool force) {
  auto volumes = g.volumes();
  if (!volumes) return;
  for (const auto& name : names) {
    auto r = volumes->remove(name, force);
    if (!r) {
      fail(g, r.error());
      continue;
    }
    std::cout << name << "\n";
  }
}

// --- prune ---

struct PruneFlags {
  bool all = false;
  bool force = false;
  std::vector<std::string> filters;
};

Result<engine::VolumePruneFilter> parse_prune_filters(const PruneFlags& flags) {
  engine::VolumePruneFilter f;
  f.all = flags.all;
  for (const auto& filter : TRY(split_filters(flags.filters))) {
    const std::string& key = filter.key;
    const std::string& value = filter.value;
    if (key == "label") {
      f.labels.push_back(value);
    } else if (key == "label!") {
      f.not_labels.push_back(value);
    } else if (key == "all") {
      if (value != "true" && value != "false" && value != "1" && value != "0")
        return Fail(ErrorCode::InvalidArgument, "invalid filter 'all={}': must be true or false", value);
      f.all = f.all || value == "true" || value == "1";
    } else {
      return Fail(ErrorCode::InvalidArgument, "invalid filter '{}' (supported: label, label!, all)", key);
    }
  }
  return f;
}

void run_prune(EngineGlobals& g, const PruneFlags& flags) {
  auto filter = parse_prune_filters(flags);
  if (!filter) return fail(g, filter.error());
  if (!confirm(filter->all ? "This will remove all local volumes not used by at least one container."
                           : "This will remove anonymous local volumes not used by at least one container.",
               flags.force))
    return;
  auto volumes = g.volumes();
  if (!volumes) return;
  auto r = volumes->prune(*filter);
  if (!r) return fail(g, r.error());
  if (!r->deleted.empty()) {
    std::cout << "Deleted Volumes:\n";
    for (const auto& name : r->deleted) std::cout << name << "\n";
    std::cout << "\n";
  }
  std::cout << "Total reclaimed space: " << human_size(r->reclaimed) << "\n";
}

}  // namespace

void add_volume(CLI::App& app, EngineGlobals& g) {
  CLI::App* volume = app.add_subcommand("volume", "Manage volumes");
  volume->require_subcommand(1);

  auto* create = volume->add_subcommand("create", "Create a volume");
  auto cf = std::make_shared<CreateFlags>();
  create->add_option("name", cf->name, "VOLUME (a random name when omitted)");
  create->add_option("--name", cf->name_flag, "specify volume name")->group("");
  create->add_option("-d,--driver", cf->driver, "volume driver name")->capture_default_str();
  create->add_option("--label", cf->labels, "set metadata for a volume (KEY=VALUE)")->allow_extra_args(false);
  create->add_option("-o,--opt", cf->options, "set driver specific options: type, device, o")
      ->allow_extra_args(false);
  create->callback([&g, cf] { run_create(g, *cf); });

  auto* ls = volume->add_subcommand("ls", "List volumes")->alias("list");
  auto lf = std::make_shared<ListFlags>();
  ls->add_flag("-q,--quiet", lf->quiet, "only display volume names");
  ls->add_option("-f,--filter", lf->filters, "filter output: dangling, name, label, driver")
      ->allow_extra_args(false);
  ls->add_option("--format", lf->format, "'table', 'json', or a Go template such as '{{.Name}}'");
  ls->callback([&g, lf] { run_list(g, *lf); });

  auto* inspect = volume->add_subcommand("inspect", "Display detailed information on one or more volumes");
  auto inames = std::make_shared<std::vector<std::string>>();
  auto iformat = std::make_shared<std::string>();
  inspect->add_option("volume", *inames, "VOLUME [VOLUME...]")->required();
  inspect->add_option("-f,--format", *iformat, "'json' or a Go template such as '{{.Mountpoint}}'");
  inspect->callback([&g, inames, iformat] { run_inspect(g, *inames, *iformat); });

  auto* rm = volume->add_subcommand("rm", "Remove one or more volumes")->alias("remove");
  auto rnames = std::make_shared<std::vector<std::string>>();
  auto rforce = std::make_shared<bool>(false);
  rm->add_option("volume", *rnames, "VOLUME [VOLUME...]")->required();
  rm->add_flag("-f,--force", *rforce, "do not fail on volumes that do not exist");
  rm->callback([&g, rnames, rforce] { run_remove(g, *rnames, *rforce); });

  auto* prune = volume->add_subcommand("prune", "Remove unused local volumes");
  auto pf = std::make_shared<PruneFlags>();
  prune->add_flag("-a,--all", pf->all, "remove all unused volumes, not just anonymous ones");
  prune->add_flag("-f,--force", pf->force, "do not prompt for confirmation");
  prune->add_option("--filter", pf->filters, "provide filter values (label=KEY[=VALUE], label!=...)")
      ->allow_extra_args(false);
  prune->callback([&g, pf] { run_prune(g, *pf); });
}

}  // namespace berth::cli
