// Applying an untrusted layer tarball (tar, gzip or zstd) to a directory.
//
// Nothing is ever written outside the target directory: every entry is resolved relative to a
// directory fd with RESOLVE_IN_ROOT semantics, so `../`, absolute paths, escaping symlinks and
// hardlinks, and a symlink swapped under a later entry are refused. Errors name the layer and
// the entry ("layer sha256:ab12…: entry \"../etc/passwd\": path escapes the layer root") and
// the caller discards the target (apply never leaves a partly applied snapshot it calls good).
#pragma once

#include <cstdint>
#include <string>

#include "base/digest.h"
#include "base/error.h"
#include "image/snapshotter.h"

namespace berth::image {

struct ApplyOptions {
  std::string layer_name;  // for messages: the layer digest or file name
  Snapshotter::Whiteouts whiteouts = Snapshotter::Whiteouts::Overlay;
  bool allow_devices = true;  // character/block device nodes (refused when false)
  int64_t max_uncompressed = int64_t{64} << 30;  // tar bomb limit on the decompressed bytes
  bool preserve_ownership = true;
};

struct ApplyResult {
  Digest diff_id;  // sha256 of the decompressed tar stream
  int64_t uncompressed_size = 0;
  int64_t entries = 0;
};

// Applies the (possibly compressed; detected from the bytes) tar read from fd to target_dir.
Result<ApplyResult> apply_layer(int fd, const std::string& target_dir, const ApplyOptions& options);

}  // namespace berth::image
