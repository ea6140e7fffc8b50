// `docker import -c` / `docker commit -c`: Dockerfile instructions applied to a container config.
// Each change is one instruction line; the subset and the argument forms are Docker's.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/strings.h"
#include "image/archive.h"

namespace berth::image {
namespace {

constexpr std::string_view kAllowed =
    "CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR";

// SHELL is accepted too, as Docker's commit does, though its error text does not list it.
bool known_instruction(std::string_view inst) {
  for (std::string_view k : {"CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "SHELL",
                             "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"})
    if (inst == k) return true;
  return false;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The JSON form of CMD/ENTRYPOINT/SHELL/VOLUME: an array of strings. nullopt when the text is
// not one, which makes it the shell form (as Docker does for `CMD [not json`).
std::optional<std::vector<std::string>> json_array(std::string_view text) {
  if (text.empty() || text.front() != '[') return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& v : j) {
    if (!v.is_string()) return std::nullopt;
    out.push_back(v.get<std::string>());
  }
  return out;
}

// Splits text into shell-like words, removing quotes and backslash escapes. With whole, the text
// is one word and unquoted whitespace is kept (the value of legacy `ENV key value words`).
Result<std::vector<std::string>> words(std::string_view text, bool whole = false) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  char quote_char = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote_char == '\'') {
      if (c == '\'') {
        quote_char = 0;
      } else {
        cur += c;
      }
      continue;
    }
    if (quote_char == '"') {
      if (c == '"') {
        quote_char = 0;
      } else if (c == '\\' && i + 1 < text.size() &&
                 (text[i + 1] == '"' || text[i + 1] == '\\' || text[i + 1] == '$')) {
        cur += text[++i];
      } else {
        cur += c;
      }
      continue;
    }
    if (is_space(c) && !whole) {
      if (in_word) out.push_back(std::move(cur));
      cur.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '"' || c == '\'') {
      quote_char = c;
    } else if (c == '\\' && i + 1 < text.size()) {
      cur += text[++i];
    } else {
      cur += c;
    }
  }
  if (quote_char != 0) return Fail(ErrorCode::InvalidArgument, "unterminated {} quote",
                                   quote_char == '"' ? "double" : "single");
  if (in_word) out.push_back(std::move(cur));
  return out;
}

// `KEY=value ...` pairs, or the legacy single pair `KEY value words` (ENV and LABEL).
Result<std::vector<std::pair<std::string, std::string>>> name_values(std::string_view inst,
                                                                     std::string_view args) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t first_end = 0;
  while (first_end < args.size() && !is_space(args[first_end])) ++first_end;
  std::string_view first = args.substr(0, first_end);
  if (first.find('=') == std::string_view::npos) {
    std::string_view rest = trim(args.substr(first_end));
    if (rest.empty())
      return Fail(ErrorCode::InvalidArgument, "{} {} needs a value (KEY=value or KEY value)",
                  inst, quote(first));
    auto key = TRY(words(first));
    auto value = TRY(words(rest, /*whole=*/true));
    if (key.size() != 1 || key[0].empty())
      return Fail(ErrorCode::InvalidArgument, "{} names can not be blank", inst);
    out.emplace_back(key[0], value.empty() ? "" : value[0]);
    return out;
  }
  for (const std::string& word : TRY(words(args))) {
    size_t eq = word.find('=');
    if (eq == std::string::npos)
      return Fail(ErrorCode::InvalidArgument, "{} {}: expected KEY=value", inst, quote(word));
    if (eq == 0) return Fail(ErrorCode::InvalidArgument, "{} names can not be blank", inst);
    out.emplace_back(word.substr(0, eq), word.substr(eq + 1));
  }
  return out;
}

void sorted_insert(std::vector<std::string>& v, std::string value) {
  auto it = std::lower_bound(v.begin(), v.end(), value);
  if (it == v.end() || *it != value) v.insert(it, std::move(value));
}

