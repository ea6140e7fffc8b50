// Docker's plain progress output for `berth build`.
#include <fmt/format.h>

#include "base/strings.h"
#include "build/build_internal.h"

namespace berth::build::detail {

std::mutex& stdio_mutex() {
  static std::mutex mu;
  return mu;
}

void Progress::emit(const std::string& line) {
  if (!out_) return;
  std::lock_guard lock(stdio_mutex());
  out_(line);
}

int Progress::start(const std::string& name) {
  std::lock_guard lock(mu_);
  int n = next_++;
  started_[n] = Clock::now();
  emit(fmt::format("#{} {}", n, name));
  return n;
}

void Progress::log(int vertex, std::string_view text) {
  std::lock_guard lock(mu_);
  double t = std::chrono::duration<double>(Clock::now() - started_[vertex]).count();
  for (const auto& l : split(text, '\n')) emit(fmt::format("#{} {:.3f} {}", vertex, t, l));
}

void Progress::cached(int vertex) {
  std::lock_guard lock(mu_);
  emit(fmt::format("#{} CACHED", vertex));
}

void Progress::done(int vertex) {
  std::lock_guard lock(mu_);
  double t = std::chrono::duration<double>(Clock::now() - started_[vertex]).count();
  emit(fmt::format("#{} DONE {:.1f}s", vertex, t));
}

void Progress::error(int vertex, const std::string& message) {
  std::lock_guard lock(mu_);
  emit(fmt::format("#{} ERROR: {}", vertex, message));
}

void Progress::line(int vertex, const std::string& text) {
  std::lock_guard lock(mu_);
  emit(fmt::format("#{} {}", vertex, text));
}

}  // namespace berth::build::detail
