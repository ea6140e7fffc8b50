// Runs a cleanup when the scope ends unless dismissed: undoes partial work when a step fails.
#pragma once

#include <utility>

namespace berth {

template <class F>
class ScopeGuard {
 public:
  explicit ScopeGuard(F f) : f_(std::move(f)) {}
  ScopeGuard(const ScopeGuard&) = delete;
  ScopeGuard& operator=(const ScopeGuard&) = delete;
  ~ScopeGuard() {
    if (active_) f_();
  }
  void dismiss() { active_ = false; }

 private:
  F f_;
  bool active_ = true;
};

template <class F>
[[nodiscard]] ScopeGuard<F> defer(F f) {
  return ScopeGuard<F>(std::move(f));
}

}  // namespace berth