Result<uint16_t> parse_port(std::string_view text, std::string_view spec) {
  if (text.empty() || text.size() > 5 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return Fail(ErrorCode::InvalidArgument, "invalid port {}", quote(spec));
  int v = std::stoi(std::string(text));
  if (v < 1 || v > 65535)
    return Fail(ErrorCode::InvalidArgument, "port {} out of range 1-65535", quote(spec));
  return static_cast<uint16_t>(v);
}

// "80", "80/udp", "8000-8002/tcp" → "80/tcp"... appended to ports.
Result<void> expose(std::string_view spec, std::vector<std::string>& ports) {
  if (spec.find(':') != std::string_view::npos)
    return Fail(ErrorCode::InvalidArgument,
                "port publishing ({}) is not valid in EXPOSE: use `run -p`", quote(spec));
  std::string_view range = spec;
  std::string proto = "tcp";
  if (size_t slash = spec.find('/'); slash != std::string_view::npos) {
    range = spec.substr(0, slash);
    proto = lower(spec.substr(slash + 1));
    if (proto != "tcp" && proto != "udp" && proto != "sctp")
      return Fail(ErrorCode::InvalidArgument, "invalid protocol in {} (tcp, udp or sctp)",
                  quote(spec));
  }
  uint16_t lo = 0;
  uint16_t hi = 0;
  if (size_t dash = range.find('-'); dash != std::string_view::npos) {
    lo = TRY(parse_port(range.substr(0, dash), spec));
    hi = TRY(parse_port(range.substr(dash + 1), spec));
    if (hi < lo) return Fail(ErrorCode::InvalidArgument, "invalid port range {}", quote(spec));
  } else {
    lo = hi = TRY(parse_port(range, spec));
  }
  for (uint32_t p = lo; p <= hi; ++p) sorted_insert(ports, fmt::format("{}/{}", p, proto));
  return {};
}

bool valid_signal(std::string_view text) {
  static constexpr std::string_view kNames[] = {
      "HUP",  "INT",  "QUIT", "ILL",  "TRAP",   "ABRT", "IOT",   "BUS",  "FPE",  "KILL",
      "USR1", "SEGV", "USR2", "PIPE", "ALRM",   "TERM", "STKFLT", "CHLD", "CONT", "STOP",
      "TSTP", "TTIN", "TTOU", "URG",  "XCPU",   "XFSZ", "VTALRM", "PROF", "WINCH", "IO",
      "POLL", "PWR",  "SYS",  "RTMIN", "RTMAX"};
  if (text.empty()) return false;
  if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (text.size() > 2) return false;
    int n = std::stoi(std::string(text));
    return n >= 1 && n <= 64;
  }
  std::string name = upper(text);
  if (starts_with(name, "SIG")) name = name.substr(3);
  for (std::string_view prefix : {"RTMIN+", "RTMAX-"}) {
    if (starts_with(name, prefix)) {
      std::string_view n = std::string_view(name).substr(prefix.size());
      return !n.empty() && n.size() <= 2 &&
             std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
             std::stoi(std::string(n)) <= 30;
    }
  }
  return std::find(std::begin(kNames), std::end(kNames), name) != std::end(kNames);
}

