// Docker's per-layer progress lines for pull, push and load. On a terminal the block of lines
// is redrawn in place (at most ten times a second); otherwise a line is printed each time a
// layer changes phase, so logs stay readable.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "image/progress.h"

namespace berth::cli {

class ProgressDisplay {
 public:
  explicit ProgressDisplay(bool quiet);
  // The sink to hand to the engine; safe to call from transfer threads.
  image::ProgressSink sink();
  // Draws the final state.
  void finish();

 private:
  struct Line {
    std::string id;
    image::ProgressEvent last;
  };
  void on_event(const image::ProgressEvent& e);
  void redraw();
  std::string describe(const image::ProgressEvent& e) const;

  bool quiet_;
  bool tty_;
  std::mutex mu_;
  std::vector<Line> lines_;
  size_t drawn_ = 0;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace berth::cli
