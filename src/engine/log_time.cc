// Timestamps of json-file logs: RFC3339 formatting and parsing, and the --since/--until
// values Docker accepts (Go durations, RFC3339-like times, Unix seconds).
#include <time.h>

#include <cstdint>
#include <limits>

#include "base/strings.h"
#include "engine/log_file.h"

namespace berth::engine {

namespace chr = std::chrono;

namespace {

std::string format_time(LogTime t, bool fixed) {
  auto days = chr::floor<chr::days>(t);
  chr::year_month_day ymd{chr::sys_days(days)};
  chr::hh_mm_ss<chr::nanoseconds> hms{t - days};
  std::string frac = fmt::format("{:09d}", hms.subseconds().count());
  if (!fixed) {
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
  }
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}{}{}Z", int(ymd.year()),
                     unsigned(ymd.month()), unsigned(ymd.day()), hms.hours().count(),
                     hms.minutes().count(), hms.seconds().count(), frac.empty() ? "" : ".",
                     frac);
}

// A cursor over the text being parsed.
struct Scanner {
  std::string_view s;
  size_t i = 0;

  bool done() const { return i == s.size(); }
  bool eat(char c) {
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  // Exactly n digits.
  std::optional<int> digits(size_t n) {
    if (s.size() - i < n) return std::nullopt;
    int v = 0;
    for (size_t k = 0; k < n; ++k) {
      char c = s[i + k];
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + (c - '0');
    }
    i += n;
    return v;
  }
  // One or more digits as nanoseconds of a fraction; digits past the ninth are dropped.
  std::optional<int64_t> fraction() {
    size_t start = i;
    int64_t ns = 0;
    int count = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (count < 9) {
        ns = ns * 10 + (s[i] - '0');
        ++count;
      }
      ++i;
    }
    if (i == start) return std::nullopt;
    for (; count < 9; ++count) ns *= 10;
    return ns;
  }
};

// The parts of an RFC3339-like time; zone_offset is nullopt when no zone was written.
struct CivilTime {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  int64_t nanos = 0;
  std::optional<int> zone_offset;  // seconds east of UTC
};

// "2006-01-02" [ "T15" [ ":04" [ ":05" [ ".999999999" ] ] ] ] [ "Z" | "+07:00" ].
// require_seconds asks for a full RFC3339 time (the "time" field of entries).
std::optional<CivilTime> parse_civil(std::string_view s, bool require_seconds) {
  Scanner sc{s};
  CivilTime c;
  auto y = sc.digits(4);
  if (!y || !sc.eat('-')) return std::nullopt;
  auto mo = sc.digits(2);
  if (!mo || !sc.eat('-')) return std::nullopt;
  auto d = sc.digits(2);
  if (!d) return std::nullopt;
  c.year = *y, c.month = *mo, c.day = *d;
  bool has_seconds = false;
  if (sc.eat('T') || sc.eat('t')) {
    auto h = sc.digits(2);
    if (!h) return std::nullopt;
    c.hour = *h;
    if (sc.eat(':')) {
      auto mi = sc.digits(2);
      if (!mi) return std::nullopt;
      c.minute = *mi;
      if (sc.eat(':')) {
        auto se = sc.digits(2);
        if (!se) return std::nullopt;
        c.second = *se;
        has_seconds = true;
        if (sc.eat('.') || sc.eat(',')) {
          auto ns = sc.fraction();
          if (!ns) return std::nullopt;
          c.nanos = *ns;
        }
      }
    }
  }
  if (require_seconds && !has_seconds) return std::nullopt;
  if (sc.eat('Z') || sc.eat('z')) {
    c.zone_offset = 0;
  } else if (!sc.done() && (s[sc.i] == '+' || s[sc.i] == '-')) {
    int sign = s[sc.i] == '-' ? -1 : 1;
    ++sc.i;
    auto zh = sc.digits(2);
    if (!zh || !sc.eat(':')) return std::nullopt;
    auto zm = sc.digits(2);
    if (!zm || *zh > 23 || *zm > 59) return std::nullopt;
    c.zone_offset = sign * (*zh * 3600 + *zm * 60);
  } else if (require_seconds) {
    return std::nullopt;
  }
  if (!sc.done()) return std::nullopt;
  if (c.hour > 23 || c.minute > 59 || c.second > 59) return std::nullopt;
  chr::year_month_day ymd{chr::year(c.year), chr::month(static_cast<unsigned>(c.month)),
                          chr::day(static_cast<unsigned>(c.day))};
  if (!ymd.ok()) return std::nullopt;
  return c;
}

LogTime to_log_time(const CivilTime& c, int zone_offset) {
  chr::year_month_day ymd{chr::year(c.year), chr::month(static_cast<unsigned>(c.month)),
                          chr::day(static_cast<unsigned>(c.day))};
  auto t = LogTime(chr::sys_days(ymd)) + chr::hours(c.hour) + chr::minutes(c.minute) +
           chr::seconds(c.second) + chr::nanoseconds(c.nanos);
  return t - chr::seconds(zone_offset);
}