// Lexically cleaned absolute path ("/a/./b/../c" → "/a/c").
std::string clean_abs(std::string_view path) {
  std::vector<std::string> parts;
  for (const std::string& p : split(path, '/')) {
    if (p.empty() || p == ".") continue;
    if (p == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(p);
  }
  return "/" + join(parts, "/");
}

struct ChangeState {
  bool cmd_set = false;
};

// CMD and ENTRYPOINT: the JSON form verbatim, the shell form run by the config's shell.
std::vector<std::string> exec_form(const oci::ContainerConfig& config, std::string_view args) {
  if (auto arr = json_array(args)) return *arr;
  std::vector<std::string> out = config.shell;
  if (out.empty()) out = {"/bin/sh", "-c"};
  out.emplace_back(args);
  return out;
}

Result<void> apply_one(oci::ContainerConfig& config, ChangeState& state, std::string_view inst,
                       std::string_view args) {
  if (inst == "CMD") {
    config.cmd = exec_form(config, args);
    state.cmd_set = true;
  } else if (inst == "ENTRYPOINT") {
    config.entrypoint = exec_form(config, args);
    // As in a Dockerfile: a new entrypoint drops the inherited CMD unless this run set one.
    if (!state.cmd_set) config.cmd.clear();
  } else if (inst == "SHELL") {
    auto arr = json_array(args);
    if (!arr) return Fail(ErrorCode::InvalidArgument, "SHELL requires the arguments in JSON form");
    if (arr->empty()) return Fail(ErrorCode::InvalidArgument, "SHELL requires at least one word");
    config.shell = *arr;
  } else if (inst == "ENV") {
    for (auto& [key, value] : TRY(name_values(inst, args))) {
      std::string prefix = key + "=";
      auto it = std::find_if(config.env.begin(), config.env.end(),
                             [&](const std::string& e) { return starts_with(e, prefix); });
      if (it != config.env.end()) {
        *it = prefix + value;
      } else {
        config.env.push_back(prefix + value);
      }
    }
  } else if (inst == "LABEL") {
    for (auto& [key, value] : TRY(name_values(inst, args))) config.labels[key] = value;
  } else if (inst == "EXPOSE") {
    for (const std::string& spec : TRY(words(args))) TRY(expose(spec, config.exposed_ports));
  } else if (inst == "ONBUILD") {
    size_t end = 0;
    while (end < args.size() && !is_space(args[end])) ++end;
    std::string trigger = upper(args.substr(0, end));
    if (trigger == "ONBUILD")
      return Fail(ErrorCode::InvalidArgument, "chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    if (trigger == "FROM" || trigger == "MAINTAINER")
      return Fail(ErrorCode::InvalidArgument, "{} isn't allowed as an ONBUILD trigger", trigger);
    config.on_build.push_back(trigger + std::string(args.substr(end)));
  } else if (inst == "STOPSIGNAL") {
    auto w = TRY(words(args));
    if (w.size() != 1)
      return Fail(ErrorCode::InvalidArgument, "STOPSIGNAL requires exactly one argument");
    if (!valid_signal(w[0]))
      return Fail(ErrorCode::InvalidArgument, "invalid signal {}", quote(w[0]));
    config.stop_signal = w[0];
  } else if (inst == "USER") {
    auto w = TRY(words(args));
    if (w.size() != 1) return Fail(ErrorCode::InvalidArgument, "USER requires exactly one argument");
    config.user = w[0];
  } else if (inst == "VOLUME") {
    std::vector<std::string> vols;
    if (auto arr = json_array(args)) {
      vols = *arr;
    } else {
      vols = TRY(words(args));
    }
    if (vols.empty()) return Fail(ErrorCode::InvalidArgument, "VOLUME requires at least one path");
    for (std::string& v : vols) {
      if (trim(v).empty())
        return Fail(ErrorCode::InvalidArgument, "VOLUME paths can not be empty strings");
      sorted_insert(config.volumes, std::move(v));
    }
  } else if (inst == "WORKDIR") {
    auto w = TRY(words(args, /*whole=*/true));
    if (w.empty() || w[0].empty())
      return Fail(ErrorCode::InvalidArgument, "WORKDIR requires exactly one argument");
    std::string dir = w[0];
    if (dir.front() != '/') dir = (config.working_dir.empty() ? "/" : config.working_dir) + "/" + dir;
    config.working_dir = clean_abs(dir);
  } else {
    return Fail(ErrorCode::Internal, "unhandled change instruction {}", inst);
  }
  return {};
}

}  // namespace

Result<void> apply_changes(oci::ContainerConfig& config, const std::vector<std::string>& changes) {
  ChangeState state;
  for (const std::string& change : changes) {
    std::string_view line = trim(change);
    size_t end = 0;
    while (end < line.size() && !is_space(line[end])) ++end;
    std::string inst = upper(line.substr(0, end));
    std::string_view args = trim(line.substr(end));
    Result<void> r;
    if (inst.empty()) {
      r = Fail(ErrorCode::InvalidArgument, "empty instruction");
    } else if (!known_instruction(inst)) {
      r = Fail(ErrorCode::InvalidArgument, "{} is not a valid change instruction (allowed: {})",
               inst, kAllowed);
    } else if (args.empty()) {
      r = Fail(ErrorCode::InvalidArgument, "{} requires at least one argument", inst);
    } else {
      r = apply_one(config, state, inst, args);
    }
    if (!r.has_value()) {
      r.error().context(fmt::format("invalid change {}", quote(change)));
      return r;
    }
  }
  return {};
}

}  // namespace berth::image
