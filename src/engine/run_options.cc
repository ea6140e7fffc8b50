// Parsers of `berth run` flag values, following the Docker CLI's rules and messages.
#include "engine/run_options.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "base/fs.h"
#include "base/strings.h"

namespace berth::engine {

namespace {

constexpr std::string_view kVolumeFlag = "-v, --volume";
constexpr std::string_view kMountFlag = "--mount";
constexpr std::string_view kTmpfsFlag = "--tmpfs";

bool is_absolute(std::string_view p) { return !p.empty() && p.front() == '/'; }

bool is_propagation(std::string_view s) {
  return s == "shared" || s == "rshared" || s == "slave" || s == "rslave" || s == "private" ||
         s == "rprivate";
}

// Docker's volume name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (two characters at least).
bool valid_volume_name(std::string_view s) {
  if (s.size() < 2 || !std::isalnum(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

Result<bool> parse_bool(std::string_view v) {
  if (v == "1" || v == "true" || v == "True" || v == "TRUE" || v == "t" || v == "T") return true;
  if (v == "0" || v == "false" || v == "False" || v == "FALSE" || v == "f" || v == "F") {
    return false;
  }
  return Fail(ErrorCode::InvalidArgument, "invalid boolean value {}", quote(v));
}

Result<uint32_t> parse_octal_mode(std::string_view v) {
  if (v.empty() || v.size() > 12) return Fail(ErrorCode::InvalidArgument, "invalid mode");
  uint32_t mode = 0;
  for (char c : v) {
    if (c < '0' || c > '7') return Fail(ErrorCode::InvalidArgument, "invalid mode");
    mode = mode * 8 + static_cast<uint32_t>(c - '0');
    if (mode > 07777) return Fail(ErrorCode::InvalidArgument, "invalid mode");
  }
  return mode;
}

Result<void> check_target(std::string_view flag, std::string_view text, std::string& target) {
  if (target.empty()) return Err(flag_error(flag, text, "target is required"));
  if (!is_absolute(target)) {
    return Err(flag_error(flag, text,
                          fmt::format("invalid mount path: '{}' mount path must be absolute",
                                      target)));
  }
  target = clean_path(target);
  if (target == "/") return Err(flag_error(flag, text, "destination can't be '/'"));
  return {};
}

// Host env lookup: -e KEY and a bare KEY in an env file.
std::optional<std::string> host_env(const std::string& key) {
  const char* v = ::getenv(key.c_str());
  if (v == nullptr) return std::nullopt;
  return key + "=" + v;
}

bool has_space(std::string_view s) {
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) return true;
  }
  return false;
}

}  // namespace

Error flag_error(std::string_view flag, std::string_view value, std::string_view reason) {
  return Error(ErrorCode::InvalidArgument,
               fmt::format("invalid argument {} for \"{}\" flag: {}", quote(value), flag, reason));
}

Result<MountSpec> parse_volume_flag(std::string_view text) {
  auto parts = split(text, ':');
  MountSpec m;
  std::string mode;
  switch (parts.size()) {
    case 1:
      m.kind = MountKind::Volume;
      m.target = parts[0];
      break;
    case 2:
      m.source = parts[0];
      m.target = parts[1];
      break;
    case 3:
      m.source = parts[0];
      m.target = parts[1];
      mode = parts[2];
      break;
    default:
      return Err(flag_error(kVolumeFlag, text, "invalid volume specification"));
  }
  if (parts.size() > 1) {
    if (m.source.empty()) return Err(flag_error(kVolumeFlag, text, "source is empty"));
    if (is_absolute(m.source)) {
      m.kind = MountKind::Bind;
      m.source = clean_path(m.source);
    } else if (m.source.starts_with("./") || m.source.starts_with("../") || m.source == "." ||
               m.source == "..") {
      m.kind = MountKind::Bind;
      m.source = absolute_path(m.source);
    } else {
      if (!valid_volume_name(m.source)) {
        return Err(flag_error(
            kVolumeFlag, text,
            fmt::format("{} includes invalid characters for a local volume name, only "
                        "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed; to bind-mount a host "
                        "directory use an absolute path",
                        quote(m.source))));
      }
      m.kind = MountKind::Volume;
    }
  }
  TRY(check_target(kVolumeFlag, text, m.target));
  bool rw_seen = false, prop_seen = false;
  for (auto& o : split(mode, ',')) {
    if (o.empty() && mode.empty()) break;
    if (o == "ro" || o == "rw") {
      if (rw_seen) return Err(flag_error(kVolumeFlag, text, fmt::format("invalid mode: {}", mode)));
      rw_seen = true;
      m.readonly = o == "ro";
    } else if (o == "z" || o == "Z" || o == "consistent" || o == "cached" || o == "delegated") {
      // SELinux relabelling and macOS consistency: accepted and ignored, as Docker on a
      // host without SELinux does.
    } else if (o == "nocopy") {
      m.volume_nocopy = true;
    } else if (is_propagation(o)) {
      if (prop_seen || m.kind != MountKind::Bind) {
        return Err(flag_error(kVolumeFlag, text, fmt::format("invalid mode: {}", mode)));
      }
      prop_seen = true;
      m.propagation = o;
    } else {
      return Err(flag_error(kVolumeFlag, text, fmt::format("invalid mode: {}", mode)));
    }
  }
  return m;
}

Result<MountSpec> parse_mount_flag(std::string_view text) {
  MountSpec m;
  std::string type;
  bool have_type = false;
  for (auto& field : split(text, ',')) {
    if (field.empty()) continue;
    auto eq = field.find('=');
    std::string key = field.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : field.substr(eq + 1);
    std::string lkey;
    for (char c : key) lkey += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (eq == std::string::npos && lkey != "readonly" && lkey != "ro" &&
        lkey != "volume-nocopy") {
      return Err(flag_error(kMountFlag, text,
                            fmt::format("invalid field '{}' must be a key=value pair", field)));
    }
    if (lkey == "type") {
      if (value != "bind" && value != "volume" && value != "tmpfs") {
        return Err(flag_error(kMountFlag, text, fmt::format("invalid type '{}'", value)));
      }
      type = value;
      have_type = true;
    } else if (lkey == "source" || lkey == "src") {
      m.source = value;
    } else if (lkey == "target" || lkey == "dst" || lkey == "destination") {
      m.target = value;
    } else if (lkey == "readonly" || lkey == "ro") {
      if (eq == std::string::npos) {
        m.readonly = true;
      } else {
        auto b = parse_bool(value);
        if (!b) return Err(flag_error(kMountFlag, text, fmt::format("invalid value for {}: {}", key, value)));
        m.readonly = *b;
      }
    } else if (lkey == "volume-nocopy") {
      m.volume_nocopy = true;
      if (eq != std::string::npos) {
        auto b = parse_bool(value);
        if (!b) return Err(flag_error(kMountFlag, text, fmt::format("invalid value for {}: {}", key, value)));
        m.volume_nocopy = *b;
      }
    } else if (lkey == "bind-propagation") {
      if (!is_propagation(value)) {
        return Err(flag_error(kMountFlag, text,
                              fmt::format("invalid bind-propagation value '{}'", value)));
      }
      m.propagation = value;
    } else if (lkey == "tmpfs-size") {
      auto size = parse_memory_size(value, "--mount");
      if (!size || *size < 0) {
        return Err(flag_error(kMountFlag, text, fmt::format("invalid value for {}: {}", key, value)));
      }
      m.tmpfs_size = *size;
    } else if (lkey == "tmpfs-mode") {
      auto mode = parse_octal_mode(value);
      if (!mode) return Err(flag_error(kMountFlag, text, fmt::format("invalid value for {}: {}", key, value)));
      m.tmpfs_mode = *mode;
    } else if (lkey == "consistency" || lkey == "bind-selinux-label") {
      // Accepted and ignored as on Docker for Linux.
    } else {
      return Err(flag_error(kMountFlag, text, fmt::format("unexpected key '{}' in '{}'", key, field)));
    }
  }
  if (!have_type) type = "volume";
  if (type == "bind") {
    m.kind = MountKind::Bind;
    if (m.source.empty()) return Err(flag_error(kMountFlag, text, "source is required when type is bind"));
    if (!is_absolute(m.source)) m.source = absolute_path(m.source);
    m.source = clean_path(m.source);
  } else if (type == "volume") {
    m.kind = MountKind::Volume;
    if (!m.source.empty() && !valid_volume_name(m.source)) {
      return Err(flag_error(kMountFlag, text,
                            fmt::format("{} includes invalid characters for a local volume name",
                                        quote(m.source))));
    }
  } else {
    m.kind = MountKind::Tmpfs;
    if (!m.source.empty()) return Err(flag_error(kMountFlag, text, "source is not allowed for type tmpfs"));
  }
  if (m.kind != MountKind::Bind && !m.propagation.empty()) {
    return Err(flag_error(kMountFlag, text, fmt::format("bind-propagation is only allowed for type bind")));
  }
  if (m.kind != MountKind::Tmpfs && (m.tmpfs_size || m.tmpfs_mode)) {
    return Err(flag_error(kMountFlag, text, fmt::format("tmpfs options are only allowed for type tmpfs")));
  }
  TRY(check_target(kMountFlag, text, m.target));
  return m;
}

Result<MountSpec> parse_tmpfs_flag(std::string_view text) {
  MountSpec m;
  m.kind = MountKind::Tmpfs;
  auto colon = text.find(':');
  m.target = std::string(text.substr(0, colon));
  TRY(check_target(kTmpfsFlag, text, m.target));
  if (colon == std::string_view::npos) return m;
  for (auto& o : split(text.substr(colon + 1), ',')) {
    if (o.empty()) continue;
    if (o.starts_with("size=")) {
      auto size = parse_memory_size(o.substr(5), kTmpfsFlag);
      if (!size || *size < 0) return Err(flag_error(kTmpfsFlag, text, fmt::format("invalid size: {}", o.substr(5))));
      m.tmpfs_size = *size;
    } else if (o.starts_with("mode=")) {
      auto mode = parse_octal_mode(o.substr(5));
      if (!mode) return Err(flag_error(kTmpfsFlag, text, fmt::format("invalid mode: {}", o.substr(5))));
      m.tmpfs_mode = *mode;
    } else if (o == "ro" || o == "rw") {
      m.readonly = o == "ro";
    } else if (o == "exec" || o == "noexec" || o == "suid" || o == "nosuid" || o == "dev" ||
               o == "nodev" || o == "atime" || o == "noatime" || o == "relatime" ||
               o == "norelatime" || o == "strictatime" || o == "nostrictatime" ||
               o == "diratime" || o == "nodiratime" || o == "sync" || o == "async" ||
               o == "dirsync" || o == "mand" || o == "nomand" || o.starts_with("uid=") ||
               o.starts_with("gid=") || o.starts_with("nr_inodes=") ||
               o.starts_with("nr_blocks=") || o.starts_with("mpol=")) {
      m.tmpfs_options.push_back(o);
    } else {
      return Err(flag_error(kTmpfsFlag, text, fmt::format("invalid tmpfs option {}", quote(o))));
    }
  }
  return m;
}

namespace {

// The lines of an --env-file or --label-file, by Docker's rules: "KEY=value" verbatim, blank
// lines and # comments skipped, leading whitespace dropped. A bare KEY is kept as is, or with
// host_values replaced by "KEY=<the host's value>" (dropped when unset).
Result<std::vector<std::string>> key_value_lines(const std::string& path, std::string_view flag,
                                                 bool host_values) {
  auto content = read_file(path);
  if (!content) {
    Error e = content.error();
    e.context(fmt::format("{} {}", flag, path));
    return Err(e);
  }
  std::string_view text = *content;
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // UTF-8 BOM, as Docker
  std::vector<std::string> out;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view raw = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    // Leading whitespace is dropped; the rest of the line is kept verbatim.
    size_t start = 0;
    while (start < raw.size() && std::isspace(static_cast<unsigned char>(raw[start]))) ++start;
    std::string_view line = raw.substr(start);
    if (line.empty() || line.front() == '#') continue;
    auto eq = line.find('=');
    std::string key(line.substr(0, eq));
    if (eq == 0) {
      return Fail(ErrorCode::InvalidArgument, "{} {}: line {}: no variable name in {}", flag, path,
                  line_no, quote(line));
    }
    if (has_space(key)) {
      return Fail(ErrorCode::InvalidArgument, "{} {}: line {}: variable {} contains whitespaces",
                  flag, path, line_no, quote(key));
    }
    if (eq == std::string_view::npos && host_values) {
      if (auto v = host_env(key)) out.push_back(*v);
      continue;
    }
    out.emplace_back(line);
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> parse_env_file(const std::string& path) {
  return key_value_lines(path, "--env-file", true);
}

Result<void> parse_label_file(const std::string& path, std::map<std::string, std::string>& labels) {
  for (const auto& line : TRY(key_value_lines(path, "--label-file", false))) {
    auto eq = line.find('=');
    labels[line.substr(0, eq)] = eq == std::string::npos ? "" : line.substr(eq + 1);
  }
  return {};
}

Result<std::optional<std::string>> parse_env_flag(std::string_view text) {
  auto eq = text.find('=');
  std::string key(text.substr(0, eq));
  if (key.empty()) return Err(flag_error("-e, --env", text, "no variable name"));
  if (has_space(key)) {
    return Err(flag_error("-e, --env", text,
                          fmt::format("variable {} contains whitespaces", quote(key))));
  }
  if (eq == std::string_view::npos) return host_env(key);
  return std::optional<std::string>(std::string(text));
}

Result<int64_t> parse_memory_size(std::string_view text, std::string_view flag) {
  auto bad = [&] { return Err(flag_error(flag, text, fmt::format("invalid size: '{}'", text))); };
  // ^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0) return bad();
  size_t num_end = i;
  while (num_end < text.size() && text[num_end] == '.') {
    size_t j = num_end + 1;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
    if (j == num_end + 1) return bad();
    num_end = j;
  }
  std::string number(text.substr(0, num_end));
  std::string_view rest = text.substr(num_end);
  if (rest.starts_with(' ')) rest.remove_prefix(1);
  int64_t mult = 1;
  if (!rest.empty()) {
    switch (std::tolower(static_cast<unsigned char>(rest[0]))) {
      case 'k': mult = int64_t{1} << 10; rest.remove_prefix(1); break;
      case 'm': mult = int64_t{1} << 20; rest.remove_prefix(1); break;
      case 'g': mult = int64_t{1} << 30; rest.remove_prefix(1); break;
      case 't': mult = int64_t{1} << 40; rest.remove_prefix(1); break;
      case 'p': mult = int64_t{1} << 50; rest.remove_prefix(1); break;
      default: break;
    }
  }
  if (!rest.empty() && (rest[0] == 'i' || rest[0] == 'I')) rest.remove_prefix(1);
  if (!rest.empty() && (rest[0] == 'b' || rest[0] == 'B')) rest.remove_prefix(1);
  if (!rest.empty()) return bad();
  char* end = nullptr;
  double v = std::strtod(number.c_str(), &end);
  if (end == number.c_str() || !std::isfinite(v)) return bad();
  double bytes = v * static_cast<double>(mult);
  if (bytes >= 9.2e18) return Err(flag_error(flag, text, "size is too large"));
  return static_cast<int64_t>(bytes);
}

Result<int64_t> parse_cpus(std::string_view text) {
  std::string s(text);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v) || std::isspace(static_cast<unsigned char>(s[0]))) {
    return Err(flag_error("--cpus", text, "failed to parse as a number"));
  }
  if (v < 0) return Err(flag_error("--cpus", text, "CPUs can not be negative"));
  double nano = v * 1e9;
  if (nano > 1e15) return Err(flag_error("--cpus", text, "value is too large"));
  int64_t n = static_cast<int64_t>(std::llround(nano));
  if (v > 0 && n * 100000 / 1000000000 < 1000) {
    return Err(flag_error("--cpus", text, "the minimum is 0.01 CPUs"));
  }
  return n;
}

Result<Ulimit> parse_ulimit(std::string_view text) {
  static constexpr std::string_view kNames[] = {
      "as",   "core",   "cpu",    "data",  "fsize",  "locks",  "memlock",   "msgqueue",
      "nice", "nofile", "nproc",  "rss",   "rtprio", "rttime", "sigpending", "stack"};
  auto eq = text.find('=');
  if (eq == std::string_view::npos) {
    return Err(flag_error("--ulimit", text, "invalid ulimit argument: expected NAME=SOFT[:HARD]"));
  }
  Ulimit u;
  u.name = std::string(text.substr(0, eq));
  bool known = false;
  for (auto n : kNames) known = known || n == u.name;
  if (!known) return Err(flag_error("--ulimit", text, fmt::format("invalid ulimit type: {}", u.name)));
  auto limits = split(text.substr(eq + 1), ':');
  if (limits.size() > 2) {
    return Err(flag_error("--ulimit", text, "too many limit value arguments, expected SOFT[:HARD]"));
  }
  auto one = [&](const std::string& v) -> Result<uint64_t> {
    if (v == "-1" || v == "unlimited") return std::numeric_limits<uint64_t>::max();
    auto n = parse_uint(v, "limit");
    if (!n) return Err(flag_error("--ulimit", text, fmt::format("invalid ulimit value {}", quote(v))));
    return *n;
  };
  u.soft = TRY(one(limits[0]));
  u.hard = limits.size() == 2 ? TRY(one(limits[1])) : u.soft;
  if (u.soft > u.hard) {
    return Err(flag_error("--ulimit", text,
                          fmt::format("ulimit soft limit must be less than or equal to hard "
                                      "limit: {} > {}",
                                      limits[0], limits[1])));
  }
  return u;
}

Result<RestartPolicy> parse_restart(std::string_view text) {
  RestartPolicy p;
  auto colon = text.find(':');
  std::string_view name = text.substr(0, colon);
  if (name == "no" || name.empty()) {
    p.name = RestartName::No;
  } else if (name == "always") {
    p.name = RestartName::Always;
  } else if (name == "unless-stopped") {
    p.name = RestartName::UnlessStopped;
  } else if (name == "on-failure") {
    p.name = RestartName::OnFailure;
  } else {
    return Err(flag_error("--restart", text, fmt::format("invalid restart policy '{}'", name)));
  }
  if (colon != std::string_view::npos) {
    if (p.name != RestartName::OnFailure) {
      return Err(flag_error("--restart", text,
                            "maximum retry count can only be used with 'on-failure'"));
    }
    auto n = parse_int(text.substr(colon + 1), "retry count");
    if (!n || *n > 1000000) {
      return Err(flag_error("--restart", text, "maximum retry count must be an integer"));
    }
    if (*n < 0) return Err(flag_error("--restart", text, "maximum retry count cannot be negative"));
    p.max_retries = static_cast<int>(*n);
  }
  return p;
}

Result<int64_t> parse_duration(std::string_view text, std::string_view flag) {
  auto bad = [&] {
    return Err(flag_error(flag, text, fmt::format("time: invalid duration {}", quote(text))));
  };
  std::string_view s = text;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return bad();
  long double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (i == 0) return bad();
    std::string num(s.substr(0, i));
    if (num == "." || std::count(num.begin(), num.end(), '.') > 1) return bad();
    s.remove_prefix(i);
    size_t u = 0;
    while (u < s.size() && !std::isdigit(static_cast<unsigned char>(s[u])) && s[u] != '.') ++u;
    std::string_view unit = s.substr(0, u);
    s.remove_prefix(u);
    long double mult = 0;
    if (unit == "ns") mult = 1;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") mult = 1e3;
    else if (unit == "ms") mult = 1e6;
    else if (unit == "s") mult = 1e9;
    else if (unit == "m") mult = 60e9;
    else if (unit == "h") mult = 3600e9;
    else if (unit.empty()) {
      return Err(flag_error(flag, text, fmt::format("time: missing unit in duration {}", quote(text))));
    } else {
      return Err(flag_error(flag, text, fmt::format("time: unknown unit {} in duration {}",
                                                    quote(unit), quote(text))));
    }
    total += std::strtold(num.c_str(), nullptr) * mult;
    if (total > 9.22e18L) return bad();
  }
  auto ns = static_cast<int64_t>(std::llroundl(total));
  return neg ? -ns : ns;
}

Result<UserSpec> parse_user(std::string_view text) {
  auto parts = split(text, ':');
  if (text.empty() || parts.size() > 2 || parts[0].empty() || (parts.size() == 2 && parts[1].empty())) {
    return Err(flag_error("-u, --user", text, "expected uid[:gid] or name[:group]"));
  }
  for (const auto& p : parts) {
    if (has_space(p)) return Err(flag_error("-u, --user", text, "expected uid[:gid] or name[:group]"));
  }
  return UserSpec{parts[0], parts.size() == 2 ? parts[1] : ""};
}

Result<SecretRef> parse_secret_flag(std::string_view text) {
  constexpr std::string_view kFlag = "--secret";
  SecretRef s;
  bool first = true;
  for (auto& field : split(text, ',')) {
    if (field.empty()) continue;
    auto eq = field.find('=');
    if (eq == std::string::npos) {
      if (!first) {
        return Err(flag_error(kFlag, text, fmt::format("invalid field '{}' must be a key=value pair", field)));
      }
      s.name = field;
      first = false;
      continue;
    }
    first = false;
    std::string key = field.substr(0, eq), value = field.substr(eq + 1);
    if (key == "source" || key == "src") {
      s.name = value;
    } else if (key == "target") {
      if (value.empty()) return Err(flag_error(kFlag, text, "target is empty"));
      s.target = value;
    } else if (key == "uid" || key == "gid") {
      auto n = parse_uint(value, key);
      if (!n || *n > 0xFFFFFFFEu) return Err(flag_error(kFlag, text, fmt::format("invalid {} {}", key, quote(value))));
      (key == "uid" ? s.uid : s.gid) = static_cast<uint32_t>(*n);
    } else if (key == "mode") {
      auto m = parse_octal_mode(value);
      if (!m || *m > 0777) return Err(flag_error(kFlag, text, fmt::format("invalid mode {}", quote(value))));
      s.mode = *m;
    } else {
      return Err(flag_error(kFlag, text, fmt::format("unexpected key '{}' in '{}'", key, field)));
    }
  }
  if (s.name.empty()) return Err(flag_error(kFlag, text, "the secret name is required"));
  if (s.name.find('/') != std::string::npos || s.name == "." || s.name == "..") {
    return Err(flag_error(kFlag, text, fmt::format("invalid secret name {}", quote(s.name))));
  }
  if (!s.target.empty()) {
    std::string t = s.target.front() == '/' ? clean_path(s.target) : clean_path("/run/secrets/" + s.target);
    if (t == "/") return Err(flag_error(kFlag, text, "target can't be '/'"));
    s.target = t;
  }
  return s;
}

Result<void> parse_log_opt(std::string_view text, LogOptions& log) {
  constexpr std::string_view kFlag = "--log-opt";
  auto eq = text.find('=');
  if (eq == std::string_view::npos) {
    return Err(flag_error(kFlag, text, "invalid key value pair format in log options"));
  }
  std::string_view key = text.substr(0, eq), value = text.substr(eq + 1);
  if (key == "max-size") {
    if (value == "-1") {
      log.max_size = -1;
      return {};
    }
    auto n = parse_memory_size(value, kFlag);
    if (!n) return Err(flag_error(kFlag, text, fmt::format("invalid size: '{}'", value)));
    if (*n <= 0) return Err(flag_error(kFlag, text, "max-size must be a positive number"));
    log.max_size = *n;
    return {};
  }
  if (key == "max-file") {
    auto n = parse_int(value, "max-file");
    if (!n) return Err(flag_error(kFlag, text, fmt::format("invalid max-file {}", quote(value))));
    if (*n < 1 || *n > 1000) return Err(flag_error(kFlag, text, "max-file cannot be less than 1"));
    log.max_file = static_cast<int>(*n);
    return {};
  }
  return Err(flag_error(kFlag, text, fmt::format("unknown log opt '{}' for json-file log driver", key)));
}

Result<void> parse_security_opt(std::string_view text, RunOptions& opts) {
  constexpr std::string_view kFlag = "--security-opt";
  if (text == "no-new-privileges") {
    opts.no_new_privileges = true;
    return {};
  }
  auto sep = text.find_first_of("=:");
  if (sep == std::string_view::npos) {
    return Err(flag_error(kFlag, text, "invalid --security-opt: expected KEY=VALUE"));
  }
  std::string_view key = text.substr(0, sep), value = text.substr(sep + 1);
  if (key == "no-new-privileges") {
    auto b = parse_bool(value);
    if (!b) return Err(flag_error(kFlag, text, "invalid --security-opt 2: expected true or false"));
    opts.no_new_privileges = *b;
    return {};
  }
  if (key == "seccomp" && text[sep] == '=') {
    if (value.empty()) return Err(flag_error(kFlag, text, "seccomp needs a profile file or unconfined"));
    opts.seccomp_profile = value == "unconfined" ? std::string(value) : absolute_path(value);
    return {};
  }
  if (key == "apparmor" || key == "label" || key == "systempaths") {
    return Err(flag_error(kFlag, text, fmt::format("{} is not supported by berth", key)));
  }
  return Err(flag_error(kFlag, text, fmt::format("invalid --security-opt: {}", quote(text))));
}

Result<SecurityProfile> parse_security_profile(std::string_view text) {
  if (text == "default") return SecurityProfile::Default;
  if (text == "strict") return SecurityProfile::Strict;
  return Err(flag_error("--security-profile", text, "expected default or strict"));
}

Result<void> parse_label(std::string_view text, std::map<std::string, std::string>& labels) {
  auto eq = text.find('=');
  std::string key(text.substr(0, eq));
  if (key.empty()) return Err(flag_error("-l, --label", text, "the label key is empty"));
  labels[key] = eq == std::string_view::npos ? "" : std::string(text.substr(eq + 1));
  return {};
}

Result<void> parse_sysctl(std::string_view text, std::map<std::string, std::string>& sysctls) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return Err(flag_error("--sysctl", text, "expected key=value"));
  }
  std::string key(trim(text.substr(0, eq)));
  // The IPC namespace's parameters, and the network namespace's.
  static constexpr std::string_view kIpc[] = {
      "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
      "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
  bool namespaced = std::find(std::begin(kIpc), std::end(kIpc), key) != std::end(kIpc) ||
                    key.starts_with("fs.mqueue.") || key.starts_with("net.");
  if (!namespaced || key.find('/') != std::string::npos || key.find("..") != std::string::npos) {
    return Err(flag_error("--sysctl", text,
                          fmt::format("sysctl '{}' is not allowed: only the IPC (kernel.msg*, "
                                      "kernel.sem, kernel.shm*, fs.mqueue.*) and network (net.*) "
                                      "parameters of the container's namespaces can be set",
                                      key)));
  }
  sysctls[key] = std::string(text.substr(eq + 1));
  return {};
}

