// `import`: a rootfs tarball (any compression libarchive detects) becomes a one-layer image. The
// input is decompressed, hashed as the diff ID, checked to be a tar, recompressed with gzip and
// streamed into the content store; then the config and a Docker schema2 manifest are written.
#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include <chrono>
#include <ctime>
#include <random>
#include <vector>

#include "base/scope_guard.h"
#include "base/strings.h"
#include "image/archive.h"
#include "image/tar_writer.h"

namespace berth::image {
namespace {

constexpr size_t kChunk = 256 * 1024;
constexpr size_t kTarBlock = 512;

// RFC 3339 UTC time with nanoseconds, as Go's time.RFC3339Nano writes it.
std::string rfc3339_now() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm {};
  ::gmtime_r(&ts.tv_sec, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (ts.tv_nsec != 0) {
    std::string frac = fmt::format("{:09}", ts.tv_nsec);
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    out += "." + frac;
  }
  return out + "Z";
}

// Whether the first 512 bytes are a tar header (valid checksum) or the zero block that ends an
// empty archive.
bool looks_like_tar(const std::string& block) {
  if (block.size() < kTarBlock) return false;
  bool zero = true;
  for (size_t i = 0; i < kTarBlock; ++i)
    if (block[i] != 0) zero = false;
  if (zero) return true;
  unsigned long sum = 0;
  for (size_t i = 0; i < kTarBlock; ++i)
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(block[i]);
  std::string field(block.data() + 148, 8);
  unsigned long stored = 0;
  bool digits = false;
  for (char c : field) {
    if (c >= '0' && c <= '7') {
      stored = stored * 8 + static_cast<unsigned long>(c - '0');
      digits = true;
    } else if (digits) {
      break;
    }
  }
  return digits && stored == sum;
}

// gzip compression into a content writer.
class GzipToWriter {
 public:
  explicit GzipToWriter(ContentWriter& out) : out_(out), buf_(kChunk) {}
  ~GzipToWriter() {
    if (initialised_) deflateEnd(&z_);
  }
  GzipToWriter(const GzipToWriter&) = delete;
  GzipToWriter& operator=(const GzipToWriter&) = delete;

