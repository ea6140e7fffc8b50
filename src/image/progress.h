// Progress of image transfers (pull, push, load, unpack), reported per layer so the CLI can
// draw Docker's per-layer lines ("a1b2c3d4e5f6: Downloading 12.3MB/40.1MB").
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace berth::image {

enum class ProgressPhase {
  Waiting,
  Downloading,
  Verifying,
  DownloadComplete,
  AlreadyExists,
  Extracting,
  PullComplete,
  Preparing,
  Pushing,
  Pushed,
  LayerExists,  // push: the registry already had it
  Loading,
  Loaded,
};

// Docker's word for a phase: "Downloading", "Pull complete", "Layer already exists", ...
const char* to_string(ProgressPhase phase);

struct ProgressEvent {
  std::string id;  // the first 12 hex digits of the layer's digest
  ProgressPhase phase = ProgressPhase::Waiting;
  int64_t current = 0;
  int64_t total = -1;  // -1 when unknown
};

// Called from transfer threads; implementations must be thread safe.
using ProgressSink = std::function<void(const ProgressEvent&)>;

}  // namespace berth::image
