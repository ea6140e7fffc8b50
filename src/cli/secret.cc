// berth secret create | ls | inspect | rm: Docker's flags and output over engine::SecretStore.
// Values are read straight into a wiped buffer and never printed.
#include <fcntl.h>

#include <algorithm>
#include <iostream>

#include "base/fs.h"
#include "base/strings.h"
#include "cli/engine_cli.h"
#include "cli/flag_values.h"
#include "cli/output.h"
#include "engine/secret_store.h"

namespace berth::cli {
namespace {

std::unique_ptr<engine::SecretStore> open_secrets(EngineGlobals& g) {
  auto r = engine::SecretStore::open(g.options);
  if (!r) {
    fail(g, r.error());
    return nullptr;
  }
  return std::move(*r);
}

// Go's time.Time String() of an RFC 3339 UTC time, lower-cased as Docker's --pretty prints it:
// "2024-01-02 03:04:05.5 +0000 utc".
std::string pretty_time(const std::string& rfc3339) {
  if (rfc3339.size() < 19) return rfc3339;
  std::string frac = rfc3339.substr(19);
  if (!frac.empty() && frac.back() == 'Z') frac.pop_back();
  while (!frac.empty() && (frac.back() == '0' || frac.back() == '.')) {
    bool dot = frac.back() == '.';
    frac.pop_back();
    if (dot) break;
  }
  return rfc3339.substr(0, 10) + " " + rfc3339.substr(11, 8) + frac + " +0000 utc";
}

std::string ago(const std::string& rfc3339) {
  int64_t age = seconds_since(rfc3339);
  return age < 0 ? "N/A" : human_duration(age) + " ago";
}

struct CreateFlags {
  std::string name;
  std::string file;
  std::string driver;
  std::vector<std::string> labels;
};

void run_create(EngineGlobals& g, const CreateFlags& flags) {
  if (!flags.driver.empty())
    return fail(
        g,
        fmt::format("secret driver {}: not supported; berth keeps secret values encrypted in its "
                    "own store (omit --driver)",
                    quote(flags.driver)));
  UniqueFd file;
  int fd = 0;
  if (flags.file != "-") {
    auto f = open_fd(flags.file, O_RDONLY);
    if (!f)
      return fail(
          g, f.error().context(fmt::format("error reading content from {}", quote(flags.file))));
    file = std::move(*f);
    fd = file.get();
  }
  auto value = engine::read_secret_value(fd, flags.file == "-" ? "stdin" : flags.file);
  if (!value) return fail(g, value.error());
  auto secrets = open_secrets(g);
  if (!secrets) return;
  auto id = secrets->create(flags.name, value->view(), key_values(flags.labels));
  if (!id) return fail(g, id.error());
  std::cout << *id << "\n";
}

struct ListFlags {
  bool quiet = false;
  std::string format;
  std::vector<std::string> filters;
};

struct Filters {
  std::vector<std::string> ids, names, labels;
};

Result<Filters> parse_filters(const std::vector<std::string>& raw) {
  Filters f;
  for (const auto& filter : TRY(split_filters(raw))) {
    const std::string& key = filter.key;
    const std::string& value = filter.value;
    if (key == "id") {
      f.ids.push_back(value);
    } else if (key == "name") {
      f.names.push_back(value);
    } else if (key == "label") {
      f.labels.push_back(value);
    } else {
      return Fail(ErrorCode::InvalidArgument, "invalid filter '{}' (supported: id, name, label)",
                  key);
    }
  }
  return f;
}

// Docker's semantics: values of one filter are alternatives, different filters must all hold;
// id and name match prefixes, label matches a key or key=value.
bool matches(const Filters& f, const engine::SecretInfo& s) {
  auto any = [](const std::vector<std::string>& wants, auto pred) {
    return wants.empty() || std::any_of(wants.begin(), wants.end(), pred);
  };
  auto all_labels = std::all_of(f.labels.begin(), f.labels.end(), [&](const std::string& want) {
    auto eq = want.find('=');
    auto it = s.labels.find(want.substr(0, eq));
    return it != s.labels.end() && (eq == std::string::npos || it->second == want.substr(eq + 1));
  });
  return any(f.ids, [&](const std::string& p) { return starts_with(s.id, p); }) &&
         any(f.names, [&](const std::string& p) { return starts_with(s.name, p); }) && all_labels;
}

void run_list(EngineGlobals& g, const ListFlags& flags) {
  auto filters = parse_filters(flags.filters);
  if (!filters) return fail(g, filters.error());
  auto secrets = open_secrets(g);
  if (!secrets) return;
  auto list = secrets->list();
  if (!list) return fail(g, list.error());
  std::vector<Row> rows;
  for (const auto& s : *list) {
    if (!matches(*filters, s)) continue;
    if (flags.quiet) {
      std::cout << s.id << "\n";
      continue;
    }
    std::vector<std::string> labels;
    for (const auto& [k, v] : s.labels) labels.push_back(k + "=" + v);
    Row row;
    row["CreatedAt"] = ago(s.created);
    row["Driver"] = "";
    row["ID"] = s.id;
    row["Labels"] = join(labels, ",");
    row["Name"] = s.name;
    row["UpdatedAt"] = ago(s.updated);
    rows.push_back(std::move(row));
  }
  if (flags.quiet) return;
  auto out = render(rows, flags.format,
                    "table {{.ID}}\\t{{.Name}}\\t{{.Driver}}\\t{{.CreatedAt}}\\t{{.UpdatedAt}}",
                    {{"CreatedAt", "CREATED"}, {"UpdatedAt", "UPDATED"}});
  if (!out) return fail(g, out.error());
  std::cout << *out;
}

Row inspect_json(const engine::SecretInfo& s) {
  Row labels = Row::object();
  for (const auto& [k, v] : s.labels) labels[k] = v;
  Row row;
  row["ID"] = s.id;
  row["Version"] = {{"Index", s.version}};
  row["CreatedAt"] = s.created;
  row["UpdatedAt"] = s.updated;
  row["Spec"] = {{"Name", s.name}, {"Labels", labels}};
  return row;
}

std::string inspect_pretty(const engine::SecretInfo& s) {
  std::string out = "ID:              " + s.id + "\nName:              " + s.name + "\n";
  if (!s.labels.empty()) {
    out += "Labels:\n";
    for (const auto& [k, v] : s.labels) out += " - " + k + (v.empty() ? "" : "=" + v) + "\n";
  }
  out += "Driver:            \nCreated at:        " + pretty_time(s.created) +
         "\nUpdated at:        " + pretty_time(s.updated) + "\n";
  return out;
}

struct InspectFlags {
  std::vector<std::string> secrets;
  std::string format;
  bool pretty = false;
};

void run_inspect(EngineGlobals& g, const InspectFlags& flags) {
  auto secrets = open_secrets(g);
  if (!secrets) return;
  std::vector<engine::SecretInfo> found;
  for (const auto& name : flags.secrets) {
    auto s = secrets->inspect(name);
    if (!s) {
      fail(g, s.error());
      continue;
    }
    found.push_back(std::move(*s));
  }
  if (flags.pretty) {
    for (size_t i = 0; i < found.size(); ++i)
      std::cout << (i ? "\n" : "") << inspect_pretty(found[i]);
    return;
  }
  std::vector<Row> rows;
  for (const auto& s : found) rows.push_back(inspect_json(s));
  print_inspect(g, rows, flags.format);
}

void run_remove(EngineGlobals& g, const std::vector<std::string>& names) {
  auto secrets = open_secrets(g);
  if (!secrets) return;
  for (const auto& name : names) {
    auto r = secrets->remove(name);
    if (!r) {
      fail(g, r.error());
      continue;  // Docker goes on with the others and exits 1 at the end
    }
    std::cout << name << "\n";
  }
}

}  // namespace

void add_secret(CLI::App& app, EngineGlobals& g) {
  auto* secret = app.add_subcommand("secret", "Manage secrets");
  secret->require_subcommand(1);

  auto* create =
      secret->add_subcommand("create", "Create a secret from a file or STDIN as content");
  auto cf = std::make_shared<CreateFlags>();
  create->add_option("name", cf->name, "SECRET")->required();
  create->add_option("file", cf->file, "file holding the value, or - for stdin")->required();
  create->add_option("-l,--label", cf->labels, "secret labels (key=value)")
      ->allow_extra_args(false);
  create->add_option("-d,--driver", cf->driver,
                     "secret driver (only the built-in store is supported)");
  create->callback([&g, cf] { run_create(g, *cf); });

  auto* ls = secret->add_subcommand("ls", "List secrets")->alias("list");
  auto lf = std::make_shared<ListFlags>();
  ls->add_flag("-q,--quiet", lf->quiet, "only display IDs");
  ls->add_option("--format", lf->format, "'table', 'json', or a Go template such as '{{.Name}}'");
  ls->add_option("-f,--filter", lf->filters, "filter output: id, name, label")
      ->allow_extra_args(false);
  ls->callback([&g, lf] { run_list(g, *lf); });

  auto* inspect =
      secret->add_subcommand("inspect", "Display detailed information on one or more secrets");
  auto inf = std::make_shared<InspectFlags>();
  inspect->add_option("secret", inf->secrets, "SECRET [SECRET...]")->required();
  inspect->add_option("-f,--format", inf->format,
                      "'json' or a Go template such as '{{.Spec.Name}}'");
  inspect->add_flag("--pretty", inf->pretty, "print the information in a human friendly format");
  inspect->callback([&g, inf] { run_inspect(g, *inf); });

  auto* rm = secret->add_subcommand("rm", "Remove one or more secrets")->alias("remove");
  auto names = std::make_shared<std::vector<std::string>>();
  rm->add_option("secret", *names, "SECRET [SECRET...]")->required();
  rm->callback([&g, names] { run_remove(g, *names); });
}

}  // namespace berth::cli