  Result<void> init() {
    // windowBits 15 + 16: a gzip wrapper with no name and mtime 0, so the same input gives
    // the same blob.
    if (deflateInit2(&z_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
      return Fail(ErrorCode::Internal, "gzip: deflateInit2 failed");
    initialised_ = true;
    return {};
  }

  Result<void> write(std::string_view data) { return pump(data, Z_NO_FLUSH); }
  Result<void> finish() { return pump({}, Z_FINISH); }

 private:
  Result<void> pump(std::string_view data, int flush) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z_.avail_in = static_cast<uInt>(data.size());
    while (true) {
      z_.next_out = reinterpret_cast<Bytef*>(buf_.data());
      z_.avail_out = static_cast<uInt>(buf_.size());
      int r = deflate(&z_, flush);
      if (r == Z_STREAM_ERROR) return Fail(ErrorCode::Internal, "gzip: deflate failed");
      size_t produced = buf_.size() - z_.avail_out;
      if (produced > 0) TRY(out_.write(std::string_view(buf_.data(), produced)));
      if (flush == Z_FINISH ? r == Z_STREAM_END : (z_.avail_in == 0 && z_.avail_out != 0))
        return {};
    }
  }

  ContentWriter& out_;
  std::vector<char> buf_;
  z_stream z_{};
  bool initialised_ = false;
};

struct ImportedLayer {
  BlobInfo blob;
  Digest diff_id;
};

Result<ImportedLayer> store_layer(int fd, ContentStore& content) {
  ArchiveReader a(archive_read_new());
  if (!a) return Fail(ErrorCode::Internal, "create archive reader: out of memory");
  archive_read_support_filter_all(a.get());
  archive_read_support_format_raw(a.get());
  archive_read_support_format_empty(a.get());
  if (archive_read_open_fd(a.get(), fd, kChunk) != ARCHIVE_OK)
    return Fail(ErrorCode::InvalidArgument, "open: {}", archive_error_text(a.get()));
  struct archive_entry* e = nullptr;
  int r = archive_read_next_header(a.get(), &e);
  if (r == ARCHIVE_EOF) return Fail(ErrorCode::InvalidArgument, "not a tar archive: empty input");
  if (r < ARCHIVE_WARN)
    return Fail(ErrorCode::InvalidArgument, "decompress: {}", archive_error_text(a.get()));

  std::random_device rd;
  auto writer = TRY(content.writer(fmt::format("import-{:08x}{:08x}", rd(), rd())));
  bool committed = false;
  auto abort_ingest = defer([&] {
    if (!committed) (void)writer->abort();
  });
  GzipToWriter gzip(*writer);
  TRY(gzip.init());
  Sha256 diff;
  std::vector<char> buf(kChunk);
  std::string head;
  int64_t total = 0;
  while (true) {
    la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
    if (n < 0) return Fail(ErrorCode::InvalidArgument, "decompress: {}", archive_error_text(a.get()));
    if (n == 0) break;
    std::string_view chunk(buf.data(), static_cast<size_t>(n));
    if (head.size() < kTarBlock) {
      head.append(chunk.substr(0, kTarBlock - head.size()));
      if (head.size() == kTarBlock && !looks_like_tar(head))
        return Fail(ErrorCode::InvalidArgument, "not a tar archive (no tar header at the start)");
    }
    diff.update(chunk);
    TRY(gzip.write(chunk));
    total += n;
  }
  if (total == 0) return Fail(ErrorCode::InvalidArgument, "not a tar archive: empty input");
  if (head.size() < kTarBlock)
    return Fail(ErrorCode::InvalidArgument, "not a tar archive: only {} bytes", total);
  TRY(gzip.finish());
  BlobInfo blob = TRY(writer->commit_computed());
  committed = true;
  return ImportedLayer{blob, diff.digest()};
}

}  // namespace

Result<ArchiveImage> import_rootfs(int fd, ContentStore& content, const ImportOptions& options) {
  oci::ImageConfig config;
  TRY(apply_changes(config.config, options.changes));
  ImportedLayer layer = TRY_CTX("import rootfs", store_layer(fd, content));

  oci::Platform platform = options.platform;
  if (platform.os.empty() || platform.architecture.empty()) platform = oci::host_platform();
  config.created = rfc3339_now();
  config.architecture = platform.architecture;
  config.os = platform.os;
  config.variant = platform.variant;
  config.os_version = platform.os_version;
  config.diff_ids = {layer.diff_id};
  oci::HistoryEntry history;
  history.created = config.created;
  history.comment = options.message.empty() ? "Imported from -" : options.message;
  config.history = {history};
  std::string config_json = oci::to_json(config);
  BlobInfo config_blob = TRY_CTX("import rootfs: store config", content.put(config_json));

  oci::Manifest m;
  m.schema_version = 2;
  m.media_type = oci::media_type::kDockerManifest;
  m.config.media_type = oci::media_type::kDockerConfig;
  m.config.digest = config_blob.digest;
  m.config.size = config_blob.size;
  oci::Descriptor l;
  l.media_type = oci::media_type::kDockerLayerGzip;
  l.digest = layer.blob.digest;
  l.size = layer.blob.size;
  m.layers.push_back(std::move(l));
  BlobInfo manifest_blob = TRY_CTX("import rootfs: store manifest", content.put(oci::to_json(m)));

  ArchiveImage image;
  image.manifest.media_type = oci::media_type::kDockerManifest;
  image.manifest.digest = manifest_blob.digest;
  image.manifest.size = manifest_blob.size;
  image.manifest.platform = platform;
  image.config_digest = config_blob.digest;
  return image;
}

}  // namespace berth::image
