// Decoders for FROM (stages), ENV, LABEL, ARG, EXPOSE, CMD, ENTRYPOINT, SHELL, HEALTHCHECK,
// USER, WORKDIR, STOPSIGNAL, MAINTAINER, VOLUME and ONBUILD.
#include "build/instructions.h"

#include <algorithm>
#include <limits>
#include <set>

#include "base/strings.h"
#include "build/instructions_flags.h"

namespace berth::build {
namespace detail {

Unexpected ins_fail(const Instruction& ins, std::string_view message) {
  return Fail(ErrorCode::InvalidArgument, "{}:{}:{}: {}: {}", ins.file.empty() ? "Dockerfile" : ins.file,
              ins.start.line, ins.start.column, ins.keyword, message);
}

Result<FlagValues> parse_flags(const Instruction& ins, const std::vector<FlagSpec>& specs) {
  FlagValues out;
  for (const auto& f : ins.flags) {
    auto spec = std::find_if(specs.begin(), specs.end(), [&](const FlagSpec& s) { return s.name == f.name; });
    if (spec == specs.end()) return ins_fail(ins, fmt::format("unknown flag: --{}", f.name));
    if (out.has(f.name) && spec->kind != FlagKind::Strings)
      return ins_fail(ins, fmt::format("duplicate flag specified: --{}", f.name));
    auto& slot = out.values[f.name];
    if (spec->kind == FlagKind::Bool) {
      if (f.has_value && f.value.empty()) return ins_fail(ins, fmt::format("missing a value on flag: --{}", f.name));
      std::string v = f.value;
      std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
      if (v == "true" || v.empty()) slot.push_back("true");
      else if (v == "false") slot.push_back("false");
      else return ins_fail(ins, fmt::format("expecting boolean value for flag --{}, not: {}", f.name, f.value));
    } else {
      if (!f.has_value) return ins_fail(ins, fmt::format("missing a value on flag: --{}", f.name));
      slot.push_back(f.value);
    }
  }
  return out;
}

}  // namespace detail

using detail::FlagKind;
using detail::ins_fail;
using detail::parse_flags;

namespace {

// Expands `word`, turning a lexer error into an instruction error.
Result<std::string> expand(const Instruction& ins, std::string_view word, const EnvLookup& lookup, char escape) {
  auto r = expand_word(word, lookup, escape);
  if (!r) return ins_fail(ins, r.error().message());
  return r;
}

Result<void> no_flags(const Instruction& ins) {
  TRY(parse_flags(ins, {}));
  return {};
}

Result<EnvKv> decode_pairs(const Instruction& ins, const EnvLookup& lookup, char escape) {
  TRY(no_flags(ins));
  if (ins.args.empty()) return ins_fail(ins, fmt::format("{} requires at least one argument", ins.keyword));
  std::vector<std::pair<std::string, std::string>> raw;
  if (ins.args[0].find('=') == std::string::npos) {
    if (ins.args.size() != 2) return ins_fail(ins, fmt::format("{} must have two arguments", ins.keyword));
    raw.emplace_back(ins.args[0], ins.args[1]);
  } else {
    for (const auto& w : ins.args) {
      auto eq = w.find('=');
      if (eq == std::string::npos)
        return ins_fail(ins, fmt::format("Syntax error - can't find = in {}. Must be of the form: name=value", quote(w)));
      raw.emplace_back(w.substr(0, eq), w.substr(eq + 1));
    }
  }
  EnvKv out;
  for (const auto& [k, v] : raw) {
    if (k.empty()) return ins_fail(ins, fmt::format("{} names can not be blank", ins.keyword));
    KeyValue kv;  // one TRY per statement: a return inside an aggregate initializer leaks (clang)
    kv.key = TRY(expand(ins, k, lookup, escape));
    kv.value = TRY(expand(ins, v, lookup, escape));
    if (kv.key.empty()) return ins_fail(ins, fmt::format("{} names can not be blank", ins.keyword));
    out.pairs.push_back(std::move(kv));
  }
  return out;
}

bool valid_stage_name(std::string_view s) {
  if (s.empty() || s[0] < 'a' || s[0] > 'z') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

Result<std::string> decode_one(const Instruction& ins, const EnvLookup* lookup, char escape) {
  TRY(no_flags(ins));
  if (ins.args.size() != 1) return ins_fail(ins, fmt::format("{} requires exactly one argument", ins.keyword));
  if (!lookup) return ins.args[0];
  return expand(ins, ins.args[0], *lookup, escape);
}

const std::set<std::string>& automatic_platform_args() {
  static const std::set<std::string> names = {
      "BUILDPLATFORM", "BUILDOS",   "BUILDARCH",      "BUILDVARIANT",   "TARGETPLATFORM",
      "TARGETOS",      "TARGETARCH", "TARGETVARIANT", "TARGETSTAGE"};
  return names;
}

}  // namespace

Result<std::vector<Stage>> split_stages(const Dockerfile& df, const std::map<std::string, std::string>& build_args,
                                        std::vector<ArgDecl>* meta_args) {
  std::vector<ArgDecl> metas;
  EnvLookup meta_lookup = [&](std::string_view name) -> std::optional<std::string> {
    for (auto it = metas.rbegin(); it != metas.rend(); ++it)
      if (it->name == name) return it->value;
    std::string n(name);
    if (automatic_platform_args().count(n)) {
      auto b = build_args.find(n);
      if (b != build_args.end()) return b->second;
    }
    return std::nullopt;
  };
  std::vector<Stage> stages;
  for (const auto& ins : df.instructions) {
    if (ins.keyword == "FROM") {
      auto flags = TRY(parse_flags(ins, {{"platform", FlagKind::String}}));
      Stage st;
      st.index = static_cast<int>(stages.size());
      st.from = ins;
      if (ins.args.empty()) return ins_fail(ins, "FROM requires at least one argument");
      if (ins.args.size() == 3 && lower(ins.args[1]) == "as") {
        st.name = lower(ins.args[2]);
        if (!valid_stage_name(st.name))
          return ins_fail(ins, fmt::format("invalid name for build stage: {}, name can't start with a number or "
                                           "contain symbols",
                                           quote(ins.args[2])));
      } else if (ins.args.size() != 1) {
        return ins_fail(ins, "FROM requires either one or three arguments");
      }
      st.base = TRY(expand(ins, ins.args[0], meta_lookup, df.escape));
      if (st.base.empty()) return ins_fail(ins, fmt::format("base name ({}) should not be blank", ins.args[0]));
      if (flags.has("platform")) st.platform = TRY(expand(ins, flags.get("platform"), meta_lookup, df.escape));
      for (const auto& other : stages)
        if (!st.name.empty() && other.name == st.name)
          return ins_fail(ins, fmt::format("duplicate stage name {}", quote(st.name)));
      stages.push_back(std::move(st));
      continue;
    }
    if (stages.empty()) {
      if (ins.keyword != "ARG") return ins_fail(ins, "no build stage in current context");
      for (auto& a : TRY(decode_arg(ins, meta_lookup, df.escape))) {
        auto b = build_args.find(a.name);
        a.value = b != build_args.end() ? std::optional<std::string>(b->second) : a.default_value;
        metas.push_back(std::move(a));
      }
      continue;
    }
    stages.back().raw.push_back(ins);
  }
  if (stages.empty()) {
    Instruction none;
    none.keyword = "FROM";
    none.file = df.instructions.empty() ? "Dockerfile" : df.instructions.front().file;
    none.start = df.instructions.empty() ? Position{1, 1} : df.instructions.back().start;
    return ins_fail(none, "no build stage in the Dockerfile: it needs at least one FROM");
  }
  if (meta_args) *meta_args = std::move(metas);
  return stages;
}

Result<EnvKv> decode_env(const Instruction& ins, const EnvLookup& lookup, char escape) {
  return decode_pairs(ins, lookup, escape);
}

Result<EnvKv> decode_label(const Instruction& ins, const EnvLookup& lookup, char escape) {
  return decode_pairs(ins, lookup, escape);
}

Result<std::vector<ArgDecl>> decode_arg(const Instruction& ins, const EnvLookup& lookup, char escape) {
  TRY(no_flags(ins));
  if (ins.args.empty()) return ins_fail(ins, "ARG requires at least one argument");
  std::vector<ArgDecl> out;
  for (const auto& w : ins.args) {
    ArgDecl a;
    a.pos = ins.start;
    auto eq = w.find('=');
    a.name = w.substr(0, eq);
    if (a.name.empty()) return ins_fail(ins, "ARG names can not be blank");
    if (eq != std::string::npos) a.default_value = TRY(expand(ins, w.substr(eq + 1), lookup, escape));
    out.push_back(std::move(a));
  }
  return out;
}

Result<std::vector<std::string>> decode_expose(const Instruction& ins, const EnvLookup& lookup, char escape) {
  TRY(no_flags(ins));
  if (ins.args.empty()) return ins_fail(ins, "EXPOSE requires at least one argument");
  std::set<std::pair<int, std::string>> ports;
  for (const auto& arg : ins.args) {
    auto words = expand_words(arg, lookup, escape);
    if (!words) return ins_fail(ins, words.error().message());
    for (const auto& spec : *words) {
      std::string_view s = spec;
      std::string proto = "tcp";
      if (auto slash = s.find('/'); slash != std::string_view::npos) {
        proto = lower(std::string(s.substr(slash + 1)));
        s = s.substr(0, slash);
      }
      if (proto != "tcp" && proto != "udp" && proto != "sctp")
        return ins_fail(ins, fmt::format("invalid proto: {}", proto));
      if (s.rfind(':') != std::string_view::npos) s = s.substr(s.rfind(':') + 1);  // ip:host:container
      auto dash = s.find('-');
      auto lo = parse_uint(s.substr(0, dash), "port");
      auto hi = dash == std::string_view::npos ? lo : parse_uint(s.substr(dash + 1), "port");
      if (!lo || !hi || *lo > 65535 || *hi > 65535 || s.empty() || !std::isdigit(static_cast<unsigned char>(s[0])))
        return ins_fail(ins, fmt::format("invalid containerPort: {}", s));
      if (*hi < *lo) return ins_fail(ins, fmt::format("invalid range specified for container port: {}", s));
      for (uint64_t p = *lo; p <= *hi; ++p) ports.emplace(static_cast<int>(p), proto);
    }
  }
  std::vector<std::string> out;
  for (const auto& [port, proto] : ports) out.push_back(fmt::format("{}/{}", port, proto));
  return out;
}

Result<std::vector<std::string>> decode_command(const Instruction& ins, const std::vector<std::string>& shell) {
  TRY(no_flags(ins));
  if (ins.json_form) return ins.args;
  if (ins.args.empty()) return ins.keyword == "ENTRYPOINT" ? std::vector<std::string>{} : shell;
  std::vector<std::string> out = shell;
  out.push_back(ins.text);
  return out;
}

Result<std::vector<std::string>> decode_shell(const Instruction& ins) {
  TRY(no_flags(ins));
  if (ins.args.empty()) return ins_fail(ins, "SHELL requires at least one argument");
  if (!ins.json_form) return ins_fail(ins, "SHELL requires the arguments to be in JSON form");
  return ins.args;
}

Result<Healthcheck> decode_healthcheck(const Instruction& ins) {
  if (ins.args.empty()) return ins_fail(ins, "HEALTHCHECK requires at least one argument");
  Healthcheck hc;
  std::string type = ins.args[0];
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::toupper(c); });
  if (type == "NONE") {
    if (ins.args.size() != 1) return ins_fail(ins, "HEALTHCHECK NONE takes no arguments");
    hc.test = {"NONE"};
    return hc;
  }
  auto flags = TRY(parse_flags(ins, {{"interval", FlagKind::String},
                                     {"timeout", FlagKind::String},
                                     {"start-period", FlagKind::String},
                                     {"start-interval", FlagKind::String},
                                     {"retries", FlagKind::String}}));
  if (type != "CMD") return ins_fail(ins, fmt::format("Unknown type {} in HEALTHCHECK (try CMD)", quote(ins.args[0])));
  if (ins.args.size() < 2) return ins_fail(ins, "Missing command after HEALTHCHECK CMD");
  hc.test = {ins.json_form ? "CMD" : "CMD-SHELL"};
  hc.test.insert(hc.test.end(), ins.args.begin() + 1, ins.args.end());
  auto interval = [&](const char* name, int64_t& out) -> Result<void> {
    std::string v = flags.get(name);
    if (v.empty()) return {};
    auto d = parse_go_duration(v);
    if (!d) return ins_fail(ins, fmt::format("--{}: {}", name, d.error().message()));
    if (*d != 0 && *d < 1000000) return ins_fail(ins, fmt::format("Interval \"{}\" cannot be less than 1ms", name));
    out = *d;
    return {};
  };
  TRY(interval("interval", hc.interval_ns));
  TRY(interval("timeout", hc.timeout_ns));
  TRY(interval("start-period", hc.start_period_ns));
  TRY(interval("start-interval", hc.start_interval_ns));
  if (std::string r = flags.get("retries"); !r.empty()) {
    auto n = parse_int(r, "--retries");
    if (!n || *n > std::numeric_limits<int32_t>::max() || *n < std::numeric_limits<int32_t>::min())
      return ins_fail(ins, fmt::format("--retries: invalid number {}", quote(r)));
    if (*n < 0) return ins_fail(ins, fmt::format("--retries cannot be negative ({})", *n));
    hc.retries = static_cast<int>(*n);
  }
  return hc;
}

