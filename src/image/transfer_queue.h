// Runs a list of transfers (layer downloads, uploads) on at most N threads, as Docker does:
// workers take the next item from a shared queue; the first failure stops new items from
// starting and is what the caller gets back.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>

#include "base/error.h"

namespace berth::image {

// Calls work(i, cancelled) for every i in [0, count) on up to max_concurrent std::jthreads.
// cancelled turns true once any item failed; long transfers poll it to stop early. Returns
// the first error (by time), or success when every item succeeded.
Result<void> run_transfers(size_t count, int max_concurrent,
                           const std::function<Result<void>(size_t, const std::atomic<bool>&)>& work);

}  // namespace berth::image
