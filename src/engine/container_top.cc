#include "engine/container_top.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <optional>
#include <regex>
#include <set>

#include "base/fs.h"
#include "base/process.h"
#include "base/strings.h"
#include "base/unique_fd.h"

namespace berth::engine {
namespace {

// Host facts every row needs, read once per call.
struct HostClock {
  long hertz = 100;
  long long boot_time = 0;  // /proc/stat btime, seconds since the epoch
  long long uptime = 0;     // /proc/uptime, whole seconds
  time_t now = 0;
};

Result<HostClock> read_host_clock() {
  HostClock clock;
  clock.hertz = ::sysconf(_SC_CLK_TCK);
  if (clock.hertz <= 0) clock.hertz = 100;
  std::string stat = TRY(read_file("/proc/stat"));
  auto at = stat.find("\nbtime ");
  if (at == std::string::npos) return Fail(ErrorCode::Internal, "read /proc/stat: no btime line");
  auto end = stat.find('\n', at + 1);
  clock.boot_time =
      TRY_CTX("read /proc/stat",
              parse_int(trim(std::string_view(stat).substr(at + 7, end - at - 7)), "btime"));
  std::string uptime = TRY(read_file("/proc/uptime"));
  clock.uptime = std::strtoll(uptime.c_str(), nullptr, 10);
  clock.now = ::time(nullptr);
  return clock;
}

// uid -> name from the host's /etc/passwd (first entry wins, as getpwuid does).
std::map<uint32_t, std::string> read_passwd() {
  std::map<uint32_t, std::string> names;
  auto text = read_file("/etc/passwd");
  if (!text) return names;
  for (const auto& line : split(*text, '\n')) {
    auto fields = split(line, ':');
    if (fields.size() < 3 || fields[0].empty()) continue;
    auto uid = parse_uint(fields[2], "uid");
    if (uid && *uid <= UINT32_MAX) names.emplace(static_cast<uint32_t>(*uid), fields[0]);
  }
  return names;
}

// ps's UID column: the name, cut to 7 characters and "+" past 8, or the number.
std::string user_column(uint32_t uid, const std::map<uint32_t, std::string>& names) {
  auto it = names.find(uid);
  if (it == names.end()) return std::to_string(uid);
  if (it->second.size() > 8) return it->second.substr(0, 7) + "+";
  return it->second;
}

// ps's TTY column from stat's tty_nr.
std::string tty_column(unsigned long long tty_nr) {
  if (tty_nr == 0) return "?";
  dev_t dev = static_cast<dev_t>(tty_nr);
  unsigned major = ::major(dev), minor = ::minor(dev);
  if (major >= 136 && major <= 143) return "pts/" + std::to_string(minor + (major - 136) * 256);
  if (major == 4)
    return minor < 64 ? "tty" + std::to_string(minor) : "ttyS" + std::to_string(minor - 64);
  if (major == 5 && minor == 1) return "console";
  if (major == 5 && minor == 0) return "tty";
  return "?";
}

// ps's TIME column: [DD-]HH:MM:SS.
std::string cpu_time_column(unsigned long long seconds) {
  unsigned long long ss = seconds % 60, mm = seconds / 60 % 60, hh = seconds / 3600 % 24,
                     dd = seconds / 86400;
  if (dd > 0) return fmt::format("{}-{:02}:{:02}:{:02}", dd, hh, mm, ss);
  return fmt::format("{:02}:{:02}:{:02}", hh, mm, ss);
}

// ps's STIME column: "HH:MM" today, "MonDD" earlier this year, else the year.
std::string start_time_column(time_t started, time_t now) {
  struct tm start_tm {
  }, now_tm{};
  ::localtime_r(&started, &start_tm);
  ::localtime_r(&now, &now_tm);
  const char* format = "%H:%M";
  if (start_tm.tm_yday != now_tm.tm_yday) format = "%b%d";
  if (start_tm.tm_year != now_tm.tm_year) format = "%Y";
  char buf[32];
  size_t n = ::strftime(buf, sizeof(buf), format, &start_tm);
  return std::string(buf, n);
}

// A file under /proc/<pid>; nullopt when the process is gone (ENOENT, ESRCH).
Result<std::optional<std::string>> read_proc(int pid_dir, const char* name) {
  int fd = ::openat(pid_dir, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ESRCH) return std::nullopt;
    return FailErrno(errno, "open {}", name);
  }
  UniqueFd owned(fd);
  auto text = read_all(owned.get());
  if (!text) {
    if (text.error().sys_errno() == ESRCH || text.error().sys_errno() == ENOENT)
      return std::nullopt;
    return Err(text.error().context(fmt::format("read {}", name)));
  }
  return std::optional<std::string>(std::move(*text));
}

// One `ps -ef` row for pid; nullopt when the process vanished while being read.
Result<std::optional<std::vector<std::string>>> proc_row(
    pid_t pid, const HostClock& clock, const std::map<uint32_t, std::string>& users) {
  std::string dir = fmt::format("/proc/{}", pid);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    if (errno == ENOENT || errno == ESRCH) return std::nullopt;
    return FailErrno(errno, "open {}", dir);
  }
  UniqueFd pid_dir(dfd);
  auto stat = TRY_CTX(dir, read_proc(pid_dir.get(), "stat"));
  auto status = TRY_CTX(dir, read_proc(pid_dir.get(), "status"));
  auto cmdline = TRY_CTX(dir, read_proc(pid_dir.get(), "cmdline"));
  if (!stat || !status || !cmdline) return std::nullopt;

