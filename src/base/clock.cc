#include "base/clock.h"

#include <fmt/core.h>
#include <time.h>

namespace berth {

std::string now_rfc3339() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  ::gmtime_r(&ts.tv_sec, &t);
  char buf[64];
  size_t n = ::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &t);
  return fmt::format("{}.{:09d}Z", std::string_view(buf, n), ts.tv_nsec);
}

}  // namespace berth