Result<int> parse_oom_score_adj(std::string_view text) {
  auto n = parse_int(text, "--oom-score-adj");
  if (!n) return Err(flag_error("--oom-score-adj", text, "invalid syntax"));
  if (*n < -1000 || *n > 1000) {
    return Err(flag_error("--oom-score-adj", text, "the range is [-1000, 1000]"));
  }
  return static_cast<int>(*n);
}

Result<DeviceRate> parse_device_rate(std::string_view text, std::string_view flag, bool bytes) {
  auto colon = text.rfind(':');
  auto expected = [&] {
    return Err(flag_error(flag, text,
                          bytes ? "expected <device-path>:<number>[<unit>], the unit kb, mb or gb"
                                : "expected <device-path>:<number>"));
  };
  if (colon == std::string_view::npos || colon == 0) return expected();
  DeviceRate d{std::string(text.substr(0, colon)), 0};
  if (d.path.front() != '/') return Err(flag_error(flag, text, "the device path must be absolute"));
  std::string_view rate = text.substr(colon + 1);
  if (bytes) {
    auto n = parse_memory_size(rate, flag);
    if (!n || *n <= 0) return expected();
    d.rate = static_cast<uint64_t>(*n);
  } else {
    auto n = parse_int(rate, flag);
    if (!n || *n <= 0) return expected();
    d.rate = static_cast<uint64_t>(*n);
  }
  return d;
}

}  // namespace berth::engine
