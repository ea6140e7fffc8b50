// Decoders for COPY, ADD and RUN (with BuildKit's --mount and --network).
#include <algorithm>
#include <cmath>

#include "base/strings.h"
#include "build/dockerfile_line.h"
#include "build/instructions.h"
#include "build/instructions_flags.h"

namespace berth::build {

using detail::FlagKind;
using detail::ins_fail;
using detail::parse_flags;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

Result<std::string> expand(const Instruction& ins, std::string_view word, const EnvLookup& lookup, char escape) {
  auto r = expand_word(word, lookup, escape);
  if (!r) return ins_fail(ins, r.error().message());
  return r;
}

// The fields of a CSV record (RFC 4180 quoting), as go-csvvalue reads a --mount value.
Result<std::vector<std::string>> csv_fields(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (true) {
    std::string field;
    if (i < s.size() && s[i] == '"') {
      ++i;
      while (true) {
        if (i >= s.size()) return Fail(ErrorCode::InvalidArgument, "failed to parse csv mounts: extraneous or missing \" in quoted-field");
        if (s[i] == '"') {
          if (i + 1 < s.size() && s[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += s[i++];
      }
      if (i < s.size() && s[i] != ',')
        return Fail(ErrorCode::InvalidArgument, "failed to parse csv mounts: extraneous or missing \" in quoted-field");
    } else {
      while (i < s.size() && s[i] != ',') {
        if (s[i] == '"') return Fail(ErrorCode::InvalidArgument, "failed to parse csv mounts: bare \" in non-quoted-field");
        field += s[i++];
      }
    }
    out.push_back(std::move(field));
    if (i >= s.size()) break;
    ++i;  // ','
  }
  return out;
}

std::optional<uint64_t> parse_base(std::string_view s, int base, uint64_t max) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d = (c >= '0' && c <= '9') ? c - '0' : -1;
    if (d < 0 || d >= base) return std::nullopt;
    if (v > (max - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) return std::nullopt;
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  return v;
}

std::optional<bool> parse_bool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False") return false;
  return std::nullopt;
}

// docker/go-units RAMInBytes: "64m", "1.5g", "100" (binary multiples).
std::optional<int64_t> ram_in_bytes(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == 0 || i > 20) return std::nullopt;
  std::string num(s.substr(0, i));
  if (std::count(num.begin(), num.end(), '.') > 1 || num.front() == '.') return std::nullopt;
  std::string unit = lower(std::string(trim(s.substr(i))));
  if (!unit.empty() && unit.back() == 'b' && unit.size() > 1) unit.pop_back();
  if (unit == "b") unit.clear();
  static const std::string units = "kmgtp";
  double mult = 1;
  if (!unit.empty()) {
    if (unit.size() != 1 || units.find(unit[0]) == std::string::npos) return std::nullopt;
    mult = std::pow(1024.0, static_cast<double>(units.find(unit[0]) + 1));
  }
  double v = std::strtod(num.c_str(), nullptr) * mult;
  if (!(v < 9.2e18)) return std::nullopt;
  return static_cast<int64_t>(v);
}

}  // namespace

Result<RunMount> parse_run_mount(std::string_view value, const EnvLookup& lookup, char escape) {
  using T = RunMount::Type;
  auto fields = TRY(csv_fields(value));
  RunMount m;
  bool ro_auto = true;
  auto type_name = [&]() -> std::string {
    switch (m.type) {
      case T::Bind: return "bind";
      case T::Cache: return "cache";
      case T::Tmpfs: return "tmpfs";
      case T::Secret: return "secret";
      case T::Ssh: return "ssh";
    }
    return "";
  };
  auto bad = [](std::string msg) { return Fail(ErrorCode::InvalidArgument, "{}", msg); };
  for (const auto& field : fields) {
    auto eq = field.find('=');
    std::string key = lower(field.substr(0, eq));
    if (eq == std::string::npos) {
      if (key == "readonly" || key == "ro") {
        m.read_only = true;
        ro_auto = false;
      } else if (key == "readwrite" || key == "rw") {
        m.read_only = false;
        ro_auto = false;
      } else if (key == "required") {
        if (m.type != T::Secret && m.type != T::Ssh)
          return bad(fmt::format("unexpected key '{}' for mount type '{}'", key, type_name()));
        m.required = true;
      } else {
        return bad(fmt::format("invalid field '{}' must be a key=value pair", field));
      }
      continue;
    }
    auto expanded = expand_word(field.substr(eq + 1), lookup, escape);
    if (!expanded) return Err(std::move(expanded.error()));
    const std::string& v = *expanded;
    if (key == "type") {
      std::string t = lower(v);
      if (t == "bind") m.type = T::Bind;
      else if (t == "cache") m.type = T::Cache;
      else if (t == "tmpfs") m.type = T::Tmpfs;
      else if (t == "secret") m.type = T::Secret;
      else if (t == "ssh") m.type = T::Ssh;
      else return bad(fmt::format("unsupported mount type {}", quote(v)));
    } else if (key == "from") {
      m.from = v;
    } else if (key == "source" || key == "src") {
      m.source = v;
    } else if (key == "target" || key == "dst" || key == "destination") {
      m.target = v;
    } else if (key == "readonly" || key == "ro" || key == "readwrite" || key == "rw") {
      auto b = parse_bool(v);
      if (!b) return bad(fmt::format("invalid value for {}: {}", key, v));
      m.read_only = (key == "readonly" || key == "ro") ? *b : !*b;
      ro_auto = false;
    } else if (key == "required") {
      if (m.type != T::Secret && m.type != T::Ssh)
        return bad(fmt::format("unexpected key '{}' for mount type '{}'", key, type_name()));
      auto b = parse_bool(v);
      if (!b) return bad(fmt::format("invalid value for {}: {}", key, v));
      m.required = *b;
    } else if (key == "size") {
      if (m.type != T::Tmpfs) return bad(fmt::format("unexpected key '{}' for mount type '{}'", key, type_name()));
      auto n = ram_in_bytes(v);
      if (!n) return bad(fmt::format("invalid value for {}: {}", key, v));
      m.size = *n;
    } else if (key == "id") {
      m.id = v;
    } else if (key == "sharing") {
      std::string s = lower(v);
      if (s != "shared" && s != "private" && s != "locked") return bad(fmt::format("unsupported sharing value {}", quote(v)));
      m.sharing = s;
    } else if (key == "mode") {
      auto n = parse_base(v, 8, 0xffffffffu);
      if (!n) return bad(fmt::format("invalid value {} for mode", v));
      m.mode = static_cast<uint32_t>(*n);
    } else if (key == "uid" || key == "gid") {
      auto n = parse_base(v, 10, 0xffffffffu);
      if (!n) return bad(fmt::format("invalid value {} for {}", v, key));
      (key == "uid" ? m.uid : m.gid) = static_cast<uint32_t>(*n);
    } else if (key == "env") {
      m.env = v;
    } else {
      return bad(fmt::format("unexpected key '{}' in '{}'", key, field));
    }
  }
  bool file_info = m.type == T::Secret || m.type == T::Ssh || m.type == T::Cache;
  if (!file_info) {
    if (m.mode) return bad(fmt::format("mode not allowed for \"{}\" type mounts", type_name()));
    if (m.uid) return bad(fmt::format("uid not allowed for \"{}\" type mounts", type_name()));
    if (m.gid) return bad(fmt::format("gid not allowed for \"{}\" type mounts", type_name()));
  }
  if (ro_auto) m.read_only = !(m.type == T::Cache || m.type == T::Tmpfs);
  if (m.type == T::Secret) {
    if (!m.from.empty()) return bad("secret mount should not have a from");
    if (!m.sharing.empty()) return bad("secret mount should not define sharing");
    if (m.source.empty() && m.target.empty() && m.id.empty()) return bad("invalid secret mount. one of source, target required");
    if (!m.source.empty() && !m.id.empty()) return bad("both source and id can't be set");
  }
  if (!m.sharing.empty() && m.type != T::Cache) return bad(fmt::format("invalid cache sharing set for {} mount", type_name()));
  if (m.type == T::Cache && m.sharing.empty()) m.sharing = "shared";
  if ((m.type == T::Bind || m.type == T::Cache || m.type == T::Tmpfs) && m.target.empty())
    return bad("mount target is required");
  return m;
}

Result<CopyInstr> decode_copy(const Instruction& ins, const EnvLookup& lookup, char escape) {
  bool add = ins.keyword == "ADD";
  std::vector<detail::FlagSpec> specs = {{"chown", FlagKind::String}, {"chmod", FlagKind::String},
                                         {"link", FlagKind::Bool},    {"exclude", FlagKind::Strings}};
  if (add) {
    specs.push_back({"keep-git-dir", FlagKind::Bool});
    specs.push_back({"checksum", FlagKind::String});
    specs.push_back({"unpack", FlagKind::Bool});
  } else {
    specs.push_back({"from", FlagKind::String});
    specs.push_back({"parents", FlagKind::Bool});
  }
  auto flags = TRY(parse_flags(ins, specs));
  if (flags.has("exclude")) return ins_fail(ins, "--exclude is not supported by berth build");
  if (flags.get("parents") == "true") return ins_fail(ins, "--parents is not supported by berth build");
  if (flags.has("unpack")) return ins_fail(ins, "--unpack is not supported by berth build");
  if (ins.args.size() < 2)
    return ins_fail(ins, fmt::format("{} requires at least two arguments, but only one was provided. Destination "
                                     "could not be determined",
                                     ins.keyword));
  CopyInstr out;
  Heredoc h;
  auto is_heredoc = [&](const std::string& word) -> Result<bool> {
    if (ins.json_form) return false;
    auto r = detail::parse_heredoc_word(word, h);
    if (!r) return ins_fail(ins, r.error().message());
    return *r;
  };
  if (TRY(is_heredoc(ins.args.back())))
    return ins_fail(ins, fmt::format("{} cannot accept a heredoc as a destination", ins.keyword));
  for (size_t i = 0; i + 1 < ins.args.size(); ++i) {
    const auto& src = ins.args[i];
    if (TRY(is_heredoc(src))) {
      auto doc = std::find_if(ins.heredocs.begin(), ins.heredocs.end(), [&](const Heredoc& d) { return d.name == h.name; });
      InlineFile f{h.name, doc == ins.heredocs.end() ? std::string() : heredoc_body(*doc), h.expand};
      if (h.strip_tabs && doc != ins.heredocs.end() && !doc->strip_tabs) {
        Heredoc tmp = *doc;
        tmp.strip_tabs = true;
        f.data = heredoc_body(tmp);
      }
      if (f.expand) {
        ShellLexOptions opt;
        opt.skip_quotes = true;
        auto r = shell_expand(f.data, lookup, '\\', opt);
        if (!r) return ins_fail(ins, r.error().message());
        f.data = std::move(r->word);
      }
      out.inline_sources.push_back(std::move(f));
    } else {
      out.sources.push_back(TRY(expand(ins, src, lookup, escape)));
    }
  }
  out.dest = TRY(expand(ins, ins.args.back(), lookup, escape));
  out.chown = TRY(expand(ins, flags.get("chown"), lookup, escape));
  out.chmod = TRY(expand(ins, flags.get("chmod"), lookup, escape));
  out.from = TRY(expand(ins, flags.get("from"), lookup, escape));
  out.checksum = TRY(expand(ins, flags.get("checksum"), lookup, escape));
  out.link = flags.get("link") == "true";
  out.keep_git_dir = flags.get("keep-git-dir") == "true";
  return out;
}

Result<RunInstr> decode_run(const Instruction& ins, const EnvLookup& lookup, char escape,
                            const std::vector<std::string>& shell) {
  auto flags = TRY(parse_flags(ins, {{"mount", FlagKind::Strings}, {"network", FlagKind::String}}));
  RunInstr out;
  if (flags.has("network")) {
    std::string n = flags.get("network");
    if (n == "default") out.network = RunNetwork::Default;
    else if (n == "none") out.network = RunNetwork::None;
    else if (n == "host") out.network = RunNetwork::Host;
    else return ins_fail(ins, fmt::format("unsupported network mode {}", quote(n)));
  }
  if (auto it = flags.values.find("mount"); it != flags.values.end()) {
    for (const auto& v : it->second) {
      auto m = parse_run_mount(v, lookup, escape);
      if (!m) return ins_fail(ins, fmt::format("--mount={}: {}", v, m.error().message()));
      out.mounts.push_back(std::move(*m));
    }
  }
  if (ins.args.empty()) return ins_fail(ins, "RUN requires at least one argument");
  if (ins.json_form) {
    out.shell_form = false;
    out.cmd = ins.args;
    return out;
  }
  for (const auto& h : ins.heredocs) out.files.push_back({h.name, heredoc_body(h), false});
  out.cmd = shell;
  Heredoc whole;
  auto single = detail::parse_heredoc_word(ins.text, whole);
  if (ins.heredocs.size() == 1 && single && *single && whole.name == ins.heredocs[0].name) {
    out.cmd.push_back(out.files[0].data);  // RUN <<EOF: the body is the script
    return out;
  }
  std::string script = ins.text;
  for (const auto& h : ins.heredocs) script += "\n" + h.content + h.name;
  out.cmd.push_back(std::move(script));
  return out;
}

}  // namespace berth::build
