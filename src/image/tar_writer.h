// A deterministic tar writer over libarchive for archives berth produces (`save`, tests): pax
// restricted format, every entry owned by 0:0 with mtime 0, optionally gzip/zstd compressed.
#pragma once

#include <archive.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/error.h"
#include "oci/image_spec.h"

namespace berth::image {

// Frees a libarchive reader or writer handle.
struct ArchiveReadFree {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteFree {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
using ArchiveReader = std::unique_ptr<struct archive, ArchiveReadFree>;
using ArchiveWriter = std::unique_ptr<struct archive, ArchiveWriteFree>;

// libarchive's last error text for a handle ("unknown libarchive error" when it has none).
std::string archive_error_text(struct archive* a);

class TarWriter {
 public:
  // Writes to fd (borrowed; must outlive the writer), compressed as asked.
  static Result<TarWriter> open(int fd, oci::Compression compression = oci::Compression::None);

  // A directory entry (mode 0755).
  Result<void> add_dir(std::string_view path);
  // A regular file (mode 0644) holding data.
  Result<void> add_file(std::string_view path, std::string_view data);
  // A regular file of exactly size bytes copied from fd (borrowed) in chunks, never buffered.
  Result<void> add_file_from_fd(std::string_view path, int fd, int64_t size);
  // A symbolic link path -> target.
  Result<void> add_symlink(std::string_view path, std::string_view target);
  // Writes the end-of-archive blocks and flushes the compressor; the writer is unusable after.
  Result<void> close();

 private:
  explicit TarWriter(ArchiveWriter a) : a_(std::move(a)) {}
  Result<void> header(std::string_view path, unsigned type, int mode, int64_t size,
                      std::string_view link = {});
  Result<void> data(std::string_view bytes, std::string_view path);

  ArchiveWriter a_;
};

}  // namespace berth::image
