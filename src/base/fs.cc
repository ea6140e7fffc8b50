#include "base/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <filesystem>
#include <system_error>

#include "base/strings.h"

namespace berth {

Result<UniqueFd> open_fd(const std::string& path, int flags, mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return FailErrno(errno, "open {}", path);
  return UniqueFd(fd);
}

Result<std::string> read_all(int fd) {
  std::string out;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailErrno(errno, "read");
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<std::string> read_link(const std::string& path) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof(buf));
  if (n < 0) return FailErrno(errno, "readlink {}", path);
  return std::string(buf, static_cast<size_t>(n));
}

Result<std::string> read_file(const std::string& path) {
  UniqueFd fd = TRY(open_fd(path, O_RDONLY));
  return TRY_CTX("read " + path, read_all(fd.get()));
}

Result<void> write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailErrno(errno, "write");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Result<void> write_file(const std::string& path, std::string_view data, mode_t mode) {
  UniqueFd fd = TRY(open_fd(path, O_WRONLY | O_CREAT | O_TRUNC, mode));
  TRY_CTX("write " + path, write_all(fd.get(), data));
  return {};
}

Result<void> write_file_atomic(const std::string& path, std::string_view data, mode_t mode,
                               bool durable) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    UniqueFd fd = TRY(open_fd(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode));
    if (auto r = write_all(fd.get(), data); !r) {
      ::unlink(tmp.c_str());
      return Err(r.error().context("write " + tmp));
    }
    if (durable && ::fsync(fd.get()) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return FailErrno(err, "fsync {}", tmp);
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return FailErrno(err, "rename {} to {}", tmp, path);
  }
  return {};
}

Result<void> make_dirs(const std::string& path, mode_t mode) {
  std::string partial;
  for (const auto& part : split(path, '/')) {
    if (part.empty()) {
      if (partial.empty()) partial = "/";
      continue;
    }
    if (!partial.empty() && partial.back() != '/') partial += '/';
    partial += part;
    if (::mkdir(partial.c_str(), mode) != 0 && errno != EEXIST) return FailErrno(errno, "mkdir {}", partial);
  }
  return {};
}

Result<void> remove_all(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return FailErrno(ec.value(), "remove {}", path);
  return {};
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string absolute_path(std::string_view path) {
  std::string full;
  if (!path.empty() && path[0] == '/') {
    full = std::string(path);
  } else {
    char cwd[4096];
    full = ::getcwd(cwd, sizeof(cwd)) ? std::string(cwd) + "/" + std::string(path) : std::string(path);
  }
  return clean_path(full);
}

std::string clean_path(std::string_view path) {
  std::vector<std::string> out;
  for (auto& part : split(path, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(part);
  }
  return "/" + join(out, "/");
}

namespace {

Result<std::vector<std::string>> read_names(DIR* d, std::string_view what) {
  std::vector<std::string> names;
  while (true) {
    errno = 0;
    struct dirent* e = ::readdir(d);
    if (!e) {
      int err = errno;
      ::closedir(d);
      if (err != 0) return FailErrno(err, "read directory {}", what);
      break;
    }
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

Result<std::vector<std::string>> list_dir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT) return std::vector<std::string>{};
    return FailErrno(errno, "open directory {}", dir);
  }
  return read_names(d, dir);
}

Result<std::vector<std::string>> list_dir_at(int dir_fd) {
  int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return FailErrno(errno, "open directory");
  DIR* d = ::fdopendir(fd);
  if (!d) {
    int err = errno;
    ::close(fd);
    return FailErrno(err, "open directory");
  }
  return read_names(d, "");
}

}  // namespace berth
