// `load`: one streaming pass over an image archive. Regular files go straight into the content
// store (blobs/sha256/<hex> verified against their name), metadata stays in memory; the images
// are then assembled from manifest.json / index.json (archive_images.cc).
#include <archive.h>
#include <archive_entry.h>

#include <cstring>
#include <random>
#include <vector>

#include "base/scope_guard.h"
#include "base/strings.h"
#include "image/archive.h"
#include "image/archive_entries.h"
#include "image/tar_writer.h"

namespace berth::image {
namespace archive_detail {

std::optional<std::string> clean_entry_path(std::string_view path) {
  if (!path.empty() && path.front() == '/') return std::nullopt;
  std::vector<std::string> parts;
  for (const std::string& p : split(path, '/')) {
    if (p.empty() || p == ".") continue;
    if (p == "..") return std::nullopt;
    parts.push_back(p);
  }
  return join(parts, "/");
}

const StoredFile* ArchiveEntries::find(std::string_view path) const {
  auto clean = clean_entry_path(path);
  if (!clean) return nullptr;
  std::string p = *clean;
  for (int hops = 0; hops < 16; ++hops) {
    if (auto it = files.find(p); it != files.end()) return &it->second;
    auto link = links.find(p);
    if (link == links.end()) return nullptr;
    p = link->second;
  }
  return nullptr;
}

Result<std::string> ArchiveEntries::small_file(std::string_view path, ContentStore& content) const {
  auto clean = clean_entry_path(path);
  if (clean) {
    if (auto it = metadata.find(*clean); it != metadata.end()) return it->second;
  }
  const StoredFile* f = find(path);
  if (!f) return Fail(ErrorCode::InvalidArgument, "{} is not in the archive", quote(path));
  return TRY_CTX(fmt::format("archive entry {}", quote(path)),
                 content.read(f->blob.digest, kMaxMetadataSize));
}

}  // namespace archive_detail

namespace {

using archive_detail::ArchiveEntries;
using archive_detail::kMaxMetadataSize;
using archive_detail::StoredFile;

constexpr size_t kChunk = 256 * 1024;
constexpr int64_t kProgressStep = 4 << 20;
constexpr std::string_view kNotAnArchive =
    "not a docker save archive or OCI layout: no manifest.json or index.json";

std::string basename_of(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string dirname_of(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? "" : std::string(path.substr(0, slash));
}

// Files only read, never stored: the documents that describe the archive, and the per-layer
// v1 metadata of legacy saves.
bool metadata_only(const std::string& path) {
  if (path == "manifest.json" || path == "index.json" || path == "oci-layout" ||
      path == "repositories")
    return true;
  std::string base = basename_of(path);
  return path.find('/') != std::string::npos && (base == "json" || base == "VERSION");
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

oci::Compression compression_of(const unsigned char* magic, size_t n) {
  if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) return oci::Compression::Gzip;
  if (n >= 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
    return oci::Compression::Zstd;
  return oci::Compression::None;
}

std::string random_ref() {
  std::random_device rd;
  return fmt::format("load-{:08x}{:08x}", rd(), rd());
}

class ArchiveLoader {
 public:
  ArchiveLoader(ContentStore& content, const LoadOptions& options)
      : content_(content), options_(options), buf_(kChunk) {}

  Result<ArchiveEntries> read_all(int fd) {
    ArchiveReader a(archive_read_new());
    if (!a) return Fail(ErrorCode::Internal, "create archive reader: out of memory");
    archive_read_support_filter_all(a.get());
    archive_read_support_format_tar(a.get());
    archive_read_support_format_empty(a.get());
    if (archive_read_open_fd(a.get(), fd, kChunk) != ARCHIVE_OK)
      return Fail(ErrorCode::InvalidArgument, "{} (open: {})", kNotAnArchive,
                  archive_error_text(a.get()));
    std::string last;
    while (true) {
      struct archive_entry* e = nullptr;
      int r = archive_read_next_header(a.get(), &e);
      if (r == ARCHIVE_EOF) break;
      if (r < ARCHIVE_WARN) {
        if (last.empty())
          return Fail(ErrorCode::InvalidArgument, "{} ({})", kNotAnArchive,
                      archive_error_text(a.get()));
        return Fail(ErrorCode::InvalidArgument, "read archive after entry {}: {}", quote(last),
                    archive_error_text(a.get()));
      }
      const char* raw_name = archive_entry_pathname(e);
      std::string name = raw_name ? raw_name : "";
      last = name;
      TRY_CTX(fmt::format("archive entry {}", quote(name)), entry(a.get(), e, name));
    }
    return std::move(entries_);
  }

 private:
  Result<void> entry(struct archive* a, struct archive_entry* e, const std::string& name) {
    auto clean = archive_detail::clean_entry_path(name);
    if (!clean) return Fail(ErrorCode::InvalidArgument, "path leaves the archive");
    if (clean->empty()) return {};
    if (const char* hard = archive_entry_hardlink(e)) {
      auto target = archive_detail::clean_entry_path(hard);
      if (!target || target->empty())
        return Fail(ErrorCode::InvalidArgument, "hard link target {} leaves the archive",
                    quote(hard));
      entries_.links[*clean] = *target;
      return {};
    }
    switch (archive_entry_filetype(e)) {
      case AE_IFREG:
        return regular(a, e, *clean);
      case AE_IFLNK: {
        const char* t = archive_entry_symlink(e);
        std::string target = t ? t : "";
        // Relative to the link's directory, like Docker's shared legacy layers
        // ("<id>/layer.tar" -> "../<other>/layer.tar").
        std::string joined = target;
        if (!target.empty() && target.front() != '/') {
          std::vector<std::string> parts;
          for (const std::string& p : split(dirname_of(*clean) + "/" + target, '/')) {
            if (p.empty() || p == ".") continue;
            if (p == "..") {
              if (parts.empty())
                return Fail(ErrorCode::InvalidArgument, "symlink target {} leaves the archive",
                            quote(target));
              parts.pop_back();
              continue;
            }
            parts.push_back(p);
          }
          joined = join(parts, "/");
        }
        auto clean_target = archive_detail::clean_entry_path(joined);
        if (!clean_target || clean_target->empty())
          return Fail(ErrorCode::InvalidArgument, "symlink target {} leaves the archive",
                      quote(target));
        entries_.links[*clean] = *clean_target;
        return {};
      }
      default:
        return {};  // directories and anything else carry nothing an image needs
    }
  }

  Result<void> regular(struct archive* a, struct archive_entry* e, const std::string& path) {
    int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
    if (metadata_only(path)) {
      if (size > kMaxMetadataSize)
        return Fail(ErrorCode::InvalidArgument, "metadata file larger than {} MiB",
                    kMaxMetadataSize >> 20);
      std::string data = TRY(read_small(a));
      entries_.metadata[path] = std::move(data);
      return {};
    }
    std::optional<Digest> expected;
    std::string progress_id;
    if (starts_with(path, "blobs/")) {
      std::string_view rest = std::string_view(path).substr(6);
      if (!starts_with(rest, "sha256/"))
        return Fail(ErrorCode::InvalidArgument, "unsupported digest algorithm (only sha256)");
      expected = TRY(parse_digest("sha256:" + std::string(rest.substr(7))));
      progress_id = expected->hex.substr(0, 12);
    } else if (path.find('/') != std::string::npos) {
      progress_id = path.substr(0, std::min<size_t>(12, path.find('/')));
    } else {
      progress_id = basename_of(path).substr(0, 12);
    }
    bool keep = ends_with(path, ".json") && size >= 0 && size <= kMaxMetadataSize;
    bool report = options_.progress && !ends_with(path, ".json");

    auto writer = TRY(content_.writer(random_ref()));
    bool done = false;
    auto abort_ingest = defer([&] {
      if (!done) (void)writer->abort();
    });
    std::string kept;
    unsigned char magic[4] = {};
    size_t magic_len = 0;
    int64_t total = 0;
    int64_t next_report = 0;
    while (true) {
      la_ssize_t n = archive_read_data(a, buf_.data(), buf_.size());
      if (n < 0) return Fail(ErrorCode::InvalidArgument, "read: {}", archive_error_text(a));
      if (n == 0) break;
      std::string_view chunk(buf_.data(), static_cast<size_t>(n));
      while (magic_len < sizeof(magic) && magic_len < chunk.size()) {
        magic[magic_len] = static_cast<unsigned char>(chunk[magic_len]);
        ++magic_len;
      }
      TRY(writer->write(chunk));
      if (keep) kept.append(chunk);
      total += n;
      if (report && total >= next_report) {
        options_.progress({progress_id, ProgressPhase::Loading, total, size});
        next_report = total + kProgressStep;
      }
    }
    BlobInfo info = expected ? TRY(writer->commit(*expected, total)) : TRY(writer->commit_computed());
    done = true;
    if (report) options_.progress({progress_id, ProgressPhase::Loaded, total, total});
    entries_.files[path] = StoredFile{info, compression_of(magic, magic_len)};
    if (keep) entries_.metadata[path] = std::move(kept);
    return {};
  }

  Result<std::string> read_small(struct archive* a) {
    std::string out;
    while (true) {
      la_ssize_t n = archive_read_data(a, buf_.data(), buf_.size());
      if (n < 0) return Fail(ErrorCode::InvalidArgument, "read: {}", archive_error_text(a));
      if (n == 0) return out;
      if (static_cast<int64_t>(out.size()) + n > kMaxMetadataSize)
        return Fail(ErrorCode::InvalidArgument, "metadata file larger than {} MiB",
                    kMaxMetadataSize >> 20);
      out.append(buf_.data(), static_cast<size_t>(n));
    }
  }

  ContentStore& content_;
  const LoadOptions& options_;
  std::vector<char> buf_;
  ArchiveEntries entries_;
};

}  // namespace

Result<std::vector<ArchiveImage>> load_archive(int fd, ContentStore& content,
                                               const LoadOptions& options) {
  ArchiveLoader loader(content, options);
  ArchiveEntries entries = TRY(loader.read_all(fd));
  if (!entries.metadata.contains("manifest.json") && !entries.metadata.contains("index.json"))
    return Fail(ErrorCode::InvalidArgument, "{}", kNotAnArchive);
  return archive_detail::assemble_images(entries, content);
}

}  // namespace berth::image
