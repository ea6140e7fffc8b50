// How reading copes with a writer in another process: every file is read through a
// descriptor held open and known by (device, inode), so a rename during the read changes
// nothing for us. Following, we notice a rotation when <path> no longer names the file we
// read; that file is then complete (the writer renames only after its last write), so we
// read it to its end and move on to the next newer file, found again by inode.
#include "engine/log_reader.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <thread>
#include <tuple>
#include <vector>

#include "base/fs.h"
#include "base/unique_fd.h"

namespace berth::engine {

namespace chr = std::chrono;

namespace {

// No valid entry comes near this (16 KiB of log escapes to at most 96 KiB); longer lines are
// garbage and are skipped without being held in memory.
constexpr size_t kMaxLineBytes = size_t{1} << 20;
constexpr size_t kReadChunk = 64 * 1024;

struct LogFile {
  UniqueFd fd;
  dev_t dev = 0;
  ino_t ino = 0;
  int64_t size = 0;  // when opened
  bool live = false;  // <path> itself, not a rotated <path>.N
};

bool same_file(const struct stat& st, dev_t dev, ino_t ino) {
  return st.st_dev == dev && st.st_ino == ino;
}

// "<base>.<N>" with N >= 1 written without leading zeros; 0 otherwise.
int rotated_index(std::string_view name, std::string_view base) {
  if (name.size() <= base.size() + 1 || name.substr(0, base.size()) != base ||
      name[base.size()] != '.') {
    return 0;
  }
  std::string_view digits = name.substr(base.size() + 1);
  if (digits.size() > 6 || digits[0] == '0') return 0;
  int n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + (c - '0');
  }
  return n;
}

// The N of every <base>.N in dir, highest (oldest) first.
Result<std::vector<int>> list_rotated(const std::string& dir, std::string_view base) {
  std::vector<int> indexes;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec), end;
  if (ec) return Err(SysError(ec.value(), "read log directory " + dir));
  for (; it != end; it.increment(ec)) {
    if (int n = rotated_index(it->path().filename().native(), base); n > 0) indexes.push_back(n);
  }
  if (ec) return Err(SysError(ec.value(), "read log directory " + dir));
  std::sort(indexes.rbegin(), indexes.rend());
  return indexes;
}

// Opens <path>.N ... <path>.1, <path> (those that exist), oldest first, as one consistent
// set, the directory as it was at one instant: the names are listed, opened, checked to
// still name the files opened, and listed again. A rotation in between (a name vanished or
// changed, two names gave one file, a gap in the numbers, a different listing) means
// another try. Only gaps that persist are accepted: someone deleted a file by hand.
Result<std::vector<LogFile>> open_log_set(const std::string& path) {
  std::filesystem::path p(path);
  std::string dir = p.parent_path().empty() ? "." : p.parent_path().string();
  std::string base = p.filename().string();
  auto name_of = [&](int n) { return n == 0 ? path : path + "." + std::to_string(n); };
  constexpr int kAttempts = 200;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(chr::microseconds(200 * std::min(attempt, 20)));
    std::vector<int> indexes = TRY(list_rotated(dir, base));
    bool gap = false;
    for (size_t i = 0; i < indexes.size(); ++i) {
      if (indexes[i] != static_cast<int>(indexes.size() - i)) gap = true;
    }
    if (gap && attempt < kAttempts / 2) continue;
    indexes.push_back(0);  // <path> itself, newest

    std::vector<LogFile> files;
    std::vector<int> opened;  // the index each of files came from
    bool retry = false;
    for (int n : indexes) {
      std::string name = name_of(n);
      int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        if (errno != ENOENT) return FailErrno(errno, "open {}", name);
        if (n != 0) retry = true;  // renamed away since the listing
        continue;
      }
      LogFile f;
      f.fd.reset(fd);
      struct stat st {};
      if (::fstat(fd, &st) != 0) return FailErrno(errno, "stat {}", name);
      f.dev = st.st_dev, f.ino = st.st_ino, f.size = st.st_size, f.live = n == 0;
      for (const LogFile& other : files) {
        if (other.dev == f.dev && other.ino == f.ino) retry = true;
      }
      files.push_back(std::move(f));
      opened.push_back(n);
    }
    if (retry) continue;
    // Every name still names what was opened; <path> is still missing if it was.
    for (size_t i = 0; i < files.size() && !retry; ++i) {
      struct stat st {};
      if (::stat(name_of(opened[i]).c_str(), &st) != 0 ||
          !same_file(st, files[i].dev, files[i].ino)) {
        retry = true;
      }
    }
    if (opened.empty() || opened.back() != 0) retry = retry || path_exists(path);
    if (retry) continue;
    std::vector<int> again = TRY(list_rotated(dir, base));
    again.push_back(0);
    if (again != indexes) continue;
    return files;
  }
  return Fail(ErrorCode::Unavailable, "read {}: the log keeps rotating while it is opened", path);
}

