#include "engine/log_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/fs.h"
#include "base/scope_guard.h"

namespace berth::engine {

namespace {

constexpr mode_t kLogFileMode = 0640;

Result<UniqueFd> open_log_file(const std::string& path, int extra_flags) {
  UniqueFd fd = TRY(open_fd(path, O_RDWR | O_CREAT | O_APPEND | extra_flags, kLogFileMode));
  // The mode of a new file is cut by the umask; Docker's logs are 0640 whatever it is.
  if (::fchmod(fd.get(), kLogFileMode) != 0) return FailErrno(errno, "chmod {}", path);
  return fd;
}

}  // namespace

Result<LogWriter> LogWriter::open(std::string path, int64_t max_size, int max_files) {
  if (max_files < 1) {
    return Fail(ErrorCode::InvalidArgument, "log max-file {} for {}: must be at least 1",
                max_files, path);
  }
  LogWriter w;
  w.path_ = std::move(path);
  w.max_size_ = max_size > 0 ? max_size : 0;
  w.max_files_ = max_files;
  w.fd_ = TRY_CTX("open log", open_log_file(w.path_, 0));
  struct stat st {};
  if (::fstat(w.fd_.get(), &st) != 0) return FailErrno(errno, "stat {}", w.path_);
  w.size_ = st.st_size;
  // A writer that died in the middle of a line left a fragment: end it, so the next entry
  // is not glued to it (readers skip the fragment as one corrupt line).
  if (w.size_ > 0) {
    char last = 0;
    ssize_t n = ::pread(w.fd_.get(), &last, 1, w.size_ - 1);
    if (n < 0) return FailErrno(errno, "read {}", w.path_);
    if (last != '\n') {
      TRY_CTX("write " + w.path_, write_all(w.fd_.get(), "\n"));
      ++w.size_;
    }
  }
  return w;
}

LogWriter::~LogWriter() {
  if (!fd_) return;
  (void)flush(std::chrono::time_point_cast<std::chrono::nanoseconds>(
      std::chrono::system_clock::now()));
}

Result<void> LogWriter::write(LogStream stream, std::string_view bytes, LogTime time) {
  Pending& p = pending(stream);
  p.bytes.append(bytes);
  size_t pos = 0;
  // Whatever happens below, the bytes handed to the file are not kept for another try.
  auto consume = defer([&] { p.bytes.erase(0, pos); });
  while (pos < p.bytes.size()) {
    std::string_view rest = std::string_view(p.bytes).substr(pos);
    std::string_view window = rest.substr(0, kLogLineBufferSize);
    size_t nl = window.find('\n');
    if (nl != std::string_view::npos) {
      LogTime t = p.partial_written ? p.partial_time : time;
      p.partial_written = false;
      TRY(add_entry(stream, window.substr(0, nl + 1), t));
      pos += nl + 1;
    } else if (window.size() == kLogLineBufferSize) {
      if (!p.partial_written) {
        p.partial_written = true;
        p.partial_time = time;
      }
      TRY(add_entry(stream, window, p.partial_time));
      pos += window.size();
    } else {
      break;
    }
  }
  return write_batch();
}

Result<void> LogWriter::flush(LogTime time) {
  for (LogStream stream : {LogStream::Stdout, LogStream::Stderr}) {
    Pending& p = pending(stream);
    if (p.bytes.empty()) continue;
    LogTime t = p.partial_written ? p.partial_time : time;
    std::string bytes = std::move(p.bytes);
    p = Pending{};
    TRY(add_entry(stream, bytes, t));
  }
  return write_batch();
}

Result<void> LogWriter::add_entry(LogStream stream, std::string_view log, LogTime time) {
  std::string entry = encode_log_entry(stream, log, time);
  if (max_size_ > 0) {
    auto used = size_ + static_cast<int64_t>(batch_.size());
    if (used > 0 && used + static_cast<int64_t>(entry.size()) > max_size_) {
      TRY(write_batch());
      TRY(rotate());
    }
  }
  batch_ += entry;
  return {};
}

Result<void> LogWriter::write_batch() {
  if (batch_.empty()) return {};
  auto r = write_all(fd_.get(), batch_);
  auto written = static_cast<int64_t>(batch_.size());
  batch_.clear();
  if (!r) {
    // Part of the batch may be in the file: learn the size again from the file.
    struct stat st {};
    if (::fstat(fd_.get(), &st) == 0) size_ = st.st_size;
    return Err(r.error().context("write " + path_));
  }
  size_ += written;
  return {};
}

Result<void> LogWriter::rotate() {
  if (max_files_ == 1) {
    // Docker keeps a single file by truncating it; O_APPEND writes start again at 0.
    if (::ftruncate(fd_.get(), 0) != 0) return FailErrno(errno, "truncate {}", path_);
    size_ = 0;
    return {};
  }
  auto numbered = [&](int i) { return path_ + "." + std::to_string(i); };
  std::string oldest = numbered(max_files_ - 1);
  if (::unlink(oldest.c_str()) != 0 && errno != ENOENT) {
    return FailErrno(errno, "rotate log: remove {}", oldest);
  }
  for (int i = max_files_ - 1; i > 1; --i) {
    std::string from = numbered(i - 1), to = numbered(i);
    if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
      return FailErrno(errno, "rotate log: rename {} to {}", from, to);
    }
  }
  std::string first = numbered(1);
  if (::rename(path_.c_str(), first.c_str()) != 0) {
    return FailErrno(errno, "rotate log: rename {} to {}", path_, first);
  }
  fd_ = TRY_CTX("rotate log", open_log_file(path_, O_TRUNC));
  size_ = 0;
  return {};
}

}  // namespace berth::engine
