#include "cli/progress_display.h"

#include <unistd.h>

#include <iostream>

#include "cli/output.h"

namespace berth::cli {

ProgressDisplay::ProgressDisplay(bool quiet) : quiet_(quiet), tty_(::isatty(STDOUT_FILENO) == 1) {}

image::ProgressSink ProgressDisplay::sink() {
  if (quiet_) return {};
  return [this](const image::ProgressEvent& e) { on_event(e); };
}

std::string ProgressDisplay::describe(const image::ProgressEvent& e) const {
  std::string text = std::string(image::to_string(e.phase));
  bool moving = e.phase == image::ProgressPhase::Downloading || e.phase == image::ProgressPhase::Pushing ||
                e.phase == image::ProgressPhase::Extracting || e.phase == image::ProgressPhase::Loading;
  if (!moving || !tty_) return text;
  if (e.total > 0) {
    constexpr int kWidth = 50;
    int filled = static_cast<int>(kWidth * std::min<int64_t>(e.current, e.total) / e.total);
    std::string bar = "[" + std::string(filled, '=') + (filled < kWidth ? ">" : "") +
                      std::string(kWidth - filled - (filled < kWidth ? 1 : 0), ' ') + "]";
    return text + " " + bar + "  " + human_size(e.current) + "/" + human_size(e.total);
  }
  return e.current > 0 ? text + "  " + human_size(e.current) : text;
}

void ProgressDisplay::on_event(const image::ProgressEvent& e) {
  std::lock_guard lock(mu_);
  Line* line = nullptr;
  for (auto& l : lines_)
    if (l.id == e.id) line = &l;
  bool phase_changed = !line || line->last.phase != e.phase;
  if (!line) {
    lines_.push_back({e.id, e});
    line = &lines_.back();
  }
  line->last = e;
  if (!tty_) {
    if (phase_changed) std::cout << e.id << ": " << describe(e) << "\n" << std::flush;
    return;
  }
  auto now = std::chrono::steady_clock::now();
  if (phase_changed || now - last_draw_ > std::chrono::milliseconds(100)) {
    redraw();
    last_draw_ = now;
  }
}

void ProgressDisplay::redraw() {
  std::string out;
  if (drawn_ > 0) out += "\x1b[" + std::to_string(drawn_) + "A";
  for (const auto& l : lines_) out += "\x1b[2K" + l.id + ": " + describe(l.last) + "\n";
  drawn_ = lines_.size();
  std::cout << out << std::flush;
}

void ProgressDisplay::finish() {
  std::lock_guard lock(mu_);
  if (tty_ && !lines_.empty()) redraw();
}

}  // namespace berth::cli
