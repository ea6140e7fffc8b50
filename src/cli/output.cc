#include "cli/output.h"

#include <time.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "base/strings.h"

namespace berth::cli {
namespace {

// One piece of a template: literal text, or an action naming a field (json: render as JSON).
struct Piece {
  bool action = false;
  std::string text;   // literal text, or the field name ("" for ".")
  bool json = false;
};

Result<std::vector<Piece>> parse_template(const std::string& tmpl) {
  std::vector<Piece> out;
  size_t pos = 0;
  while (pos < tmpl.size()) {
    size_t open = tmpl.find("{{", pos);
    std::string literal = tmpl.substr(pos, open == std::string::npos ? std::string::npos : open - pos);
    for (size_t i; (i = literal.find("\\t")) != std::string::npos;) literal.replace(i, 2, "\t");
    for (size_t i; (i = literal.find("\\n")) != std::string::npos;) literal.replace(i, 2, "\n");
    if (!literal.empty()) out.push_back({false, literal, false});
    if (open == std::string::npos) break;
    size_t close = tmpl.find("}}", open);
    if (close == std::string::npos)
      return Fail(ErrorCode::InvalidArgument, "template {}: unclosed action", quote(tmpl));
    std::string action(trim(tmpl.substr(open + 2, close - open - 2)));
    Piece p{true, "", false};
    if (starts_with(action, "json ")) {
      p.json = true;
      action = std::string(trim(action.substr(5)));
    }
    if (action == ".") {
      p.text = "";
    } else if (action.size() > 1 && action[0] == '.' &&
               std::all_of(action.begin() + 1, action.end(), [](char c) {
                 return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_';
               })) {
      p.text = action.substr(1);
    } else {
      return Fail(ErrorCode::InvalidArgument, "template {}: unsupported action {{{{{}}}}}", quote(tmpl), action);
    }
    out.push_back(std::move(p));
    pos = close + 2;
  }
  return out;
}

Result<std::string> apply(const std::vector<Piece>& pieces, const Row& row, const std::string& tmpl) {
  std::string out;
  for (const auto& p : pieces) {
    if (!p.action) {
      out += p.text;
      continue;
    }
    const Row* value = &row;
    for (const auto& field : p.text.empty() ? std::vector<std::string>{} : split(p.text, '.')) {
      auto it = value->is_object() ? value->find(field) : value->end();
      if (it == value->end())
        return Fail(ErrorCode::InvalidArgument, "template {}: no field {} (fields: {})", quote(tmpl),
                    quote(p.text), [&] {
                      std::vector<std::string> names;
                      if (value->is_object())
                        for (auto f = value->begin(); f != value->end(); ++f) names.push_back(f.key());
                      return join(names, ", ");
                    }());
      value = &*it;
    }
    if (p.json || !value->is_string()) {
      out += value->dump();
    } else {
      out += value->get<std::string>();
    }
  }
  return out;
}

}  // namespace

std::string align_columns(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows)
    for (size_t i = 0; i + 1 < row.size(); ++i) {
      if (width.size() <= i) width.resize(i + 1, 0);
      width[i] = std::max(width[i], std::max<size_t>(row[i].size() + 3, 10));
    }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(width[i] - row[i].size(), ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

Result<std::string> render(const std::vector<Row>& rows, const std::string& format,
                           const std::string& default_table,
                           const std::map<std::string, std::string>& headers) {
  if (format == "json") {
    std::string out;
    for (const auto& row : rows) out += row.dump() + "\n";
    return out;
  }
  std::string tmpl = format.empty() || format == "table" ? default_table : format;
  bool table = starts_with(tmpl, "table");
  if (table) tmpl = std::string(trim(tmpl.substr(5)));
  auto pieces = TRY(parse_template(tmpl));
  if (!table) {
    std::string out;
    for (const auto& row : rows) out += TRY(apply(pieces, row, tmpl)) + "\n";
    return out;
  }
  std::vector<std::vector<std::string>> cells;
  std::string header;
  for (const auto& p : pieces) {
    if (!p.action) {
      header += p.text;
    } else {
      auto h = headers.find(p.text);
      std::string name = p.text;
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
      header += h != headers.end() ? h->second : name;
    }
  }
  cells.push_back(split(header, '\t'));
  for (const auto& row : rows) cells.push_back(split(TRY(apply(pieces, row, tmpl)), '\t'));
  return align_columns(cells);
}

std::string human_size(int64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  double size = static_cast<double>(bytes);
  size_t unit = 0;
  while (size >= 1000.0 && unit + 1 < std::size(kUnits)) {
    size /= 1000.0;
    ++unit;
  }
  return fmt::format("{:.3g}{}", size, kUnits[unit]);
}

std::string human_duration(int64_t seconds) {
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return fmt::format("{} seconds", seconds);
  int64_t minutes = seconds / 60;
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return fmt::format("{} minutes", minutes);
  int64_t hours = static_cast<int64_t>(std::lround(static_cast<double>(seconds) / 3600.0));
  if (hours == 1) return "About an hour";
  if (hours < 48) return fmt::format("{} hours", hours);
  if (hours < 24 * 7 * 2) return fmt::format("{} days", hours / 24);
  if (hours < 24 * 30 * 2) return fmt::format("{} weeks", hours / 24 / 7);
  if (hours < 24 * 365 * 2) return fmt::format("{} months", hours / 24 / 30);
  return fmt::format("{} years", hours / 24 / 365);
}

std::string docker_time(const std::string& rfc3339) {
  if (rfc3339.size() < 19) return rfc3339;
  return rfc3339.substr(0, 10) + " " + rfc3339.substr(11, 8) + " +0000 UTC";
}

int64_t seconds_since(const std::string& rfc3339) {
  struct tm tm = {};
  const char* rest = strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return -1;
  while (*rest == '.' || std::isdigit(static_cast<unsigned char>(*rest))) ++rest;
  int64_t offset = 0;
  if (*rest == '+' || *rest == '-') {
    int h = 0, m = 0;
    if (sscanf(rest + 1, "%d:%d", &h, &m) == 2) offset = (*rest == '+' ? 1 : -1) * (h * 3600 + m * 60);
  }
  time_t t = timegm(&tm) - offset;
  return static_cast<int64_t>(time(nullptr) - t);
}

}  // namespace berth::cli
