// The tar side of `berth cp CTR:SRC -`: a pax tar of a tree walked fd-relative, never following
// a symlink below the top. Entries carry the files' own owners, modes and mtimes.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <memory>
#include <vector>

#include "base/fs.h"
#include "base/strings.h"
#include "engine/container_copy_tree.h"
#include "image/tar_writer.h"

namespace berth::engine::copy_detail {
namespace {

constexpr size_t kChunk = 256 * 1024;

struct EntryFree {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};

class TreeTar {
 public:
  TreeTar(image::ArchiveWriter a, std::string root_display)
      : a_(std::move(a)), display_(std::move(root_display)) {}

  Result<void> add(int fd, const struct stat& st, const std::string& path);
  Result<void> add_children(int dir_fd, const std::string& prefix);
  Result<void> close() {
    if (archive_write_close(a_.get()) != ARCHIVE_OK) {
      return Fail(ErrorCode::Internal, "finish tar of {}: {}", display_,
                  image::archive_error_text(a_.get()));
    }
    return {};
  }

 private:
  Result<void> write_data(int fd, int64_t size, const std::string& path);
  Error tar_error(const std::string& what, const std::string& path) {
    return Error(ErrorCode::Internal,
                 fmt::format("{} {}: {}", what, quote(path), image::archive_error_text(a_.get())));
  }

  image::ArchiveWriter a_;
  std::string display_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

Result<void> TreeTar::write_data(int fd, int64_t size, const std::string& path) {
  UniqueFd in = TRY(reopen_for_read(fd, 0, path));
  std::vector<char> buf(kChunk);
  int64_t left = size;
  while (left > 0) {
    ssize_t n = ::read(in.get(), buf.data(), static_cast<size_t>(std::min<int64_t>(left, kChunk)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailErrno(errno, "read {}", path);
    }
    if (n == 0) {  // the file shrank since its header: pad with zeros, as tar(1) does
      std::fill(buf.begin(), buf.end(), '\0');
      n = static_cast<ssize_t>(std::min<int64_t>(left, kChunk));
    }
    if (archive_write_data(a_.get(), buf.data(), static_cast<size_t>(n)) != n) {
      return Err(tar_error("write tar data of", path));
    }
    left -= n;
  }
  return {};
}

Result<void> TreeTar::add(int fd, const struct stat& st, const std::string& path) {
  if (S_ISSOCK(st.st_mode)) return {};  // not representable in tar; docker cp skips them too
  std::unique_ptr<struct archive_entry, EntryFree> e(archive_entry_new());
  if (!e) return Fail(ErrorCode::Internal, "tar entry {}: out of memory", quote(path));
  archive_entry_copy_stat(e.get(), &st);
  archive_entry_set_pathname(e.get(), path.c_str());
  bool has_data = S_ISREG(st.st_mode);
  if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX];
    ssize_t n = ::readlinkat(fd, "", target, sizeof(target) - 1);
    if (n < 0) return FailErrno(errno, "read symlink {}", path);
    target[n] = '\0';
    archive_entry_set_symlink(e.get(), target);
  } else if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
    auto key = std::make_pair(st.st_dev, st.st_ino);
    if (auto it = links_.find(key); it != links_.end()) {
      archive_entry_set_hardlink(e.get(), it->second.c_str());
      archive_entry_set_size(e.get(), 0);
      has_data = false;
    } else {
      links_.emplace(key, path);
    }
  }
  if (!S_ISREG(st.st_mode)) archive_entry_set_size(e.get(), 0);
  if (archive_write_header(a_.get(), e.get()) < ARCHIVE_WARN)
    return Err(tar_error("write tar header", path));
  if (has_data) TRY(write_data(fd, st.st_size, path));
  if (S_ISDIR(st.st_mode)) TRY(add_children(fd, path));
  return {};
}

Result<void> TreeTar::add_children(int dir_fd, const std::string& prefix) {
  auto names =
      TRY_CTX(fmt::format("list {}", prefix.empty() ? display_ : prefix), list_dir_at(dir_fd));
  for (const auto& name : names) {
    std::string path = prefix.empty() ? name : prefix + "/" + name;
    int raw = ::openat(dir_fd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (raw < 0) {
      if (errno == ENOENT) continue;  // removed while we walked
      return FailErrno(errno, "open {}", path);
    }
    UniqueFd child(raw);
    struct stat st;
    if (::fstat(child.get(), &st) != 0) return FailErrno(errno, "stat {}", path);
    TRY(add(child.get(), st, path));
  }
  return {};
}

}  // namespace

Result<void> write_tree_tar(const SourceObject& src, int out_fd) {
  image::ArchiveWriter a(archive_write_new());
  if (!a) return Fail(ErrorCode::Internal, "create tar writer: out of memory");
  int r = archive_write_set_format_pax_restricted(a.get());
  if (r == ARCHIVE_OK) r = archive_write_set_bytes_in_last_block(a.get(), 1);
  if (r == ARCHIVE_OK) r = archive_write_open_fd(a.get(), out_fd);
  if (r != ARCHIVE_OK)
    return Fail(ErrorCode::Internal, "open tar writer: {}", image::archive_error_text(a.get()));
  TreeTar tar(std::move(a), src.display);
  if (src.contents_only) {
    TRY(tar.add_children(src.fd.get(), ""));
  } else {
    TRY(tar.add(src.fd.get(), src.st, src.name));
  }
  return tar.close();
}

}  // namespace berth::engine::copy_detail