Result<std::string> decode_user(const Instruction& ins, const EnvLookup& lookup, char escape) {
  return decode_one(ins, &lookup, escape);
}
Result<std::string> decode_workdir(const Instruction& ins, const EnvLookup& lookup, char escape) {
  return decode_one(ins, &lookup, escape);
}
Result<std::string> decode_stopsignal(const Instruction& ins, const EnvLookup& lookup, char escape) {
  return decode_one(ins, &lookup, escape);
}
Result<std::string> decode_maintainer(const Instruction& ins) { return decode_one(ins, nullptr, '\\'); }

Result<std::vector<std::string>> decode_volume(const Instruction& ins, const EnvLookup& lookup, char escape) {
  TRY(no_flags(ins));
  if (ins.args.empty()) return ins_fail(ins, "VOLUME requires at least one argument");
  std::vector<std::string> out;
  for (const auto& v : ins.args) {
    std::string t(trim(v));
    if (t.empty()) return ins_fail(ins, "VOLUME specified can not be an empty string");
    out.push_back(TRY(expand(ins, t, lookup, escape)));
  }
  return out;
}

Result<std::string> decode_onbuild(const Instruction& ins) {
  if (ins.onbuild.empty()) return ins_fail(ins, "ONBUILD requires at least one argument");
  std::string out = ins.text;
  for (const auto& h : ins.heredocs) out += "\n" + h.content + h.name;
  return out;
}