// Calls fn(offset, line) for the complete lines of [0, end) of fd, last first, while fn
// returns true. Text after the last "\n" is not a line yet. A line longer than
// kMaxLineBytes is passed as "" (and so counts as corrupt).
template <class Fn>
Result<void> scan_lines_backward(int fd, int64_t end, Fn&& fn) {
  std::string buf;  // bytes [pos, pos + buf.size()), always ending at a line boundary once aligned
  int64_t pos = end;
  bool aligned = false;
  bool oversized = false;  // skipping back over a line too long to keep
  while (true) {
    if (!aligned) {
      if (size_t nl = buf.rfind('\n'); nl != std::string::npos) {
        buf.resize(nl + 1);
        aligned = true;
        continue;
      }
      buf.clear();  // the unfinished last line is not needed
    } else if (oversized) {
      if (size_t nl = buf.rfind('\n'); nl != std::string::npos) {
        oversized = false;
        if (!fn(pos + static_cast<int64_t>(nl) + 1, std::string_view())) return {};
        buf.resize(nl + 1);
        continue;
      }
      buf.clear();
    } else if (!buf.empty()) {
      size_t prev = buf.size() >= 2 ? buf.rfind('\n', buf.size() - 2) : std::string::npos;
      if (prev != std::string::npos || pos == 0) {
        size_t start = prev == std::string::npos ? 0 : prev + 1;
        std::string_view line(buf.data() + start, buf.size() - start - 1);
        if (!fn(pos + static_cast<int64_t>(start), line)) return {};
        buf.resize(start);
        continue;
      }
      if (buf.size() > kMaxLineBytes) {
        oversized = true;
        buf.clear();
      }
    }
    if (pos == 0) {
      if (oversized) (void)fn(0, std::string_view());
      return {};
    }
    size_t chunk = static_cast<size_t>(std::min<int64_t>(pos, kReadChunk));
    std::string data(chunk, '\0');
    int64_t at = pos - static_cast<int64_t>(chunk);
    size_t got = 0;
    while (got < chunk) {
      ssize_t n = ::pread(fd, data.data() + got, chunk - got, at + static_cast<int64_t>(got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return FailErrno(errno, "read log");
      if (n == 0) return {};  // truncated meanwhile (a single-file log starting over)
      got += static_cast<size_t>(n);
    }
    pos = at;
    buf.insert(0, data);
  }
}

// Where a reader is in one file: the next offset to read and the start of a line not yet
// complete.
struct Cursor {
  LogFile file;
  int64_t offset = 0;
  std::string carry;
  bool skipping = false;  // inside a line longer than kMaxLineBytes
};

class Reader {
 public:
  Reader(const std::string& path, const LogReadOptions& options, const LogSink& sink)
      : path_(path), options_(options), sink_(sink) {}

  Result<LogReadStats> run() {
    LogTime now = options_.now ? *options_.now
                               : chr::time_point_cast<chr::nanoseconds>(chr::system_clock::now());
    if (!options_.since.empty()) since_ = TRY(parse_log_time(options_.since, now, "--since"));
    if (!options_.until.empty()) until_ = TRY(parse_log_time(options_.until, now, "--until"));
    std::optional<uint64_t> tail = parse_log_tail(options_.tail);

    std::vector<LogFile> files = TRY(open_log_set(path_));
    size_t first = 0;
    int64_t offset = 0;
    if (tail && !files.empty()) std::tie(first, offset) = TRY(tail_start(files, *tail));
    // Every file but the newest is complete.
    for (size_t i = first; i + 1 < files.size() && !done_; ++i) {
      Cursor c;
      c.file = std::move(files[i]);
      c.offset = i == first ? offset : 0;
      TRY(read_available(c, -1));
      finish(c);
    }
    if (done_) return stats_;
    Cursor cur;
    if (first < files.size()) {
      cur.file = std::move(files.back());
      cur.offset = first + 1 == files.size() ? offset : 0;
    }
    if (!options_.follow) {
      if (cur.file.fd) TRY(read_available(cur, cur.file.size));
      if (!cur.file.live) finish(cur);
      return stats_;
    }
    TRY(follow(cur));
    return stats_;
  }

 private:
  // The file and offset where the last n valid entries begin.
  Result<std::pair<size_t, int64_t>> tail_start(const std::vector<LogFile>& files, uint64_t n) {
    if (n == 0) return std::pair{files.size() - 1, files.back().size};
    uint64_t seen = 0;
    for (size_t i = files.size(); i-- > 0;) {
      int64_t found = -1;
      TRY(scan_lines_backward(files[i].fd.get(), files[i].size,
                              [&](int64_t at, std::string_view line) {
                                if (decode_log_entry(line) && ++seen == n) {
                                  found = at;
                                  return false;
                                }
                                return true;
                              }));
      if (found >= 0) return std::pair{i, found};
    }
    return std::pair{size_t{0}, int64_t{0}};
  }

  // Reads c's file from c.offset up to limit (-1: its current end), handing complete lines
  // on and keeping an unfinished one in c.carry. A file that shrank below c.offset was
  // truncated (a single-file log starting over): reading restarts at 0.
  Result<void> read_available(Cursor& c, int64_t limit) {
    if (limit < 0) {
      struct stat st {};
      if (::fstat(c.file.fd.get(), &st) != 0) return FailErrno(errno, "stat {}", path_);
      if (st.st_size < c.offset) {
        c.offset = 0;
        c.carry.clear();
        c.skipping = false;
      }
    }
    std::string chunk(kReadChunk, '\0');
    while (!done_ && (limit < 0 || c.offset < limit)) {
      size_t want = kReadChunk;
      if (limit >= 0) want = static_cast<size_t>(std::min<int64_t>(limit - c.offset, kReadChunk));
      ssize_t n = ::pread(c.file.fd.get(), chunk.data(), want, c.offset);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return FailErrno(errno, "read {}", path_);
      if (n == 0) break;
      c.offset += n;
      consume(c, std::string_view(chunk.data(), static_cast<size_t>(n)));
    }
    return {};
  }

  void consume(Cursor& c, std::string_view data) {
    while (!data.empty() && !done_) {
      size_t nl = data.find('\n');
      if (nl == std::string_view::npos) {
        if (c.skipping) return;
        if (c.carry.size() + data.size() > kMaxLineBytes) {
          c.skipping = true;
          c.carry.clear();
          ++stats_.corrupt;
          return;
        }
        c.carry.append(data);
        return;
      }
      if (c.skipping) {
        c.skipping = false;
      } else if (c.carry.empty()) {
        emit(data.substr(0, nl));
      } else {
        c.carry.append(data.substr(0, nl));
        emit(c.carry);
        c.carry.clear();
      }
      data.remove_prefix(nl + 1);
    }
  }

  // The end of a file no one writes any more: an unfinished line there is corrupt.
  void finish(Cursor& c) {
    if (!c.carry.empty()) ++stats_.corrupt;
    c.carry.clear();
    c.skipping = false;
  }

  void emit(std::string_view line) {
    auto entry = decode_log_entry(line);
    if (!entry) {
      ++stats_.corrupt;
      return;
    }
    if (since_ && entry->time < *since_) return;
    if (until_ && entry->time > *until_) {
      done_ = true;
      return;
    }
    ++stats_.lines;
    if (options_.timestamps) {
      std::string text = format_time_fixed(entry->time);
      text += ' ';
      text += entry->log;
      sink_(entry->stream, text, entry->time);
    } else {
      sink_(entry->stream, entry->log, entry->time);
    }
  }

  Result<void> follow(Cursor& cur) {
    UniqueFd watch = start_watch();
    while (true) {
      bool exiting = options_.stop && options_.stop();
      TRY(drain(cur));
      if (done_) return {};
      if (exiting) {
        finish(cur);
        return {};
      }
      if (until_ && chr::system_clock::now() > *until_) return {};
      wait(watch.get());
    }
  }

  // Reads everything written so far, moving on through rotations to the live file.
  Result<void> drain(Cursor& cur) {
    while (!done_) {
      if (cur.file.fd) TRY(read_available(cur, -1));
      if (done_) return {};
      struct stat st {};
      if (::stat(path_.c_str(), &st) == 0 && cur.file.fd &&
          same_file(st, cur.file.dev, cur.file.ino)) {
        return {};  // caught up with the live file
      }
      // cur was rotated away (or there was no file yet): what it holds is final.
      if (cur.file.fd) TRY(read_available(cur, -1));
      if (done_) return {};
      std::vector<LogFile> files = TRY(open_log_set(path_));
      size_t next = 0;
      for (size_t i = 0; i < files.size(); ++i) {
        if (cur.file.fd && files[i].dev == cur.file.dev && files[i].ino == cur.file.ino) {
          next = i + 1;
        }
      }
      if (next >= files.size()) return {};  // the new file is not there yet
      finish(cur);
      cur = Cursor();
      cur.file = std::move(files[next]);
    }
    return {};
  }

  // Watches the log's directory, where writes and the renames of a rotation show up;
  // an empty descriptor means polling.
  UniqueFd start_watch() {
    UniqueFd fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (!fd) return fd;
    std::string dir = std::filesystem::path(path_).parent_path().string();
    if (dir.empty()) dir = ".";
    uint32_t mask = IN_MODIFY | IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE |
                    IN_CLOSE_WRITE | IN_ATTRIB;
    if (::inotify_add_watch(fd.get(), dir.c_str(), mask) < 0) fd.reset();
    return fd;
  }

  void wait(int watch) {
    if (watch < 0) {
      std::this_thread::sleep_for(options_.poll_interval);
      return;
    }
    struct pollfd pfd {watch, POLLIN, 0};
    int timeout = static_cast<int>(std::max<int64_t>(options_.poll_interval.count(), 1));
    if (::poll(&pfd, 1, timeout) > 0) {
      alignas(struct inotify_event) char buf[4096];
      while (::read(watch, buf, sizeof(buf)) > 0) {
      }
    }
  }

  const std::string& path_;
  const LogReadOptions& options_;
  const LogSink& sink_;
  std::optional<LogTime> since_;
  std::optional<LogTime> until_;
  LogReadStats stats_;
  bool done_ = false;  // an entry after --until was reached
};

}  // namespace

std::optional<uint64_t> parse_log_tail(std::string_view tail) {
  if (tail.empty() || tail.size() > 18) return std::nullopt;
  uint64_t n = 0;
  for (char c : tail) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

Result<LogReadStats> LogReader::read(const std::string& path, const LogReadOptions& options,
                                     const LogSink& sink) {
  return Reader(path, options, sink).run();
}

}  // namespace berth::engine
