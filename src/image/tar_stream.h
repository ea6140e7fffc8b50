// A tar stream read through its decompression: one libarchive reader turns the (tar, gzip,
// zstd, bzip2 or xz; detected from the bytes) input into raw bytes, which are hashed and
// counted, and a second reader parses those bytes as tar. The hash is the layer's diff ID.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <cstdint>
#include <memory>
#include <string>

#include "base/digest.h"
#include "base/error.h"

namespace berth::image {

class TarStream {
 public:
  // Reads from fd (borrowed; must outlive the stream). max_uncompressed bounds the
  // decompressed bytes; name is used in error messages ("layer <name>: ...").
  static Result<std::unique_ptr<TarStream>> open(int fd, std::string name, int64_t max_uncompressed);
  ~TarStream();
  TarStream(const TarStream&) = delete;
  TarStream& operator=(const TarStream&) = delete;

  // The tar reader, for archive_read_next_header / archive_read_data_block.
  struct archive* tar() { return tar_; }
  // The error of the last failed tar call, preferring the decompressor's (e.g. the size limit).
  Error error(std::string_view what);
  // Reads the decompressed stream to its end (trailing padding included) and returns its digest.
  Result<Digest> finish();
  int64_t uncompressed_size() const { return total_; }

 private:
  TarStream() = default;
  static la_ssize_t read_callback(struct archive*, void* self, const void** buffer);
  la_ssize_t pull(const void** buffer);

  std::string name_;
  int64_t limit_ = 0;
  int64_t total_ = 0;
  bool eof_ = false;
  struct archive* raw_ = nullptr;
  struct archive* tar_ = nullptr;
  Sha256 hash_;
  std::unique_ptr<Error> raw_error_;
  std::unique_ptr<char[]> buf_;
};

}  // namespace berth::image
