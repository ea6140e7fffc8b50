#include "image/progress.h"

namespace berth::image {

const char* to_string(ProgressPhase phase) {
  switch (phase) {
    case ProgressPhase::Waiting: return "Waiting";
    case ProgressPhase::Downloading: return "Downloading";
    case ProgressPhase::Verifying: return "Verifying Checksum";
    case ProgressPhase::DownloadComplete: return "Download complete";
    case ProgressPhase::AlreadyExists: return "Already exists";
    case ProgressPhase::Extracting: return "Extracting";
    case ProgressPhase::PullComplete: return "Pull complete";
    case ProgressPhase::Preparing: return "Preparing";
    case ProgressPhase::Pushing: return "Pushing";
    case ProgressPhase::Pushed: return "Pushed";
    case ProgressPhase::LayerExists: return "Layer already exists";
    case ProgressPhase::Loading: return "Loading layer";
    case ProgressPhase::Loaded: return "Loaded";
  }
  return "Unknown";
}

}  // namespace berth::image
