#include "image/tar_stream.h"

#include <cerrno>
#include <string_view>

namespace berth::image {
namespace {

constexpr size_t kBufSize = 128 * 1024;

std::string archive_text(struct archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "unknown libarchive error";
}

}  // namespace

TarStream::~TarStream() {
  if (tar_) archive_read_free(tar_);
  if (raw_) archive_read_free(raw_);
}

Result<std::unique_ptr<TarStream>> TarStream::open(int fd, std::string name, int64_t max_uncompressed) {
  std::unique_ptr<TarStream> s(new TarStream());
  s->name_ = std::move(name);
  s->limit_ = max_uncompressed;
  s->buf_ = std::make_unique<char[]>(kBufSize);
  s->raw_ = archive_read_new();
  s->tar_ = archive_read_new();
  if (!s->raw_ || !s->tar_) return Fail(ErrorCode::Internal, "layer {}: out of memory", s->name_);
  archive_read_support_filter_all(s->raw_);
  archive_read_support_format_raw(s->raw_);
  archive_read_support_format_empty(s->raw_);
  if (archive_read_open_fd(s->raw_, fd, kBufSize) != ARCHIVE_OK) {
    return Fail(ErrorCode::InvalidArgument, "layer {}: open: {}", s->name_, archive_text(s->raw_));
  }
  struct archive_entry* entry = nullptr;
  int r = archive_read_next_header(s->raw_, &entry);
  if (r == ARCHIVE_EOF) {
    s->eof_ = true;
  } else if (r < ARCHIVE_WARN) {
    return Fail(ErrorCode::InvalidArgument, "layer {}: decompress: {}", s->name_, archive_text(s->raw_));
  }
  archive_read_support_format_tar(s->tar_);
  archive_read_support_format_empty(s->tar_);
  if (archive_read_open(s->tar_, s.get(), nullptr, &TarStream::read_callback, nullptr) != ARCHIVE_OK) {
    return Err(s->error("read tar"));
  }
  return s;
}

la_ssize_t TarStream::read_callback(struct archive*, void* self, const void** buffer) {
  return static_cast<TarStream*>(self)->pull(buffer);
}

la_ssize_t TarStream::pull(const void** buffer) {
  if (eof_) return 0;
  la_ssize_t n = archive_read_data(raw_, buf_.get(), kBufSize);
  if (n < 0) {
    raw_error_ = std::make_unique<Error>(ErrorCode::InvalidArgument,
                                         fmt::format("layer {}: decompress: {}", name_, archive_text(raw_)));
    archive_set_error(tar_, EINVAL, "decompression failed");
    return -1;
  }
  if (n == 0) {
    eof_ = true;
    return 0;
  }
  total_ += n;
  if (total_ > limit_) {
    raw_error_ = std::make_unique<Error>(
        ErrorCode::InvalidArgument,
        fmt::format("layer {}: uncompressed size exceeds the limit of {} bytes", name_, limit_));
    archive_set_error(tar_, EINVAL, "size limit");
    return -1;
  }
  hash_.update(std::string_view(buf_.get(), static_cast<size_t>(n)));
  *buffer = buf_.get();
  return n;
}

Error TarStream::error(std::string_view what) {
  if (raw_error_) return *raw_error_;
  return Error(ErrorCode::InvalidArgument, fmt::format("layer {}: {}: {}", name_, what, archive_text(tar_)));
}

Result<Digest> TarStream::finish() {
  const void* unused = nullptr;
  while (!eof_) {
    if (pull(&unused) < 0) return Err(error("read to the end"));
  }
  return hash_.digest();
}

}  // namespace berth::image
