#include "base/log.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace berth::log {
namespace {

int g_fd = 2;
bool g_json = false;
bool g_debug = false;

const char* level_name(Level level) {
  switch (level) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warning";
    case Level::Error: return "error";
  }
  return "info";
}

}  // namespace

void configure(const std::string& path, bool json, bool debug) {
  g_json = json;
  g_debug = debug;
  if (!path.empty()) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) g_fd = fd;
  }
}

void write(Level level, std::string_view msg) {
  if (level == Level::Debug && !g_debug) return;
  std::string line;
  if (g_json) {
    timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    char buf[64];
    tm t;
    ::gmtime_r(&ts.tv_sec, &t);
    ::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &t);
    nlohmann::json j{{"level", level_name(level)}, {"msg", msg},
                     {"time", fmt::format("{}.{:09d}Z", buf, ts.tv_nsec)}};
    line = j.dump() + "\n";
  } else {
    line = fmt::format("berth: {}{}\n", level == Level::Error ? "" : fmt::format("{}: ", level_name(level)), msg);
  }
  (void)!::write(g_fd, line.data(), line.size());
}

}  // namespace berth::log