// The local zone's offset from UTC now: Go's time.FixedZone(now.Zone()).
int local_offset(LogTime now) {
  time_t secs = chr::system_clock::to_time_t(chr::time_point_cast<chr::system_clock::duration>(now));
  struct tm tm {};
  if (localtime_r(&secs, &tm) == nullptr) return 0;
  return static_cast<int>(tm.tm_gmtoff);
}

// Unix "seconds[.fraction]" as Docker's timetypes.ParseTimestamps reads it.
std::optional<LogTime> parse_unix(std::string_view s) {
  Scanner sc{s};
  size_t start = sc.i;
  int64_t secs = 0;
  while (!sc.done() && s[sc.i] >= '0' && s[sc.i] <= '9') {
    if (secs > (std::numeric_limits<int64_t>::max() / 1'000'000'000 - 9) / 10) return std::nullopt;
    secs = secs * 10 + (s[sc.i] - '0');
    ++sc.i;
  }
  if (sc.i == start) return std::nullopt;
  int64_t nanos = 0;
  if (sc.eat('.')) {
    auto ns = sc.fraction();
    if (!ns) return std::nullopt;
    nanos = *ns;
  }
  if (!sc.done()) return std::nullopt;
  return LogTime(chr::seconds(secs) + chr::nanoseconds(nanos));
}

}  // namespace

std::string format_time_rfc3339nano(LogTime t) { return format_time(t, false); }
std::string format_time_fixed(LogTime t) { return format_time(t, true); }

std::optional<LogTime> parse_time_rfc3339(std::string_view s) {
  auto c = parse_civil(s, true);
  if (!c) return std::nullopt;
  return to_log_time(*c, *c->zone_offset);
}

std::optional<chr::nanoseconds> parse_go_duration(std::string_view s) {
  // Follows time.ParseDuration: [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return chr::nanoseconds(0);
  if (s.empty()) return std::nullopt;
  constexpr uint64_t kMax = uint64_t{1} << 63;
  uint64_t total = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || (s[0] >= '0' && s[0] <= '9'))) return std::nullopt;
    uint64_t v = 0;
    size_t i = 0;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      if (v > (kMax - 9) / 10) return std::nullopt;
      v = v * 10 + static_cast<uint64_t>(s[i] - '0');
    }
    bool pre = i > 0;
    s.remove_prefix(i);
    uint64_t f = 0;
    double scale = 1;
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      size_t k = 0;
      bool overflow = false;
      for (; k < s.size() && s[k] >= '0' && s[k] <= '9'; ++k) {
        if (overflow) continue;
        if (f > (kMax - 9) / 10) {
          overflow = true;  // Go drops the digits it cannot hold
          continue;
        }
        f = f * 10 + static_cast<uint64_t>(s[k] - '0');
        scale *= 10;
      }
      post = k > 0;
      s.remove_prefix(k);
    }
    if (!pre && !post) return std::nullopt;
    size_t u = 0;
    while (u < s.size() && s[u] != '.' && !(s[u] >= '0' && s[u] <= '9')) ++u;
    if (u == 0) return std::nullopt;
    std::string_view unit_name = s.substr(0, u);
    s.remove_prefix(u);
    uint64_t unit = 0;
    if (unit_name == "ns") {
      unit = 1;
    } else if (unit_name == "us" || unit_name == "\xC2\xB5s" || unit_name == "\xCE\xBCs") {
      unit = 1'000;
    } else if (unit_name == "ms") {
      unit = 1'000'000;
    } else if (unit_name == "s") {
      unit = 1'000'000'000;
    } else if (unit_name == "m") {
      unit = 60'000'000'000;
    } else if (unit_name == "h") {
      unit = 3'600'000'000'000;
    } else {
      return std::nullopt;
    }
    if (v > kMax / unit) return std::nullopt;
    v *= unit;
    if (f > 0) {
      v += static_cast<uint64_t>(static_cast<double>(f) * (static_cast<double>(unit) / scale));
      if (v > kMax) return std::nullopt;
    }
    total += v;
    if (total > kMax) return std::nullopt;
  }
  if (neg) return chr::nanoseconds(static_cast<int64_t>(0 - total));
  if (total > kMax - 1) return std::nullopt;
  return chr::nanoseconds(static_cast<int64_t>(total));
}

Result<LogTime> parse_log_time(std::string_view value, LogTime now, std::string_view what) {
  if (value != "0") {
    if (auto d = parse_go_duration(value)) return now - *d;
  }
  if (auto c = parse_civil(value, false)) {
    return to_log_time(*c, c->zone_offset ? *c->zone_offset : local_offset(now));
  }
  if (value.find('-') == std::string_view::npos) {
    if (auto t = parse_unix(value)) return *t;
  }
  return Fail(ErrorCode::InvalidArgument,
              "invalid value for {}: failed to parse value as time or duration: {}", what,
              quote(value));
}

}  // namespace berth::engine
