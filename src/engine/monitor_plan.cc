// MonitorPlan on the wire between the setup child and the monitor: "key=value" lines, the
// healthcheck's arguments with '%' and newlines escaped.
#include "base/strings.h"
#include "engine/monitor_internal.h"
#include "store/container_records.h"

namespace berth::engine {
namespace {

std::string escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '%') out += "%25";
    else if (c == '\n') out += "%0A";
    else out += c;
  }
  return out;
}

std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && s.substr(i, 3) == "%25") out += '%', i += 2;
    else if (s[i] == '%' && s.substr(i, 3) == "%0A") out += '\n', i += 2;
    else out += s[i];
  }
  return out;
}

}  // namespace

std::string encode_plan(const MonitorPlan& p) {
  std::string out = fmt::format(
      "pid={}\ntty={}\ninteractive={}\nauto_remove={}\nrestart={}\nmax_retries={}\nlog_max_size={}\n"
      "log_max_file={}\nhealth_interval={}\nhealth_timeout={}\nhealth_start_period={}\n"
      "health_start_interval={}\nhealth_retries={}\noom_before={}\noom_events={}\n",
      p.pid, int(p.tty), int(p.interactive), int(p.auto_remove), int(p.restart.name), p.restart.max_retries,
      p.log_max_size, p.log_max_file, p.health_interval, p.health_timeout, p.health_start_period,
      p.health_start_interval, p.health_retries, p.oom_before, escape(p.oom_events));
  for (const auto& a : p.health_argv) out += "health_arg=" + escape(a) + "\n";
  return out;
}

std::string encode_record(const store::ContainerRecord& r) {
  return fmt::format("{}\n{}\n{}\n{}\n{}\n{}", r.id, r.name, r.image_id, r.created, r.state, r.config);
}

Result<store::ContainerRecord> decode_record(std::string_view text) {
  auto lines = split(text, '\n');
  if (lines.size() != 6 || lines[0].empty()) return Fail(ErrorCode::Internal, "container record: {} lines, not 6", lines.size());
  store::ContainerRecord r;
  r.id = lines[0];
  r.name = lines[1];
  r.image_id = lines[2];
  r.created = lines[3];
  r.state = lines[4];
  r.config = lines[5];
  return r;
}

Result<MonitorPlan> decode_plan(std::string_view text) {
  MonitorPlan p;
  for (const auto& line : split(text, '\n')) {
    if (line.empty()) continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) return Fail(ErrorCode::Internal, "monitor plan: bad line {}", quote(line));
    std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "health_arg") {
      p.health_argv.push_back(unescape(value));
      continue;
    }
    if (key == "oom_events") {
      p.oom_events = unescape(value);
      continue;
    }
    int64_t n = TRY(parse_int(value, "monitor plan " + key));
    if (key == "pid") p.pid = static_cast<pid_t>(n);
    else if (key == "tty") p.tty = n != 0;
    else if (key == "interactive") p.interactive = n != 0;
    else if (key == "auto_remove") p.auto_remove = n != 0;
    else if (key == "restart") p.restart.name = static_cast<RestartName>(n);
    else if (key == "max_retries") p.restart.max_retries = static_cast<int>(n);
    else if (key == "log_max_size") p.log_max_size = n;
    else if (key == "log_max_file") p.log_max_file = static_cast<int>(n);
    else if (key == "health_interval") p.health_interval = n;
    else if (key == "health_timeout") p.health_timeout = n;
    else if (key == "health_start_period") p.health_start_period = n;
    else if (key == "health_start_interval") p.health_start_interval = n;
    else if (key == "health_retries") p.health_retries = static_cast<int>(n);
    else if (key == "oom_before") p.oom_before = n;
  }
  return p;
}

}  // namespace berth::engine