  // "pid (comm) state ppid ...": comm may hold spaces and ')', so cut at the last ')'.
  auto open = stat->find('(');
  auto close = stat->rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open)
    return Fail(ErrorCode::Internal, "parse {}/stat: no (comm)", dir);
  std::string comm = stat->substr(open + 1, close - open - 1);
  std::vector<std::string> fields;
  for (auto& f : split(trim(std::string_view(*stat).substr(close + 1)), ' '))
    if (!f.empty()) fields.push_back(std::move(f));
  // Fields from "state" (field 3 of proc(5)) on: field N is fields[N - 3].
  if (fields.size() < 20) return Fail(ErrorCode::Internal, "parse {}/stat: too few fields", dir);
  auto field = [&](int n) {
    return std::strtoull(fields[static_cast<size_t>(n - 3)].c_str(), nullptr, 10);
  };
  char state = fields[0].empty() ? '?' : fields[0][0];
  unsigned long long ppid = field(4), tty_nr = field(7), utime = field(14), stime = field(15),
                     start_ticks = field(22);

  uint32_t euid = 0;
  for (const auto& line : split(*status, '\n')) {
    if (!starts_with(line, "Uid:")) continue;
    std::vector<std::string> ids;
    for (auto& part : split(line.substr(4), '\t'))
      if (!trim(part).empty()) ids.emplace_back(trim(part));
    if (ids.size() >= 2) euid = static_cast<uint32_t>(std::strtoul(ids[1].c_str(), nullptr, 10));
  }

  unsigned long long hertz = static_cast<unsigned long long>(clock.hertz);
  unsigned long long cpu_ticks = utime + stime;
  long long age = clock.uptime - static_cast<long long>(start_ticks / hertz);
  unsigned long long pcpu =
      age > 0 ? cpu_ticks * 100 / hertz / static_cast<unsigned long long>(age) : 0;
  if (pcpu > 99) pcpu = 99;
  time_t started =
      static_cast<time_t>(clock.boot_time + static_cast<long long>(start_ticks / hertz));

  std::string cmd = *cmdline;
  while (!cmd.empty() && cmd.back() == '\0') cmd.pop_back();
  for (char& c : cmd) {
    if (c == '\0')
      c = ' ';
    else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      c = '?';
  }
  if (cmd.empty()) cmd = "[" + comm + "]" + (state == 'Z' ? " <defunct>" : "");

  return std::optional<std::vector<std::string>>(
      std::vector<std::string>{user_column(euid, users), std::to_string(pid), std::to_string(ppid),
                               std::to_string(pcpu), start_time_column(started, clock.now),
                               tty_column(tty_nr), cpu_time_column(cpu_ticks / hertz), cmd});
}

Result<ProcessTable> proc_table(const std::vector<pid_t>& pids) {
  HostClock clock = TRY_CTX("top", read_host_clock());
  auto users = read_passwd();
  ProcessTable table;
  table.titles = {"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"};
  std::set<pid_t> ordered(pids.begin(), pids.end());
  for (pid_t pid : ordered) {
    if (pid <= 0) continue;
    auto row = TRY_CTX("top", proc_row(pid, clock, users));
    if (row) table.processes.push_back(std::move(*row));
  }
  return table;
}

// ps's words: split on ASCII blanks as Docker's fieldsASCII does.
std::vector<std::string> fields_ascii(std::string_view line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) out.emplace_back(line.substr(start, i - start));
  }
  return out;
}

struct PsRun {
  int status = 0;
  std::string out;
  std::string err;
};

