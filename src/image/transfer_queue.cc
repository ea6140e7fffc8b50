#include "image/transfer_queue.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace berth::image {

Result<void> run_transfers(size_t count, int max_concurrent,
                           const std::function<Result<void>(size_t, const std::atomic<bool>&)>& work) {
  std::atomic<size_t> next{0};
  std::atomic<bool> cancelled{false};
  std::mutex mu;
  std::optional<Error> first_error;
  auto worker = [&] {
    while (!cancelled.load()) {
      size_t i = next.fetch_add(1);
      if (i >= count) return;
      Result<void> r = work(i, cancelled);
      if (!r) {
        std::lock_guard lock(mu);
        if (!first_error) first_error = std::move(r.error());
        cancelled = true;
      }
    }
  };
  size_t threads = std::min(count, static_cast<size_t>(std::max(1, max_concurrent)));
  if (threads <= 1) {
    worker();
  } else {
    std::vector<std::jthread> pool;
    for (size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
  }  // the jthreads join here
  if (first_error) return Err(std::move(*first_error));
  return {};
}

}  // namespace berth::image
