#include "image/layer_tar_sink.h"

#include <zlib.h>
#include <zstd.h>

#include <vector>

#include "base/strings.h"
#include "image/snapshot_store.h"

namespace berth::image::detail {
namespace {

constexpr size_t kOutChunk = 256 * 1024;
// libarchive hands the callback blocks of this size (tar's 10240 default costs 25x the calls).
constexpr int kTarBlock = 64 * 1024;

}  // namespace

// Compresses the tar stream into the ingest: gzip, zstd or nothing.
struct LayerTarSink::Compressor {
  explicit Compressor(oci::Compression c) : kind(c), out(kOutChunk) {}
  ~Compressor() {
    if (gzip_open) deflateEnd(&z);
    if (zstd) ZSTD_freeCCtx(zstd);
  }
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;

  Result<void> init() {
    if (kind == oci::Compression::Gzip) {
      // windowBits 15 + 16: a gzip wrapper with no name and mtime 0; same tar, same blob.
      if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return Fail(ErrorCode::Internal, "gzip: deflateInit2 failed");
      gzip_open = true;
    } else if (kind == oci::Compression::Zstd) {
      zstd = ZSTD_createCCtx();
      if (!zstd) return Fail(ErrorCode::Internal, "zstd: out of memory");
      ZSTD_CCtx_setParameter(zstd, ZSTD_c_compressionLevel, ZSTD_CLEVEL_DEFAULT);
      ZSTD_CCtx_setParameter(zstd, ZSTD_c_checksumFlag, 1);
    }
    return {};
  }

  // Compresses bytes (finishing the stream when last) and hands the output to sink.
  Result<void> pump(std::string_view bytes, bool last, ContentWriter& sink) {
    if (kind == oci::Compression::None) return bytes.empty() ? Result<void>{} : sink.write(bytes);
    if (kind == oci::Compression::Gzip) return pump_gzip(bytes, last, sink);
    return pump_zstd(bytes, last, sink);
  }

  Result<void> pump_gzip(std::string_view bytes, bool last, ContentWriter& sink) {
    int flush = last ? Z_FINISH : Z_NO_FLUSH;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    z.avail_in = static_cast<uInt>(bytes.size());
    while (true) {
      z.next_out = reinterpret_cast<Bytef*>(out.data());
      z.avail_out = static_cast<uInt>(out.size());
      int r = deflate(&z, flush);
      if (r == Z_STREAM_ERROR) return Fail(ErrorCode::Internal, "gzip: deflate failed");
      size_t produced = out.size() - z.avail_out;
      if (produced > 0) TRY(sink.write(std::string_view(out.data(), produced)));
      if (last ? r == Z_STREAM_END : (z.avail_in == 0 && z.avail_out != 0)) return {};
    }
  }

  Result<void> pump_zstd(std::string_view bytes, bool last, ContentWriter& sink) {
    ZSTD_inBuffer in{bytes.data(), bytes.size(), 0};
    ZSTD_EndDirective mode = last ? ZSTD_e_end : ZSTD_e_continue;
    while (true) {
      ZSTD_outBuffer o{out.data(), out.size(), 0};
      size_t left = ZSTD_compressStream2(zstd, &o, &in, mode);
      if (ZSTD_isError(left)) return Fail(ErrorCode::Internal, "zstd: {}", ZSTD_getErrorName(left));
      if (o.pos > 0) TRY(sink.write(std::string_view(out.data(), o.pos)));
      if (last ? left == 0 : in.pos == in.size) return {};
    }
  }

  oci::Compression kind;
  std::vector<char> out;
  z_stream z{};
  bool gzip_open = false;
  ZSTD_CCtx* zstd = nullptr;
};

LayerTarSink::LayerTarSink(std::unique_ptr<ContentWriter> writer, oci::Compression compression)
    : writer_(std::move(writer)), compression_(compression),
      compressor_(std::make_unique<Compressor>(compression)) {}

LayerTarSink::~LayerTarSink() {
  tar_.reset();  // before the compressor and writer its callback uses
  if (!committed_ && writer_) (void)writer_->abort();
}

Result<std::unique_ptr<LayerTarSink>> LayerTarSink::open(ContentStore& content, oci::Compression compression) {
  auto writer = TRY_CTX("open a layer ingest", content.writer("layer-" + random_hex(12)));
  std::unique_ptr<LayerTarSink> sink(new LayerTarSink(std::move(writer), compression));
  TRY(sink->compressor_->init());
  ArchiveWriter a(archive_write_new());
  if (!a) return Fail(ErrorCode::Internal, "create tar writer: out of memory");
  int r = archive_write_set_format_pax_restricted(a.get());
  if (r == ARCHIVE_OK) r = archive_write_set_bytes_per_block(a.get(), kTarBlock);
  if (r == ARCHIVE_OK) r = archive_write_set_bytes_in_last_block(a.get(), 1);
  if (r == ARCHIVE_OK) r = archive_write_open2(a.get(), sink.get(), nullptr, &LayerTarSink::on_write, nullptr, nullptr);
  if (r != ARCHIVE_OK) return Fail(ErrorCode::Internal, "open tar writer: {}", archive_error_text(a.get()));
  sink->tar_ = std::move(a);
  return sink;
}

la_ssize_t LayerTarSink::on_write(struct archive* a, void* self, const void* buf, size_t n) {
  auto* sink = static_cast<LayerTarSink*>(self);
  auto r = sink->consume(std::string_view(static_cast<const char*>(buf), n));
  if (!r) {
    sink->callback_error_ = r.error();
    archive_set_error(a, EIO, "%s", r.error().what().c_str());
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

Result<void> LayerTarSink::consume(std::string_view bytes) {
  diff_.update(bytes);
  return compressor_->pump(bytes, false, *writer_);
}

Error LayerTarSink::failure(std::string_view what, std::string_view path) {
  Error e = callback_error_ ? *callback_error_
                            : Error(ErrorCode::Internal, archive_error_text(tar_.get()));
  if (path.empty()) return e.context(what);
  return e.context(fmt::format("{} {}", what, quote(path)));
}

Result<void> LayerTarSink::header(struct archive_entry* e, std::string_view path) {
  if (!tar_) return Fail(ErrorCode::Internal, "layer tar is closed");
  if (archive_write_header(tar_.get(), e) != ARCHIVE_OK) return Err(failure("write tar header", path));
  return {};
}

Result<void> LayerTarSink::data(std::string_view bytes, std::string_view path) {
  while (!bytes.empty()) {
    la_ssize_t n = archive_write_data(tar_.get(), bytes.data(), bytes.size());
    if (n <= 0) return Err(failure("write tar entry", path));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Result<LayerBlob> LayerTarSink::finish() {
  if (!tar_) return Fail(ErrorCode::Internal, "layer tar is closed");
  if (archive_write_close(tar_.get()) != ARCHIVE_OK) return Err(failure("finish the layer tar", ""));
  tar_.reset();
  TRY_CTX("compress the layer", compressor_->pump({}, true, *writer_));
  BlobInfo blob = TRY_CTX("commit the layer", writer_->commit_computed());
  committed_ = true;
  LayerBlob out;
  out.digest = blob.digest;
  out.diff_id = diff_.digest();
  out.size = blob.size;
  switch (compression_) {
    case oci::Compression::None: out.media_type = oci::media_type::kOciLayer; break;
    case oci::Compression::Gzip: out.media_type = oci::media_type::kOciLayerGzip; break;
    case oci::Compression::Zstd: out.media_type = oci::media_type::kOciLayerZstd; break;
  }
  return out;
}

}  // namespace berth::image::detail
