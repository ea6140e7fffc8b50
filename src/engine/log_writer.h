// Writes a container's output to its json-file log the way dockerd does, with rotation.
// Used by the container's monitor, which feeds it what it reads from the stdout and stderr
// pipes; one writer per log file, the only process writing it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/unique_fd.h"
#include "engine/log_file.h"

namespace berth::engine {

// Docker's defaults for berth's rotated logs (--log-opt max-size=10m, max-file=3).
inline constexpr int64_t kDefaultLogMaxSize = int64_t{10} << 20;
inline constexpr int kDefaultLogMaxFiles = 3;
// A line longer than this is written in pieces, like dockerd's 16 KiB copier buffer.
inline constexpr size_t kLogLineBufferSize = 16 * 1024;

// Contract: splits each stream's bytes into lines exactly as Docker's copier does (a complete
// line keeps its "\n" and is stamped with the time of the write that completed it; 16 KiB
// without a newline becomes a partial entry, and the rest of that line keeps the first
// piece's time), and appends one entry a line with O_APPEND. Before an entry would take
// the file past max_size it rotates: <path>.N-1 is dropped, <path>.k becomes <path>.k+1,
// <path> becomes <path>.1, by rename, and a new <path> is started; readers holding the old
// file still see every line. With max_files 1 the file is truncated instead, as Docker does.
// An entry larger than max_size alone still goes into one file. Not thread-safe.
class LogWriter {
 public:
  // Opens (creating 0640, or appending to) path. max_size <= 0 means no rotation.
  static Result<LogWriter> open(std::string path, int64_t max_size = kDefaultLogMaxSize,
                                int max_files = kDefaultLogMaxFiles);

  LogWriter(LogWriter&&) = default;
  LogWriter& operator=(LogWriter&&) = default;
  ~LogWriter();

  // Logs bytes read from the container's stream at time.
  Result<void> write(LogStream stream, std::string_view bytes, LogTime time);
  // Writes out what is buffered of each stream's last line as a partial entry (without
  // "\n"): called when the streams reach EOF. The destructor flushes too, ignoring errors.
  Result<void> flush(LogTime time);

  const std::string& path() const { return path_; }
  // Bytes in the current file.
  int64_t size() const { return size_; }

 private:
  // Per-stream state of the copier: the unfinished line and, once a piece of it was
  // written as a partial entry, the time of that first piece.
  struct Pending {
    std::string bytes;
    bool partial_written = false;
    LogTime partial_time{};
  };

  LogWriter() = default;
  Pending& pending(LogStream stream) { return stream == LogStream::Stdout ? out_ : err_; }
  // Encodes one entry into batch_, writing the batch out and rotating first if it would
  // overflow the file.
  Result<void> add_entry(LogStream stream, std::string_view log, LogTime time);
  Result<void> write_batch();
  Result<void> rotate();

  std::string path_;
  int64_t max_size_ = 0;
  int max_files_ = 1;
  UniqueFd fd_;
  int64_t size_ = 0;  // bytes in the file, batch_ not included
  std::string batch_;
  Pending out_;
  Pending err_;
};

}  // namespace berth::engine
