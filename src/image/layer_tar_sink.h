// The output end of the layer writer: a libarchive tar writer (pax restricted, no padding after
// the end-of-archive blocks) whose bytes are hashed for the diff ID, compressed (gzip without a
// name or timestamp, or zstd) and streamed into a content store ingest. Not part of the image
// layer's public interface.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/digest.h"
#include "base/error.h"
#include "image/content_store.h"
#include "image/layer_writer.h"
#include "image/tar_writer.h"
#include "oci/image_spec.h"

namespace berth::image::detail {

class LayerTarSink {
 public:
  // Opens an ingest in content ("layer-<random>"); it is aborted unless finish() commits it.
  static Result<std::unique_ptr<LayerTarSink>> open(ContentStore& content, oci::Compression compression);
  ~LayerTarSink();
  LayerTarSink(const LayerTarSink&) = delete;
  LayerTarSink& operator=(const LayerTarSink&) = delete;

  // Writes the header of e (path names the entry in errors).
  Result<void> header(struct archive_entry* e, std::string_view path);
  // Writes entry data after a header.
  Result<void> data(std::string_view bytes, std::string_view path);
  // Ends the archive, flushes the compressor and commits the blob.
  Result<LayerBlob> finish();

  struct Compressor;

 private:
  LayerTarSink(std::unique_ptr<ContentWriter> writer, oci::Compression compression);
  // libarchive's write callback: hash, compress, store.
  static la_ssize_t on_write(struct archive* a, void* self, const void* buf, size_t n);
  Result<void> consume(std::string_view bytes);
  // The error a callback recorded, else libarchive's text with what.
  Error failure(std::string_view what, std::string_view path);

  std::unique_ptr<ContentWriter> writer_;
  oci::Compression compression_;
  std::unique_ptr<Compressor> compressor_;
  ArchiveWriter tar_;
  Sha256 diff_;
  std::optional<Error> callback_error_;
  bool committed_ = false;
};

}  // namespace berth::image::detail
