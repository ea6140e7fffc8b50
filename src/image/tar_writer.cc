#include "image/tar_writer.h"

#include <archive_entry.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "base/strings.h"

namespace berth::image {
namespace {

constexpr size_t kCopyChunk = 256 * 1024;

struct EntryFree {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};

}  // namespace

std::string archive_error_text(struct archive* a) {
  const char* s = a ? archive_error_string(a) : nullptr;
  return s ? s : "unknown libarchive error";
}

Result<TarWriter> TarWriter::open(int fd, oci::Compression compression) {
  ArchiveWriter a(archive_write_new());
  if (!a) return Fail(ErrorCode::Internal, "create tar writer: out of memory");
  int r = archive_write_set_format_pax_restricted(a.get());
  if (r == ARCHIVE_OK && compression == oci::Compression::Gzip) {
    r = archive_write_add_filter_gzip(a.get());
    // No name or timestamp in the gzip header: same input, same bytes.
    if (r == ARCHIVE_OK) r = archive_write_set_filter_option(a.get(), "gzip", "timestamp", nullptr);
  } else if (r == ARCHIVE_OK && compression == oci::Compression::Zstd) {
    r = archive_write_add_filter_zstd(a.get());
  }
  if (r == ARCHIVE_OK) r = archive_write_set_bytes_in_last_block(a.get(), 1);
  if (r == ARCHIVE_OK) r = archive_write_open_fd(a.get(), fd);
  if (r != ARCHIVE_OK)
    return Fail(ErrorCode::Internal, "open tar writer: {}", archive_error_text(a.get()));
  return TarWriter(std::move(a));
}

Result<void> TarWriter::header(std::string_view path, unsigned type, int mode, int64_t size,
                               std::string_view link) {
  if (!a_) return Fail(ErrorCode::Internal, "tar writer is closed");
  std::unique_ptr<struct archive_entry, EntryFree> e(archive_entry_new());
  if (!e) return Fail(ErrorCode::Internal, "tar entry {}: out of memory", quote(path));
  std::string p(path);
  archive_entry_set_pathname(e.get(), p.c_str());
  archive_entry_set_filetype(e.get(), type);
  archive_entry_set_perm(e.get(), static_cast<mode_t>(mode));
  archive_entry_set_size(e.get(), size);
  archive_entry_set_uid(e.get(), 0);
  archive_entry_set_gid(e.get(), 0);
  archive_entry_set_mtime(e.get(), 0, 0);
  std::string l(link);
  if (type == AE_IFLNK) archive_entry_set_symlink(e.get(), l.c_str());
  if (archive_write_header(a_.get(), e.get()) != ARCHIVE_OK)
    return Fail(ErrorCode::Internal, "write tar header {}: {}", quote(path),
                archive_error_text(a_.get()));
  return {};
}

Result<void> TarWriter::data(std::string_view bytes, std::string_view path) {
  while (!bytes.empty()) {
    la_ssize_t n = archive_write_data(a_.get(), bytes.data(), bytes.size());
    if (n <= 0)
      return Fail(ErrorCode::Internal, "write tar entry {}: {}", quote(path),
                  archive_error_text(a_.get()));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Result<void> TarWriter::add_dir(std::string_view path) { return header(path, AE_IFDIR, 0755, 0); }

Result<void> TarWriter::add_file(std::string_view path, std::string_view bytes) {
  TRY(header(path, AE_IFREG, 0644, static_cast<int64_t>(bytes.size())));
  return data(bytes, path);
}

Result<void> TarWriter::add_symlink(std::string_view path, std::string_view target) {
  return header(path, AE_IFLNK, 0777, 0, target);
}

Result<void> TarWriter::add_file_from_fd(std::string_view path, int fd, int64_t size) {
  TRY(header(path, AE_IFREG, 0644, size));
  std::vector<char> buf(kCopyChunk);
  int64_t left = size;
  while (left > 0) {
    size_t want = static_cast<size_t>(std::min<int64_t>(left, static_cast<int64_t>(buf.size())));
    ssize_t n = ::read(fd, buf.data(), want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailErrno(errno, "read {}", quote(path));
    if (n == 0)
      return Fail(ErrorCode::Internal, "read {}: file ended {} bytes short of its size {}",
                  quote(path), left, size);
    TRY(data(std::string_view(buf.data(), static_cast<size_t>(n)), path));
    left -= n;
  }
  return {};
}

Result<void> TarWriter::close() {
  if (!a_) return Fail(ErrorCode::Internal, "tar writer is closed");
  ArchiveWriter a = std::move(a_);
  if (archive_write_close(a.get()) != ARCHIVE_OK)
    return Fail(ErrorCode::Internal, "finish tar: {}", archive_error_text(a.get()));
  return {};
}

}  // namespace berth::image