// Runs ps with args, stdout through a pipe and stderr into a memfd (no deadlock on either).
Result<PsRun> run_ps(const std::vector<std::string>& args) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return FailErrno(errno, "pipe");
  UniqueFd out_r(p[0]), out_w(p[1]);
  int efd = ::memfd_create("berth-ps-stderr", MFD_CLOEXEC);
  if (efd < 0) return FailErrno(errno, "memfd_create");
  UniqueFd err_fd(efd);
  SpawnOptions opts;
  opts.argv = {"ps"};
  opts.argv.insert(opts.argv.end(), args.begin(), args.end());
  opts.stdout_fd = out_w.get();
  opts.stderr_fd = err_fd.get();
  auto child = spawn(opts);
  if (!child) {
    if (child.error().sys_errno() == ENOENT)
      return Fail(ErrorCode::Unavailable, "ps not found: install procps");
    return Err(child.error());
  }
  out_w.reset();
  PsRun run;
  run.out = TRY(read_all(out_r.get()));
  run.status = TRY(child->wait());
  if (::lseek(err_fd.get(), 0, SEEK_SET) == 0) run.err = TRY(read_all(err_fd.get()));
  return run;
}

// Docker's validatePSArgs: a column may not be renamed to PID (it would fool the filter).
Result<void> check_ps_args(const std::vector<std::string>& args) {
  static const std::regex rename(R"(\s+([^\s]*)=\s*(PID[^\s]*))");
  std::string text = " " + join(args, " ");
  for (std::sregex_iterator it(text.begin(), text.end(), rename), end; it != end; ++it) {
    if ((*it)[1].str() != "pid")
      return Fail(ErrorCode::InvalidArgument, "specifying \"{}={}\" is not allowed", (*it)[1].str(),
                  (*it)[2].str());
  }
  return {};
}

// Docker's parsePSOutput: keep the rows of pids (and the thread lines "-" that follow one),
// merging cells past the last title into it (CMD holds spaces).
Result<ProcessTable> parse_ps_output(std::string_view output, const std::vector<pid_t>& pids,
                                     std::string_view args) {
  auto lines = split(output, '\n');
  ProcessTable table;
  if (!lines.empty()) table.titles = fields_ascii(lines[0]);
  auto pid_at = std::find(table.titles.begin(), table.titles.end(), "PID");
  if (pid_at == table.titles.end())
    return Fail(ErrorCode::Internal, "ps {}: couldn't find PID field in ps output", args);
  size_t pid_index = static_cast<size_t>(pid_at - table.titles.begin());
  std::set<pid_t> wanted(pids.begin(), pids.end());
  auto append = [&](std::vector<std::string> fields) {
    size_t last = table.titles.size() - 1;
    if (fields.size() > last) {
      std::vector<std::string> rest(fields.begin() + static_cast<long>(last), fields.end());
      fields.resize(last);
      fields.push_back(join(rest, " "));
    }
    fields.resize(table.titles.size());
    table.processes.push_back(std::move(fields));
  };
  bool in_wanted = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    auto fields = fields_ascii(lines[i]);
    if (fields.empty()) continue;
    if (fields.size() <= pid_index) {
      in_wanted = false;
      continue;
    }
    if (fields[pid_index] == "-") {
      if (in_wanted) append(std::move(fields));
      continue;
    }
    auto pid = parse_int(fields[pid_index], "pid");
    if (!pid)
      return Fail(ErrorCode::Internal, "ps {}: unexpected pid {}", args, quote(fields[pid_index]));
    in_wanted = wanted.count(static_cast<pid_t>(*pid)) > 0;
    if (in_wanted) append(std::move(fields));
  }
  return table;
}

Result<ProcessTable> ps_table(const std::vector<pid_t>& pids,
                              const std::vector<std::string>& args) {
  std::string shown = join(args, " ");
  TRY_CTX(fmt::format("top: ps {}", shown), check_ps_args(args));
  // Like docker top: ask ps for just these pids with -q; options that refuse -q (forest
  // listings) get a second run without it.
  std::vector<std::string> quick = args;
  if (!pids.empty()) {
    std::vector<std::string> listed;
    for (pid_t pid : pids) listed.push_back(std::to_string(pid));
    quick.push_back("-q");
    quick.push_back(join(listed, ","));
  }
  PsRun run = TRY_CTX("top", run_ps(quick));
  if (!WIFEXITED(run.status) || WEXITSTATUS(run.status) != 0) {
    if (!pids.empty()) run = TRY_CTX("top", run_ps(args));
    if (!WIFEXITED(run.status) || WEXITSTATUS(run.status) != 0) {
      std::string why = std::string(trim(split(run.err, '\n').front()));
      if (why.empty()) why = fmt::format("exit status {}", exit_code_from_status(run.status));
      return Fail(ErrorCode::InvalidArgument, "top: ps {}: {}", shown, why);
    }
  }
  return TRY_CTX("top", parse_ps_output(run.out, pids, shown));
}

}  // namespace

Result<ProcessTable> container_top(const std::vector<pid_t>& pids,
                                   const std::vector<std::string>& ps_args) {
  if (ps_args.empty()) return proc_table(pids);
  return ps_table(pids, ps_args);
}

}  // namespace berth::engine