Result<int64_t> parse_go_duration(std::string_view text) {
  auto bad = [&]() { return Fail(ErrorCode::InvalidArgument, "time: invalid duration {}", quote(text)); };
  std::string_view s = text;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return bad();
  constexpr uint64_t kMax = uint64_t{1} << 63;
  uint64_t total = 0;
  while (!s.empty()) {
    if (s[0] != '.' && !std::isdigit(static_cast<unsigned char>(s[0]))) return bad();
    uint64_t v = 0;
    size_t n = 0;
    while (n < s.size() && std::isdigit(static_cast<unsigned char>(s[n]))) {
      if (v > (kMax - 9) / 10) return bad();
      v = v * 10 + static_cast<uint64_t>(s[n] - '0');
      ++n;
    }
    bool pre = n > 0;
    s.remove_prefix(n);
    uint64_t frac = 0;
    double scale = 1;
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      size_t m = 0;
      bool overflow = false;
      while (m < s.size() && std::isdigit(static_cast<unsigned char>(s[m]))) {
        if (!overflow && frac <= (kMax - 9) / 10) {
          frac = frac * 10 + static_cast<uint64_t>(s[m] - '0');
          scale *= 10;
        } else {
          overflow = true;
        }
        ++m;
      }
      post = m > 0;
      s.remove_prefix(m);
    }
    if (!pre && !post) return bad();
    size_t u = 0;
    while (u < s.size() && s[u] != '.' && !std::isdigit(static_cast<unsigned char>(s[u]))) ++u;
    if (u == 0) return Fail(ErrorCode::InvalidArgument, "time: missing unit in duration {}", quote(text));
    std::string_view unit_name = s.substr(0, u);
    s.remove_prefix(u);
    uint64_t unit = 0;
    if (unit_name == "ns") unit = 1;
    else if (unit_name == "us" || unit_name == "\xC2\xB5s" || unit_name == "\xCE\xBCs") unit = 1000;
    else if (unit_name == "ms") unit = 1000000;
    else if (unit_name == "s") unit = 1000000000;
    else if (unit_name == "m") unit = 60ull * 1000000000;
    else if (unit_name == "h") unit = 3600ull * 1000000000;
    else return Fail(ErrorCode::InvalidArgument, "time: unknown unit {} in duration {}", quote(unit_name), quote(text));
    if (v > kMax / unit) return bad();
    v *= unit;
    if (frac > 0) {
      v += static_cast<uint64_t>(static_cast<double>(frac) * (static_cast<double>(unit) / scale));
      if (v > kMax) return bad();
    }
    total += v;
    if (total > kMax) return bad();
  }
  if (neg) return total == kMax ? std::numeric_limits<int64_t>::min() : -static_cast<int64_t>(total);
  if (total > kMax - 1) return bad();
  return static_cast<int64_t>(total);
}

}  // namespace berth::build
