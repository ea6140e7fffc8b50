#include "base/root_path.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace berth {
namespace {

constexpr int kMaxSymlinks = 40;

int fail(int err, char* errbuf, size_t errlen, const char* fmt, const char* a, const char* b) {
  if (errbuf && errlen) std::snprintf(errbuf, errlen, fmt, a, b);
  return -err;
}

}  // namespace

int resolve_in_root(int root_fd, const char* path, ResolveCreate create, char* errbuf,
                    size_t errlen) {
  // work holds the path still to walk; it is rewritten in place when a symlink is met.
  char work[PATH_MAX * 2];
  char link[PATH_MAX];
  char comp[NAME_MAX + 1];
  if (std::strlen(path) >= sizeof(work)) return fail(ENAMETOOLONG, errbuf, errlen, "%s%s", path, ": path too long");
  std::strcpy(work, path);
  if (errbuf && errlen) errbuf[0] = '\0';

  int cur = ::fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
  if (cur < 0) return fail(errno, errbuf, errlen, "%s%s", "dup root", "");
  int depth = 0;
  int links = 0;
  size_t pos = 0;
  auto replace = [&](int fd) { ::close(cur); cur = fd; };

  while (true) {
    while (work[pos] == '/') ++pos;
    if (work[pos] == '\0') return cur;
    size_t end = pos;
    while (work[end] != '/' && work[end] != '\0') ++end;
    size_t len = end - pos;
    if (len > NAME_MAX) {
      ::close(cur);
      return fail(ENAMETOOLONG, errbuf, errlen, "%s%s", path, ": component too long");
    }
    std::memcpy(comp, work + pos, len);
    comp[len] = '\0';
    pos = end;
    bool last = true;
    for (size_t i = pos; work[i] != '\0'; ++i) {
      if (work[i] != '/') { last = false; break; }
    }

    if (std::strcmp(comp, ".") == 0) continue;
    if (std::strcmp(comp, "..") == 0) {
      if (depth == 0) {
        ::close(cur);
        return fail(EXDEV, errbuf, errlen, "%s: \"..\" escapes the root%s", path, "");
      }
      int up = ::openat(cur, "..", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (up < 0) { int e = errno; ::close(cur); return fail(e, errbuf, errlen, "%s: open ..%s", path, ""); }
      replace(up);
      --depth;
      continue;
    }

    struct stat st;
    if (::fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      int e = errno;
      if (e != ENOENT || create == ResolveCreate::None) {
        ::close(cur);
        return fail(e, errbuf, errlen, "%s: component \"%s\"", path, comp);
      }
      if (last && create == ResolveCreate::File) {
        int f = ::openat(cur, comp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (f < 0 && errno != EEXIST) { e = errno; ::close(cur); return fail(e, errbuf, errlen, "%s: create file \"%s\"", path, comp); }
        if (f >= 0) ::close(f);
      } else if (::mkdirat(cur, comp, 0755) != 0 && errno != EEXIST) {
        e = errno;
        ::close(cur);
        return fail(e, errbuf, errlen, "%s: mkdir \"%s\"", path, comp);
      }
      if (::fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        e = errno;
        ::close(cur);
        return fail(e, errbuf, errlen, "%s: component \"%s\"", path, comp);
      }
    }

    if (S_ISLNK(st.st_mode)) {
      if (++links > kMaxSymlinks) { ::close(cur); return fail(ELOOP, errbuf, errlen, "%s: too many symlinks at \"%s\"", path, comp); }
      ssize_t n = ::readlinkat(cur, comp, link, sizeof(link) - 1);
      if (n < 0) { int e = errno; ::close(cur); return fail(e, errbuf, errlen, "%s: readlink \"%s\"", path, comp); }
      link[n] = '\0';
      size_t rest = std::strlen(work + pos);
      if (static_cast<size_t>(n) + 1 + rest >= sizeof(work)) { ::close(cur); return fail(ENAMETOOLONG, errbuf, errlen, "%s: symlink \"%s\" makes the path too long", path, comp); }
      // new work = link + rest (rest starts with '/' or is empty)
      std::memmove(work + n, work + pos, rest + 1);
      std::memcpy(work, link, static_cast<size_t>(n));
      pos = 0;
      if (link[0] == '/') {
        int r = ::fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
        if (r < 0) { int e = errno; ::close(cur); return fail(e, errbuf, errlen, "%s%s", "dup root", ""); }
        replace(r);
        depth = 0;
      } else {
        // A relative target climbing above the root is an escape, not a clamp.
        int d = depth;
        for (size_t i = 0; i < static_cast<size_t>(n);) {
          while (i < static_cast<size_t>(n) && link[i] == '/') ++i;
          size_t j = i;
          while (j < static_cast<size_t>(n) && link[j] != '/') ++j;
          if (j - i == 2 && link[i] == '.' && link[i + 1] == '.') {
            if (--d < 0) {
              ::close(cur);
              if (errbuf && errlen) std::snprintf(errbuf, errlen, "%s: symlink \"%s\" -> \"%s\" escapes the root", path, comp, link);
              return -EXDEV;
            }
          } else if (j > i && !(j - i == 1 && link[i] == '.')) {
            ++d;
          }
          i = j;
        }
      }
      continue;
    }

    if (!last && !S_ISDIR(st.st_mode)) {
      ::close(cur);
      return fail(ENOTDIR, errbuf, errlen, "%s: \"%s\" is not a directory", path, comp);
    }
    int next = ::openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) { int e = errno; ::close(cur); return fail(e, errbuf, errlen, "%s: open \"%s\"", path, comp); }
    replace(next);
    ++depth;
  }
}

Result<UniqueFd> open_in_root(int root_fd, std::string_view path, ResolveCreate create) {
  char err[PATH_MAX + 256];
  std::string p(path);
  int fd = resolve_in_root(root_fd, p.c_str(), create, err, sizeof(err));
  if (fd < 0) return Err(SysError(-fd, err[0] ? err : p));
  return UniqueFd(fd);
}

}  // namespace berth
