// Reads a container's json-file log and its rotated files for `logs`: --since, --until,
// --tail, -t and -f with Docker's meanings.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "engine/log_file.h"

namespace berth::engine {

struct LogReadOptions {
  std::string since;         // --since: duration, RFC3339-like time or Unix seconds; "" for all
  std::string until;         // --until: same forms; "" for no end
  std::string tail = "all";  // --tail: how many lines from the end, or "all"
  bool timestamps = false;   // -t: each line starts with its RFC3339NanoFixed time and a space
  bool follow = false;       // -f: keep reading lines as they are written
  // With follow: returns true once nothing more will be written (the container exited and
  // its monitor flushed); the reader then drains the files and returns. Unset: follow until
  // --until passes, forever without it.
  std::function<bool()> stop;
  // How often follow checks stop() and, when inotify is unavailable, polls the files.
  std::chrono::milliseconds poll_interval{200};
  // The "now" durations count back from; unset for the clock's.
  std::optional<LogTime> now;
};

// Receives each line in order; line is the logged text ("hello\n", or a partial line without
// "\n"), prefixed with the time when timestamps was asked for.
using LogSink = std::function<void(LogStream stream, std::string_view line, LogTime time)>;

struct LogReadStats {
  uint64_t lines = 0;    // lines given to the sink
  uint64_t corrupt = 0;  // lines skipped because they were not json-file entries
};

// Parses --tail: a count, or nullopt for "all". Like dockerd, anything that is not a count
// of zero or more ("all", "-1", "") means all.
std::optional<uint64_t> parse_log_tail(std::string_view tail);

class LogReader {
 public:
  // Contract: gives sink the entries of <path>.N ... <path>.1, <path>, oldest first (only
  // the last `tail` valid entries, counted across files), skipping those before since and
  // stopping at the first one after until. Rotation while reading loses and repeats
  // nothing: files are held open and recognised by inode. Corrupt lines are counted in the
  // result, never fatal. Fails with InvalidArgument for a bad since/until (before any I/O)
  // and with the errno of a failed read.
  static Result<LogReadStats> read(const std::string& path, const LogReadOptions& options,
                                   const LogSink& sink);
};

}  // namespace berth::engine
